"""Issue 32: organisations written as acronyms, which the project's small models miss or tag as places
(pipeline/stages/entities/acronyms.py, pipeline/stages/places/arbitration.py). Real gazetteer, real models;
examples written for these tests."""

from __future__ import annotations

import pytest

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
            "Das BIP der USA stieg im XIX. Jahrhundert nicht, sagte der CEO am Rande des NATO-Gipfels.")
    assert added(text, [mention(text, "SPD", "ORG")]) == ["NATO", "UN", "ONU", "NATO"]
    assert added("Der UN-Generalsekretär traf den Ex-SPD-Chef, eine F-16 und die DFB-Pokal-Fans.", []) == ["UN", "DFB"]


def test_a_heading_in_capitals_and_a_sense_the_model_gave_are_left_alone():
    text = "FUSSBALL - ERGEBNISSE DER BUNDESLIGA\nIn Bonn sprach die WHO. Später kam WHO nach Bonn."
    assert added(text, []) == ["WHO", "WHO"]
    assert added(text, [mention(text, "WHO", "MISC")]) == []          # the model's sense, once, holds
    assert added("Er sprach IN BONN UND SAGTE NICHTS.", []) == []     # a sentence in capitals
    assert added("Heyet ABD'de ve BM'de konuştu.", [], "tr") == ["BM"]   # a country's acronym is no organisation


def test_a_place_label_on_an_organisation_follows_the_article():
    gazetteer = shared()
    text = "Israel und die Hamas verhandeln. Hamas erklärte, die NATO solle in Washington mit Washington reden."
    entities = [mention(text, "Israel", "LOC"), mention(text, "Hamas", "ORG"), mention(text, "Hamas", "LOC", 1),
                mention(text, "NATO", "LOC"), mention(text, "Washington", "ORG"),
                mention(text, "Washington", "LOC", 1)]
    kept, changed = arbitrate(entities, text, "de", gazetteer)
    labels = [(e["text"], e["label"], (e.get("relabelled") or {}).get("reason")) for e in kept]
    assert labels == [("Israel", "LOC", None), ("Hamas", "ORG", None), ("Hamas", "ORG", "organisation_in_article"),
                      ("NATO", "ORG", "acronym"), ("Washington", "ORG", None), ("Washington", "LOC", None)]
    assert changed == 2


def test_the_places_stage_adds_them_beside_the_german_model():
    text = ("Die NATO und die UN forderten am Montag in Berlin eine Waffenruhe. "
            "Bundeskanzler Friedrich Merz sprach mit der WHO über die Lage.")
    tagger = EntityTagger(models={"de": "de_newsfeed_ner"}).load()
    result = add_places("de", text, tagger.tag([("de", text)])[0])
    organisations = {e["text"] for e in result["entities"] if e["label"] == "ORG"}
    assert {"NATO", "UN", "WHO"} <= organisations
    assert {"NATO", "UN", "WHO"} <= {e["name"] for e in result["entity_summary"] if e["label"] == "ORG"}
    assert "Berlin" in {p["name"] for p in result["places"]}
