"""Dedup logic: exact and near duplicates, the 000/004 false-positive trap, idempotency, retention, rebuild."""

from __future__ import annotations

import random

import numpy as np
import orjson
import pytest

from pipeline.stages.dedup.index import BandIndex, DedupIndex, choose_bands, normalise, shingles
from pipeline.tools.synth import NEAR_KINDS, near_duplicate, seed_texts, synthesize

from conftest import SEEDS

SEED_TEXTS = seed_texts(SEEDS)
DAY = 86400.0


def feed(index: DedupIndex, texts, ts=0.0, prefix="a"):
    verdicts = []
    for i, text in enumerate(texts):
        v = index.check(f"{prefix}{i}", text, ts)
        if v.entry:
            index.add(v.entry)
        verdicts.append(v)
    return verdicts


def jaccard(a: str, b: str) -> float:
    x, y = shingles(normalise(a), 5), shingles(normalise(b), 5)
    return len(x & y) / len(x | y)


def test_seeds_twice_give_five_unique_and_five_exact():
    verdicts = feed(DedupIndex(), SEED_TEXTS + SEED_TEXTS)
    assert [v.status for v in verdicts] == ["unique"] * 5 + ["exact"] * 5
    assert [v.duplicate_of for v in verdicts[5:]] == ["a0", "a1", "a2", "a3", "a4"]
    assert all(v.similarity == 1.0 for v in verdicts[5:])


def test_exact_ignores_case_and_spacing_and_punctuation():
    index = DedupIndex()
    feed(index, [SEED_TEXTS[1]])
    variant = "  " + SEED_TEXTS[1].upper().replace(",", " ,").replace("\n\n", "\n") + " "
    assert index.check("b", variant, 0).status == "exact"


@pytest.mark.parametrize("kind", NEAR_KINDS)
def test_near_duplicate_variants_of_every_seed_are_caught(kind):
    index = DedupIndex()
    feed(index, SEED_TEXTS, prefix="seed")
    rng = random.Random(42)
    for i, text in enumerate(SEED_TEXTS):
        variant = near_duplicate(text, kind, rng)
        verdict = index.check(f"v{i}", variant, 0)
        assert verdict.status == "near", (kind, i, jaccard(text, variant))
        assert verdict.duplicate_of == f"seed{i}"
        assert 0.5 <= verdict.similarity <= 1.0


def test_seed_000_and_004_share_quotes_but_are_not_duplicates():
    assert jaccard(SEED_TEXTS[0], SEED_TEXTS[4]) < 0.15   # ≈ 0.09: two outlets, same phone call
    verdicts = feed(DedupIndex(), [SEED_TEXTS[0], SEED_TEXTS[4]])
    assert [v.status for v in verdicts] == ["unique", "unique"]
    assert all(v.status == "unique" for v in feed(DedupIndex(), SEED_TEXTS))


def test_redelivered_article_is_unique_again_without_a_new_entry():
    index = DedupIndex()
    feed(index, SEED_TEXTS)
    again = index.check("a2", SEED_TEXTS[2], 0)
    assert again.status == "unique" and again.entry is None and len(index) == 5


def test_generated_set_precision_is_perfect_and_recall_high():
    syn = synthesize(600, SEEDS, seed=11)
    index = DedupIndex()
    fp = fn = tp = 0
    for article in syn.articles:
        v = index.check(article["id"], article["text"], 0)
        if v.entry:
            index.add(v.entry)
        truth = syn.truth[article["id"]]
        if v.status != "unique":
            if truth["kind"] == "unique":
                fp += 1
            else:
                tp += 1
                assert v.duplicate_of == truth["of"]
        elif truth["kind"] != "unique":
            fn += 1
        if truth["kind"] == "exact":
            assert v.status == "exact"
    assert fp == 0 and tp / (tp + fn) >= 0.97, (tp, fp, fn)


def test_retention_window_evicts_old_entries():
    index = DedupIndex(retention_seconds=7 * DAY, grace_seconds=0)
    feed(index, SEED_TEXTS[:2], ts=0.0)
    assert index.check("x", SEED_TEXTS[0], 6 * DAY).status == "exact"
    feed(index, SEED_TEXTS[2:3], ts=8 * DAY, prefix="late")   # moves the window past day 0
    assert len(index) == 1
    assert index.check("y", SEED_TEXTS[0], 8 * DAY).status == "unique"


def test_old_articles_are_kept_for_a_grace_period_after_indexing():
    now = [1_000_000.0]
    index = DedupIndex(retention_seconds=7 * DAY, grace_seconds=3600, clock=lambda: now[0])
    feed(index, SEED_TEXTS[:1], ts=0.0)                        # published long ago
    feed(index, SEED_TEXTS[1:2], ts=400 * DAY, prefix="new")   # the window moves far past it
    assert index.check("copy", SEED_TEXTS[0], 400 * DAY).status == "exact"   # still within grace
    now[0] += 3601
    feed(index, SEED_TEXTS[2:3], ts=400 * DAY, prefix="later")
    assert index.check("copy2", SEED_TEXTS[0], 400 * DAY).status == "unique"


def test_index_rebuilt_from_logged_entries_catches_the_same_duplicates():
    index = DedupIndex()
    log = [orjson.dumps(v.entry) for v in feed(index, SEED_TEXTS) if v.entry]
    rebuilt = DedupIndex()
    for line in log:
        rebuilt.add(orjson.loads(line))
    variant = near_duplicate(SEED_TEXTS[3], "word_edits", random.Random(1))
    assert rebuilt.check("v", variant, 0).duplicate_of == "a3"
    assert rebuilt.check("w", SEED_TEXTS[1], 0).status == "exact"


def test_entries_from_another_algorithm_are_skipped_not_misread():
    index = DedupIndex()
    index.add({"id": "old", "exact": "e", "sig": [1] * 128, "ts": 0, "algo": "datasketch-legacy"})
    assert len(index) == 0 and index.skipped_foreign == 1


def test_choose_bands_recalls_pairs_at_the_threshold():
    for threshold in (0.3, 0.5, 0.7, 0.9):
        bands, rows = choose_bands(threshold, 128)
        assert bands * rows <= 128
        assert 1 - (1 - threshold ** rows) ** bands >= 0.99


def test_band_index_finds_entries_before_and_after_merge():
    bands = BandIndex(16, 8)
    rng = np.random.default_rng(0)
    sigs = rng.integers(0, 2**32, size=(3000, 128)).astype(np.uint32)
    for row, sig in enumerate(sigs[:2500]):
        bands.insert(row, bands.keys(sig))
    bands.merge(np.arange(0, 2500, 2))          # odd rows are gone
    for row, sig in enumerate(sigs[2500:], 2500):
        bands.insert(row, bands.keys(sig))
    assert 10 in bands.query(bands.keys(sigs[10]))
    assert 11 not in bands.query(bands.keys(sigs[11]))
    assert 2999 in bands.query(bands.keys(sigs[2999]))
