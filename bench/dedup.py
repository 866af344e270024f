"""Dedup stage benchmark: precision/recall on a generated set, stage throughput, index memory per
100k articles, and datasketch vs rensa side by side in one run.

    .venv/bin/python bench/dedup.py [--n 2000] [--seed 7]

How the set is built (pipeline/synth.py): unique articles recombined from seed sentences; exact copies;
near duplicates (boilerplate added, new headline line, ~2 % of words edited, last paragraph cut).
The five real seeds are added too: they are different outlets' stories on the same events, so any
pair reported between them is a false positive.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.stages.dedup.index import ALGORITHM, DedupIndex, normalise, shingles  # noqa: E402
from pipeline.tools.synth import seed_texts, synthesize  # noqa: E402


def score(index: DedupIndex, syn) -> dict:
    tp = fp = fn = wrong_original = 0
    started = time.perf_counter()
    for article in syn.articles:
        verdict = index.check(article["id"], article["text"], 0.0)
        if verdict.entry:
            index.add(verdict.entry)
        truth = syn.truth[article["id"]]
        said_dup = verdict.status != "unique"
        if said_dup and truth["kind"] != "unique":
            tp += 1
            wrong_original += verdict.duplicate_of != truth["of"]
        elif said_dup:
            fp += 1
        elif truth["kind"] != "unique":
            fn += 1
    elapsed = time.perf_counter() - started
    return {"tp": tp, "fp": fp, "fn": fn, "wrong_original": wrong_original,
            "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
            "rate": len(syn.articles) / elapsed}


def memory_per_100k(num_perm: int = 128) -> float:
    """RSS growth for 100k index entries (random signatures: one LSH bucket per band each, the worst case)."""
    rng = np.random.default_rng(0)
    gc.collect()
    before = psutil.Process().memory_info().rss
    index = DedupIndex(num_perm=num_perm, retention_seconds=1e12)
    for i in range(100_000):
        index.add({"id": f"a{i}", "exact": f"{i:032x}", "sig": rng.integers(0, 2**32, num_perm).tolist(), "n": 500,
                   "ts": 0.0, "algo": ALGORITHM})
    gc.collect()
    grown = psutil.Process().memory_info().rss - before
    assert len(index) == 100_000
    return grown / 1e6


def rensa_vs_datasketch(texts: list[str], threshold: float) -> None:
    from datasketch import MinHash, MinHashLSH
    from rensa import RMinHash

    from pipeline.stages.dedup.index import choose_bands

    shingled = [sorted(shingles(normalise(t), 5)) for t in texts]

    def ds(sh):
        m = MinHash(num_perm=128, seed=1, scheme="affine32")
        m.update_batch([s.encode() for s in sh])
        return m

    def rs(sh):
        m = RMinHash(num_perm=128, seed=1)
        m.update(sh)
        return m

    for name, fn in (("datasketch MinHash", ds), ("rensa RMinHash", rs)):
        started, n = time.perf_counter(), 0
        while time.perf_counter() - started < 1.5:
            for sh in shingled:
                fn(sh)
            n += len(shingled)
        print(f"  {name:20}: {n / (time.perf_counter() - started):,.0f} signatures/s")
    rng = np.random.default_rng(1)
    gc.collect()
    before = psutil.Process().memory_info().rss
    lsh = MinHashLSH(num_perm=128, params=choose_bands(threshold, 128))
    for i in range(20_000):
        lsh.insert(f"a{i}", MinHash(num_perm=128, hashvalues=rng.integers(0, 2**32, 128), scheme="affine32"))
    grown = (psutil.Process().memory_info().rss - before) / 1e6
    print(f"  datasketch MinHashLSH, same bands: {grown * 5:.0f} MB per 100k (measured on 20k)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    syn = synthesize(args.n, ROOT / "seeds", seed=args.seed)
    seeds = seed_texts(ROOT / "seeds")
    kinds = {}
    for t in syn.truth.values():
        kinds[t["kind"]] = kinds.get(t["kind"], 0) + 1
    print(f"generated set: {args.n} articles {kinds} (seed {args.seed})")
    hard = synthesize(args.n, ROOT / "seeds", seed=args.seed, swap_fraction=0.0)
    for name, dataset in (("generated set (the default generator)", syn),
                          ("hard set: uniques share verbatim sentences (no word swaps)", hard)):
        print(f"\nthreshold sweep on the {name} (num_perm 128, 5-word shingles):")
        for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            r = score(DedupIndex(threshold=threshold), dataset)
            print(f"  threshold {threshold:.1f}: precision {r['precision']:.4f} recall {r['recall']:.4f} "
                  f"(tp {r['tp']} fp {r['fp']} fn {r['fn']}, wrong original {r['wrong_original']}), "
                  f"{r['rate']:,.0f} articles/s")
    index = DedupIndex()
    fps = 0
    for i, text in enumerate(seeds):
        v = index.check(f"seed{i}", text, 0.0)
        fps += v.status != "unique"
        if v.entry:
            index.add(v.entry)
    pairs = [len(a & b) / len(a | b) for a, b in itertools.combinations(
        [shingles(normalise(t), 5) for t in seeds], 2)]
    print(f"\nreal seeds (same events, different outlets): max pairwise Jaccard {max(pairs):.3f}, "
          f"false duplicates at default threshold: {fps}")
    print(f"\nindex memory: {memory_per_100k():.0f} MB per 100k indexed articles (num_perm 128)")
    print("\ndatasketch vs rensa (signature speed on the seeds):")
    rensa_vs_datasketch(seeds, 0.5)


if __name__ == "__main__":
    main()
