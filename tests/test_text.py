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
