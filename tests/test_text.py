from pipeline.contracts import codec
from pipeline.contracts.records import raw_article
from pipeline.stages.steps import ingest
from pipeline.stages.text import clean, title_and_body

from conftest import SEEDS


def seed(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text("utf-8")


def test_noise_lines_are_removed_from_seeds():
    text = clean(seed("002")).text
    for noise in ("Crédit photo, Getty Images", "Author, Bernd", "Role, BBC", "Ignorer Promotion WhatsApp",
                  "Cliquez ici et abonnez-vous", "Fin de Promotion WhatsApp", "Légende image"):
        assert noise not in text
    assert "Des fonctionnaires américains ont atterri à Moscou" in text


def test_navigation_captions_and_publication_line():
    cleaned = clean(seed("004"))
    assert not cleaned.text.startswith("Menu")
    for noise in ("Libération\n", "Dossiers liés", "(Evan Vucci/AP)", "publié le", "Russiedossier"):
        assert noise not in cleaned.text
    assert cleaned.published_at == "2025-03-16T19:07:00"


def test_leading_date_stamp_becomes_published_at():
    cleaned = clean(seed("003"))
    assert cleaned.published_at == "2025-03"
    assert not cleaned.text.lstrip().startswith("date")
    assert "( KREMLIN.RU / Handout )" not in cleaned.text


def test_clean_is_idempotent_and_keeps_paragraphs():
    for prefix in ("000", "001", "002", "003", "004"):
        once = clean(seed(prefix)).text
        assert clean(once).text == once
    assert clean("Premier paragraphe.\n\n\n\nSecond paragraphe.").text == "Premier paragraphe.\n\nSecond paragraphe."


def test_title_is_taken_only_when_clearly_there():
    assert title_and_body("Un titre court sans point\n\nLe corps de l'article est plus long que le titre.")[0] \
        == "Un titre court sans point"
    assert title_and_body("Une phrase qui finit par un point.\n\nSuite.")[0] is None
    assert title_and_body("Seul")[0] is None


def test_short_lines_inside_the_article_are_kept():
    """A menu or outlet name heads the page and goes; a section header or a name line later in the article
    is text, with its entities (written for this test)."""
    text = ("Menu\nThe Courier\nSport\nLeague leaders keep winning\nResults of the weekend matches :\n"
            "Eastern Division\nBoston 3 Toronto 1\nWestern Division\nSeattle 2 Oakland 0\nSri Lanka\n"
            "Colombo hosts the final on Sunday .")
    cleaned = clean(text).text
    assert cleaned.startswith("League leaders keep winning")
    for kept in ("Eastern Division", "Western Division", "Sri Lanka"):
        assert f"\n{kept}\n" in cleaned
    assert clean(cleaned).text == cleaned


PARAGRAPH = ("Police in Oakland said on Tuesday that two men were arrested after a break-in at a warehouse near "
             "the port. Officers found the doors forced open and several crates of electronics missing. A "
             "neighbour called the police at about 3 a.m. after hearing loud noises. The men, both in their "
             "twenties, were taken to the county jail and face burglary charges. The warehouse owner said the "
             "losses were covered by insurance and that the business would reopen on Thursday. ")


def test_a_photo_credit_ends_a_paragraph_only_the_credit_goes():
    """An article sent as one line that ends in a credit was taken whole for a caption (empty_text)."""
    one_line = PARAGRAPH + "(AP Photo/Oakland Police Department)"
    cleaned = clean(one_line)
    assert cleaned.text == PARAGRAPH.strip()
    assert clean(PARAGRAPH + "(Jane Doe/AP) (AP Photo/John Roe)").text == PARAGRAPH.strip()
    assert clean(cleaned.text).text == cleaned.text
    # a caption, a sentence long, still goes whole
    caption = "Officers outside the warehouse on Tuesday. (AP Photo/Oakland Police Department)"
    assert clean(f"{PARAGRAPH}\n{caption}").text == PARAGRAPH.strip()
    # through the first stage: enriched, not dead-lettered as empty_text
    payload = codec.encode(raw_article(id="one-line", source="test", text=one_line))
    assert ingest(payload, max_bytes=1 << 20)["text"] == PARAGRAPH.strip()


def test_noise_removal_never_takes_the_whole_text():
    """Real one-line articles read like a photo credit: kept as they came, not dead-lettered as empty_text."""
    credit = "Springfield council  votes on the budget (Greg Trotter / News-Leader)"
    assert clean(credit).text == "Springfield council votes on the budget (Greg Trotter / News-Leader)"
    assert clean("(Greg Trotter / News-Leader)").text == "(Greg Trotter / News-Leader)"
    assert clean(clean(credit).text).text == clean(credit).text
    assert clean("Menu\n\nPartager").text == "Menu\nPartager"   # all navigation: kept too
    payload = codec.encode(raw_article(id="credit", source="test", text="(Greg Trotter / News-Leader)"))
    assert ingest(payload, max_bytes=1 << 20)["text"] == "(Greg Trotter / News-Leader)"
