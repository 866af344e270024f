"""`bench/stories.py --cost`: CPU per article of the stories stage (features, embedding alone, assignment)
next to spaCy NER on the same documents, the ratio of the pipeline's NER-bound throughput with stories on
to without, state bytes per open story and per assigned article, and the memory a window of 1 M articles
would take (projected from these measured figures)."""

from __future__ import annotations

import json
import time
import tracemalloc

from pipeline.stages.entities.tagging import EntityTagger
from pipeline.stages.stories.index import Params, StoryIndex
from pipeline.stages.stories.features import embed, features_batch

BATCH = 32


def _cpu_ms_per_doc(fn, docs: list) -> float:
    started = time.process_time()
    for i in range(0, len(docs), BATCH):
        fn(docs[i:i + BATCH])
    return 1000 * (time.process_time() - started) / len(docs)


def _index_memory(docs: list[dict], feats: list) -> tuple[StoryIndex, int, float]:
    started = time.process_time()   # timed apart: tracemalloc slows every allocation
    timed = StoryIndex(idle_hours=48, params=Params())
    for doc, f in zip(docs, feats):
        timed.assign(doc["id"], f)
    assign_ms = 1000 * (time.process_time() - started) / len(docs)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = StoryIndex(idle_hours=48, params=Params())
    for doc, f in zip(docs, feats):
        index.assign(doc["id"], f)
    index.drain_events()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return index, used, assign_ms


def report(sets: list[tuple[list[dict], list]]) -> None:
    docs, feats = sets[0]
    tagger = EntityTagger().load()
    features_batch(docs[:BATCH])   # model loaded, word frequencies read: steady state from here
    ner_ms = _cpu_ms_per_doc(lambda b: tagger.tag([(d["language"]["code"], d["text"]) for d in b]), docs)
    feat_ms = _cpu_ms_per_doc(features_batch, docs)
    embed_ms = _cpu_ms_per_doc(lambda b: embed([f"{d['title']}. {d['text']}" for d in b]), docs)
    index, used, assign_ms = _index_memory(docs, feats)
    per_story = used / len(index.stories)
    per_article = used / len(docs)
    sample = StoryIndex(idle_hours=48)
    sample.assign(docs[0]["id"], feats[0])
    event_bytes = len(json.dumps(sample.drain_events()[0]))
    stories_ms = feat_ms + assign_ms
    print(f"\ncost on {len(docs)} ECB+ documents (CPU time, one process, batches of {BATCH}):")
    print(f"  spaCy NER (bare, the pipeline's costliest stage)  {ner_ms:8.2f} ms/article")
    print(f"  stories: features (words, entities, embedding)    {feat_ms:8.2f} ms/article"
          f"  (embedding alone {embed_ms:.2f})")
    print(f"  stories: assignment (serial StoryIndex)           {assign_ms:8.3f} ms/article")
    print(f"  throughput with stories / bare spaCy (one worker) {ner_ms / (ner_ms + stories_ms):8.3f}"
          f"  (goal >= 0.85)")
    print(f"  open stories {len(index.stories)}, index memory {used / 1e6:.2f} MB: {per_story / 1e3:.1f} KB"
          f" per open story, {per_article / 1e3:.1f} KB per article of the window")
    print(f"  projected for a window of 1 M articles: {per_article * 1e6 / 1e9:.2f} GB"
          f" (same story sizes: {1e6 * len(index.stories) / len(docs):,.0f} open stories)")
    print(f"  log event per assignment: {event_bytes} bytes of JSON")
