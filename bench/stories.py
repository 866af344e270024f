"""Stories stage benchmark: clustering quality on ECB+ and on a multilingual set, ours next to a TF-IDF
single-pass baseline in the same run (data and licences: bench/story_data.py).

    .venv/bin/python bench/stories.py [--data DIR] [--topics 1-25] [--seed 7] [--grid] [--cost]

Both systems read the documents once, in one shuffled arrival order (--seed), one minute apart, and put
each in the best open cluster above a threshold or a new one. The default topics are ECB+'s train/dev split
(1-25): parameters were tuned on those only; topics 26-45 are the held-out test split. `--grid` prints the
dev scores of a parameter grid (use it on dev topics only). `--cost` adds CPU per article and memory.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import re
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.story_data import (DEFAULT_ECB, bcubed, ecb_documents, multilingual_documents,  # noqa: E402
                              pairwise, parse_topics)
from pipeline.stages.entities.tagging import EntityTagger  # noqa: E402
from pipeline.stages.stories.index import Params, StoryIndex  # noqa: E402
from pipeline.stages.stories.features import features_batch  # noqa: E402

BASE_TIME = 1_750_000_000
TFIDF_THRESHOLD = 0.25   # the baseline's best on the dev topics (bench/stories.py --grid)
_WORD = re.compile(r"\w+")


def arrival(docs: list[dict], seed: int) -> list[dict]:
    order = docs[:]
    random.Random(seed).shuffle(order)
    for i, doc in enumerate(order):
        doc["ingested_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE_TIME + 60 * i))
    return order


def enrich(docs: list[dict], tagger: EntityTagger) -> None:
    for doc, result in zip(docs, tagger.tag([(d["language"]["code"], d["text"]) for d in docs])):
        doc["entity_summary"] = result["entity_summary"]


def ours(docs: list[dict], feats, params: Params) -> dict[str, str]:
    index = StoryIndex(idle_hours=48, params=params)
    return {d["id"]: index.assign(d["id"], f)["id"] for d, f in zip(docs, feats)}


def tfidf_single_pass(docs: list[dict], threshold: float = TFIDF_THRESHOLD) -> dict[str, str]:
    """The textbook baseline: TF-IDF (document frequencies learnt online), cosine to cluster centroids."""
    df: Counter[str] = Counter()
    centroids: list[Counter] = []
    found = {}
    for n, doc in enumerate(docs, 1):
        tf = Counter(_WORD.findall(f"{doc['title']} {doc['text']}".lower()))
        df.update(tf.keys())
        vec = {w: (1 + math.log(c)) * math.log((n + 1) / df[w]) for w, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vec = {w: v / norm for w, v in vec.items()}
        best, best_sim = None, threshold
        for i, centroid in enumerate(centroids):
            c_norm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
            sim = sum(v * centroid.get(w, 0.0) for w, v in vec.items()) / c_norm
            if sim >= best_sim:
                best, best_sim = i, sim
        if best is None:
            centroids.append(Counter())
            best = len(centroids) - 1
        centroids[best].update(vec)
        found[doc["id"]] = f"c{best}"
    return found


def scores(docs: list[dict], found: dict[str, str]) -> dict[str, float]:
    gold = {d["id"]: d["gold"] for d in docs}
    bp, br, bf = bcubed(gold, found)
    _pp, _pr, pf = pairwise(gold, found)
    return {"B3 P": bp, "B3 R": br, "B3 F1": bf, "pair F1": pf, "clusters": len(set(found.values()))}


def table(title: str, docs: list[dict], rows: dict[str, dict[str, float]]) -> None:
    gold = len({d["gold"] for d in docs})
    print(f"\n{title}: {len(docs)} documents, {gold} gold stories")
    print(f"  {'system':<22}{'B3 P':>7}{'B3 R':>7}{'B3 F1':>7}{'pair F1':>9}{'clusters':>10}")
    for name, s in rows.items():
        print(f"  {name:<22}{s['B3 P']:>7.3f}{s['B3 R']:>7.3f}{s['B3 F1']:>7.3f}{s['pair F1']:>9.3f}"
              f"{s['clusters']:>10}")


def prepare(docs: list[dict], tagger: EntityTagger, seed: int):
    started = time.perf_counter()
    order = arrival(docs, seed)
    enrich(order, tagger)
    ner_s = time.perf_counter() - started
    started = time.perf_counter()
    feats = [f for i in range(0, len(order), 32) for f in features_batch(order[i:i + 32])]
    return order, feats, ner_s, time.perf_counter() - started


def reorder(docs: list[dict], feats: list, seed: int) -> tuple[list[dict], list]:
    pairs = list(zip(docs, feats))
    random.Random(seed).shuffle(pairs)
    return [d for d, _f in pairs], [f for _d, f in pairs]


def grid(sets: list[tuple[list[dict], list]], seeds: int = 4) -> None:
    """Each set in `seeds` arrival orders; the rows with the best worst-case B3 F1 first."""
    print(f"\ngrid (dev only): emb words entities threshold cross -> mean B3 F1 per set over {seeds} orders")
    sets = [reorder(docs, feats, seed) for docs, feats in sets for seed in range(seeds)]
    results = []
    for emb, words, threshold, cross in itertools.product((0.3, 0.4, 0.5), (0.6, 0.7), (0.35, 0.4, 0.45),
                                                          (0.25, 0.5, 0.75)):
        params = Params(emb=emb, words=words, entities=0.1, threshold=threshold, cross=cross)
        f1s = [scores(docs, ours(docs, feats, params))["B3 F1"] for docs, feats in sets]
        means = [sum(f1s[i:i + seeds]) / seeds for i in range(0, len(f1s), seeds)]
        results.append((min(f1s), means, params))
    for worst, f1s, p in sorted(results, key=lambda r: -r[0])[:12]:
        print(f"  {p.emb:.2f} {p.words:.2f} {p.entities:.2f} {p.threshold:.2f} {p.cross:.2f} -> "
              + " ".join(f"{f:.3f}" for f in f1s) + f" (worst {worst:.3f})")
    docs, _feats = sets[0]
    for threshold in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35):
        print(f"  tfidf threshold {threshold:.2f} -> {scores(docs, tfidf_single_pass(docs, threshold))['B3 F1']:.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_ECB, help="ECB+ git dir or folder of topic folders")
    ap.add_argument("--topics", default="1-25", help="ECB+ topics, e.g. 1-25 (dev, the default)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--grid", action="store_true", help="print a parameter grid on the given (dev) topics")
    ap.add_argument("--cost", action="store_true", help="CPU per article, state bytes, projected memory")
    args = ap.parse_args(argv)
    tagger = EntityTagger().load()
    sets = []
    if not args.data.exists():
        print(f"ECB+ not found at {args.data}: git clone --bare https://github.com/tommasoc80/EventStoryLine"
              " and pass --data", file=sys.stderr)
        return 2
    for title, docs in ((f"ECB+ topics {args.topics}", ecb_documents(args.data, parse_topics(args.topics))),
                        ("multilingual (en fr de es pl ru)", multilingual_documents())):
        order, feats, ner_s, feat_s = prepare(docs, tagger, args.seed)
        sets.append((order, feats))
        table(title, order, {"ours (stories stage)": scores(order, ours(order, feats, Params())),
                             "TF-IDF single pass": scores(order, tfidf_single_pass(order))})
        print(f"  NER {1000 * ner_s / len(order):.1f} ms/doc, story features {1000 * feat_s / len(order):.1f}"
              " ms/doc (one process)")
    if args.grid:
        grid(sets)
    if args.cost:
        from bench.story_cost import report
        report(sets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
