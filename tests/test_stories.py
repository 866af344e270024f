"""The stories stage on real data: the seeds (French articles on the war in Ukraine, tagged by the real
spaCy model), the bench's multilingual set (one article in six languages, look-alike events) and the real
embedding model. No broker: the stage is pure."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from pipeline.stages.entities.tagging import EntityTagger
from pipeline.stages.stories.index import StoryIndex
from pipeline.stages.stories.features import decode_vector, encode_vector, features, features_batch
from pipeline.stages.stories.names import merge_names
from pipeline.tools.synth import seed_texts

ROOT = Path(__file__).resolve().parent.parent
HOUR = 3600.0


@pytest.fixture(scope="module")
def seeds() -> list[dict]:
    tagger = EntityTagger().load()
    texts = seed_texts(ROOT / "seeds")
    records = []
    for i, (text, tagged) in enumerate(zip(texts, tagger.tag([("fr", t) for t in texts]))):
        records.append({"id": f"seed-{i}", "title": "", "text": text, "language": {"code": "fr"},
                        "source": f"outlet-{i}", "entity_summary": tagged["entity_summary"],
                        "published_at": f"2025-03-1{i}T08:00:00Z", "ingested_at": "2025-03-20T00:00:00Z"})
    return records


@pytest.fixture(scope="module")
def multilingual() -> list[dict]:
    lines = (ROOT / "bench" / "fixtures" / "stories_multilingual.jsonl").read_text("utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    return [{"id": f"ml-{i}", "title": r["title"], "text": r["text"], "language": {"code": r["lang"]},
             "source": r["source"], "event": r["event"], "ingested_at": "2025-06-01T12:00:00Z"}
            for i, r in enumerate(rows)]


def test_features_of_an_enriched_record(seeds):
    f = features(seeds[3])
    assert f.embedding.shape == (512,) and abs(float(np.linalg.norm(f.embedding)) - 1) < 1e-3
    assert f.when == datetime(2025, 3, 13, 8, tzinfo=timezone.utc).timestamp()   # published_at, not ingested_at
    assert "zelensky" in f.words and "cessez-le-feu" in f.words and "le" not in f.words
    assert abs(sum(w * w for w in f.words.values()) - 1) < 1e-2
    assert "PER:zelensky" in f.entities
    # both spellings and the bare surname are one key, shown by its most mentioned spelling
    assert f.names["PER:zelensky"] == ("Volodymyr Zelensky", "PER", 4)
    assert np.allclose(decode_vector(encode_vector(f.embedding)), f.embedding, atol=1e-3)


def test_translations_share_a_story_look_alikes_do_not(multilingual):
    index = StoryIndex(idle_hours=48)
    feats = features_batch(multilingual)
    story = {r["id"]: index.assign(r["id"], f)["id"] for r, f in zip(multilingual, feats)}
    by_event: dict[str, set[str]] = {}
    for r in multilingual:
        by_event.setdefault(r["event"], set()).add(story[r["id"]])
    split = [e for e, stories in by_event.items() if len(stories) > 1]
    shared = Counter(s for stories in by_event.values() for s in stories)
    assert len(split) <= 1, by_event                       # at most one event split...
    assert all(n == 1 for n in shared.values()), by_event  # ...and no story shared by two events
    summary = index.summary(story["ml-0"])
    assert set(summary["languages"]) == {"en", "fr", "de", "es", "pl", "ru"}
    assert summary["articles"] == 6 and "Malatya" in summary["headline"]


def test_reassigning_an_article_gives_its_story_back(seeds):
    index = StoryIndex(idle_hours=24 * 30)   # the seeds span five days: every story stays open
    feats = features_batch(seeds)
    first = [index.assign(r["id"], f) for r, f in zip(seeds, feats)]
    events = index.drain_events()
    again = [index.assign(r["id"], f) for r, f in zip(seeds, feats)]
    assert [a["id"] for a in again] == [a["id"] for a in first]
    assert index.drain_events() == [] and len(events) == len(seeds)
    assert sum(s.size for s in index.stories.values()) == len(seeds)


def test_rebuilt_from_its_log_the_index_answers_the_same(seeds, multilingual):
    feats = features_batch(seeds + multilingual[:12])
    records = seeds + multilingual[:12]
    index = StoryIndex(idle_hours=24 * 30)
    for r, f in zip(records[:9], feats[:9]):
        index.assign(r["id"], f)
    log = [json.loads(json.dumps(e)) for e in index.drain_events()]   # through JSON, as on a topic
    rebuilt = StoryIndex.rebuild(log, idle_hours=24 * 30)
    assert {s: v.size for s, v in rebuilt.stories.items()} == {s: v.size for s, v in index.stories.items()}
    assert rebuilt.assign(records[4]["id"], feats[4])["id"] == index.assign(records[4]["id"], feats[4])["id"]
    later = [(index.assign(r["id"], f)["id"], rebuilt.assign(r["id"], f)["id"])
             for r, f in zip(records[9:], feats[9:])]
    assert all(a == b for a, b in later)
    assert index.summaries() == rebuilt.summaries()


def test_idle_stories_close_and_memory_stays_bounded(multilingual):
    index = StoryIndex(idle_hours=2)
    feats = features_batch(multilingual[:6])   # one event in six languages
    for hour, (r, f) in enumerate(zip(multilingual[:6], feats)):
        index.assign(r["id"], f, when=hour * 10 * HOUR)   # ten hours apart: each finds the last one closed
    assert len(index.stories) == 1 and len(index.article_story) == 1
    # its story closed: the state is gone, only the article's story id is remembered (bounded by RETIRED),
    # so the first article, processed again later, keeps its story and opens nothing
    first = "st-" + __import__("hashlib").sha1(multilingual[0]["id"].encode()).hexdigest()[:16]
    index.drain_events()
    again = index.assign(multilingual[0]["id"], feats[0], when=60 * HOUR)
    assert again["id"] == first and not again["new"] and len(index.stories) == 1 and not index.drain_events()


def test_summary_merges_spelling_variants_of_a_name(seeds):
    index = StoryIndex(idle_hours=24 * 30)
    f = features(seeds[3])
    story = index.assign(seeds[3]["id"], f)
    summary = index.summary(story["id"])
    names = [e["name"] for e in summary["entities"]]
    assert "Volodymyr Zelensky" in names and "Volodomyr Zelensky" not in names
    assert summary["sources"] == {"outlet-3": 1} and summary["first_seen"] == "2025-03-13T08:00:00Z"
    # the raw entity summary lists the two spellings apart; merged, they are one entry
    raw = Counter({(e["name"], e["label"]): e["count"] for e in seeds[3]["entity_summary"]})
    merged = {e["name"]: e["count"] for e in merge_names(raw)}
    assert merged["Volodymyr Zelensky"] == 4 and "Volodomyr Zelensky" not in merged
