"""Models that are not xx_core packages (pipeline/stages/entities/adapters.py), loaded on first use."""

from pipeline.stages.entities import adapters as ner_adapters
from pipeline.stages.entities.tagging import EntityTagger


def test_a_language_loads_with_its_first_article_and_slovnet_spans_keep_their_offsets():
    tagger = EntityTagger(preload=("fr",)).load()
    assert set(tagger._nlp) == {"fr"}   # Russian costs nothing until a Russian article comes
    text = "Глава «Газпрома» Алексей Миллер прилетел в Пекин.\nВладимир Путин остался в Москве."
    [result] = tagger.tag([("ru", text)])
    assert "ru" in tagger._nlp and result["ner"] == {"status": "ok", "model": "natasha"}
    found = {(e["text"], e["label"]) for e in result["entities"]}
    assert {("Газпрома", "ORG"), ("Алексей Миллер", "PER"), ("Пекин", "LOC"), ("Владимир Путин", "PER")} <= found
    assert all(text[e["start"]:e["end"]] == e["text"] and "\n" not in e["text"] for e in result["entities"])
    [ukrainian] = tagger.tag([("uk", "Прем'єр-міністр Польщі Дональд Туск прибув до Києва.")])
    assert ukrainian["ner"] == {"status": "ok", "model": "natasha"}   # the Russian model stands in
    assert tagger._nlp["uk"] is tagger._nlp["ru"]                    # loaded once for both
    assert ("Дональд Туск", "PER") in {(e["text"], e["label"]) for e in ukrainian["entities"]}


def test_ginza_types_map_to_the_common_labels():
    assert ner_adapters.ontonotes_label("ja_ginza", "Person") == "PERSON"
    assert ner_adapters.ontonotes_label("ja_ginza", "City") == "GPE"
    assert ner_adapters.ontonotes_label("ja_ginza", "Political_Party") == "ORG"   # GiNZA's table says NORP
    assert ner_adapters.ontonotes_label("ja_ginza", "Position_Vocation") in ner_adapters.NOT_NAMES
    assert ner_adapters.ontonotes_label("natasha", "PER") == "PER"


def test_ginza_places_are_resolved():
    """GiNZA's raw labels are ENE types (`Country`, `City`): its place mentions get their places, as a LOC or
    GPE of another model does (they had none, and the gazetteer only adds strong names next to a model)."""
    from pipeline.stages.places.resolution import add_places

    tagger = EntityTagger(preload=()).load()
    text = "欧州中央銀行は木曜日、政策金利を据え置いた。総裁は、ドイツ、フランス、イタリアでインフレが鈍化していると述べた。"
    [result] = tagger.tag([("ja", text)])
    assert result["ner"]["model"] == "ja_ginza"
    located = add_places("ja", text, result)
    places = {e["text"]: e["place"]["name"] for e in located["entities"] if e.get("place")}
    assert places == {"ドイツ": "Germany", "フランス": "France", "イタリア": "Italy"}


def test_a_japanese_name_before_its_title_is_a_person():
    """GiNZA tags "ゼレンスキー大統領" (surname + title, as Japanese news writes names) as one
    `Position_Vocation`: the name before the title is a person; a bare, a country's or a pair's title is not."""
    tagger = EntityTagger(preload=()).load()
    text = "ウクライナのゼレンスキー大統領は月曜日、ブリュッセルでNATOのルッテ事務総長と会談した。両首脳は防空について協議した。"
    [result] = tagger.tag([("ja", text)])
    people = {(e["text"], e["label_raw"]) for e in result["entities"] if e["label"] == "PER"}
    assert people == {("ゼレンスキー", "Position_Vocation"), ("ルッテ", "Position_Vocation")}
    assert all(text[e["start"]:e["end"]] == e["text"] for e in result["entities"])
    def holder(text, start, end, raw, package="ja_ginza"):
        return ner_adapters.title_holder(package, text, start, end, raw)

    assert holder("李在明大統領", 0, 6, "Position_Vocation") == (0, 3)
    for title in ("大統領", "米大統領", "ロシア政府", "両首脳", "同国首相"):
        assert holder(title, 0, len(title), "Position_Vocation") is None
    assert holder("ドナルド・トランプ大統領", 0, 12, "Person") == (0, 9)   # GiNZA's Person may hold the title
    assert holder("林芳正官房長官", 0, 7, "Position_Vocation") == (0, 3)
    assert holder("李在明大統領", 0, 6, "City") is None
    assert holder("李在明大統領", 0, 6, "Person", package="ko_newsfeed_ner") is None   # GiNZA's habit only


def test_the_gazetteer_fills_in_beside_the_projects_own_models():
    """Beside the project's own smaller models the gazetteer adds every place it can vouch for, not only the
    strong ones it adds beside en/fr: the German model tags no place in this text, the gazetteer finds both."""
    from pipeline.stages.places.resolution import add_places

    tagger = EntityTagger(preload=()).load()
    text = ("Der südkoreanische Präsident Lee Jae-myung hat am Dienstag die Hyundai-Werft in Ulsan besucht. "
            "Anschließend kehrte er nach Seoul zurück.")
    [result] = tagger.tag([("de", text)])
    assert result["ner"]["model"] == "de_newsfeed_ner"
    places = {p["name"] for p in add_places("de", text, result)["places"]}
    assert {"Ulsan", "Seoul"} <= places


def test_the_arabic_model_reads_hamza_as_its_data_wrote_it_and_names_keep_the_article_s_letters():
    """The Arabic model learnt from text without أ/إ/آ: it reads them as bare alif (adapters.model_text, one
    letter for one), so the names it finds are the article's own letters at the article's offsets."""
    from pipeline.stages.entities.adapters import model_text
    from pipeline.stages.entities.tagging import EntityTagger

    text = "وقال الرئيس رجب طيب أردوغان في أنقرة إن إسرائيل وبالقاهرة ستستضيف محادثات مع صندوق النقد الدولي."
    assert model_text("ar_newsfeed_ner", text) == text.replace("أ", "ا").replace("إ", "ا")
    assert model_text("de_newsfeed_ner", text) == text
    [result] = EntityTagger(models={"ar": "ar_newsfeed_ner"}).load().tag([("ar", text)])
    names = {(e["label"], e["text"]) for e in result["entities"]}
    assert {("PER", "رجب طيب أردوغان"), ("LOC", "أنقرة"), ("ORG", "صندوق النقد الدولي")} <= names, names
    assert ("LOC", "القاهرة") in names   # "وبالقاهرة": the clitics cut off by the model's tokenizer
    assert all(text[e["start"]:e["end"]] == e["text"] for e in result["entities"])
