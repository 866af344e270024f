"""A dedup index restored from its snapshot plus the entries after it is the index that took every entry:
same verdicts (same originals), same entries, same evictions afterwards."""

from __future__ import annotations

import random

import pytest

from pipeline.stages.dedup import snapshot as dedup_snapshot
from pipeline.stages.dedup.index import DedupIndex
from pipeline.tools.synth import synthesize

from conftest import SEEDS

DAY = 86400.0


def _judged(index: DedupIndex, articles, ts_of) -> list[tuple]:
    """Feed articles as the worker does; the verdicts (status, original, similarity)."""
    out = []
    for n, article in enumerate(articles):
        verdict = index.check(article["id"], article["text"], ts_of(n))
        if verdict.entry:
            index.add(verdict.entry)
        out.append((article["id"], verdict.status, verdict.duplicate_of, verdict.similarity))
    return out


def _state(index: DedupIndex) -> dict:
    columns = index.columns()
    return {"ids": columns["ids"], "exact": columns["exact"], "holds": columns["holds_exact"].tolist(),
            "sigs": columns["sigs"].tolist(), "ts": columns["ts"].tolist(), "newest": columns["newest"]}


def test_snapshot_plus_tail_judges_and_evicts_as_the_index_that_saw_everything():
    syn = synthesize(900, SEEDS, seed=23)
    arts = syn.articles
    now = [1_000_000.0]
    make = lambda: DedupIndex(retention_seconds=3 * DAY, grace_seconds=60, clock=lambda: now[0])  # noqa: E731
    ts_of = lambda n: n * 600.0   # noqa: E731 - ten minutes apart: the 3-day window evicts along the way

    live = make()
    entries = []
    for n, article in enumerate(arts[:600]):   # the history before the snapshot, logged as the worker logs it
        verdict = live.check(article["id"], article["text"], ts_of(n))
        if verdict.entry:
            live.add(verdict.entry)
            entries.append(verdict.entry)
        now[0] += 1
    assert len(live) < len(entries)            # eviction happened before the snapshot
    blob = dedup_snapshot.encode(live)
    restored = dedup_snapshot.restore(blob, make())
    assert _state(restored) == _state(live)

    tail = arts[600:]
    shift = lambda n: ts_of(n + 600)   # noqa: E731
    assert _judged(restored, tail, shift) == _judged(live, tail, shift)
    assert _state(restored) == _state(live)
    # pre-snapshot originals are still found after the restore: copies of them in the tail
    before = {a["id"] for a in arts[:600]}
    assert any(status != "unique" and original in before for _i, status, original, _s in _judged(
        dedup_snapshot.restore(blob, make()), tail, shift))


def test_an_empty_index_round_trips_and_a_foreign_snapshot_is_refused():
    empty = dedup_snapshot.restore(dedup_snapshot.encode(DedupIndex()), DedupIndex())
    assert len(empty) == 0
    index = DedupIndex()
    _judged(index, [{"id": "a", "text": "un texte assez long pour un signe " * 5}], lambda n: 0.0)
    with pytest.raises(dedup_snapshot.SnapshotMismatch):
        dedup_snapshot.restore(dedup_snapshot.encode(index), DedupIndex(num_perm=64))
    truncated = dedup_snapshot.encode(index)[:-3]
    with pytest.raises(ValueError):
        dedup_snapshot.restore(truncated, DedupIndex())


def test_a_restored_index_finds_a_truncated_copy_among_thousands():
    """The band buckets loaded in bulk find what the incrementally built ones find."""
    rng = random.Random(3)
    index = DedupIndex()
    texts = [" ".join(rng.choice(["mot", "autre", "chose", "encore", "ville", "pays", "jour"]) + str(rng.random())
                      for _ in range(60)) for _ in range(3000)]
    _judged(index, [{"id": f"t{i}", "text": t} for i, t in enumerate(texts)], lambda n: 0.0)
    restored = dedup_snapshot.restore(dedup_snapshot.encode(index), DedupIndex())
    probe = texts[1234][: len(texts[1234]) * 9 // 10]
    assert restored.check("probe", probe, 0).duplicate_of == index.check("probe", probe, 0).duplicate_of == "t1234"
