"""Synthetic load: deterministic, mixed as asked, uniques not near-duplicates of each other."""

import itertools
import os
import subprocess
import sys

import pytest

from pipeline.contracts import schemas
from pipeline.stages.dedup.index import normalise, shingles
from pipeline.tools.synth import parse_mix, synthesize

from conftest import SEEDS


def test_same_seed_same_articles_other_seed_other_articles():
    a, b, c = (synthesize(80, SEEDS, seed=s) for s in (4, 4, 5))
    assert [x["text"] for x in a.articles] == [x["text"] for x in b.articles] and a.truth == b.truth
    assert [x["text"] for x in a.articles] != [x["text"] for x in c.articles]


def test_mix_and_ground_truth():
    syn = synthesize(1000, SEEDS, mix="unique=0.6,exact=0.2,near=0.2", seed=1)
    kinds = [t["kind"] for t in syn.truth.values()]
    assert 0.55 < kinds.count("unique") / 1000 < 0.65 and 0.15 < kinds.count("exact") / 1000 < 0.25
    by_id = {a["id"]: a for a in syn.articles}
    for ident, truth in syn.truth.items():
        if truth["kind"] == "exact":
            assert by_id[ident]["text"] == by_id[truth["of"]]["text"]
        if truth["kind"] != "unique":
            assert syn.truth[truth["of"]]["kind"] == "unique"
    assert all(schemas.errors("raw", a) == [] for a in syn.articles[:50])


def test_unique_articles_are_not_near_duplicates_of_each_other():
    syn = synthesize(150, SEEDS, mix="unique=1", seed=2)
    sets = [shingles(normalise(a["text"]), 5) for a in syn.articles]
    worst = max(len(x & y) / len(x | y) for x, y in itertools.combinations(sets, 2))
    assert worst < 0.4


def test_bad_mix_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown kind"):
        parse_mix("unique=0.5,copies=0.5")
    with pytest.raises(ValueError, match="unique"):
        parse_mix("exact=1")


def test_seed_length_articles_are_as_long_as_the_seeds_and_still_unique():
    from pipeline.tools.synth import seed_texts

    seeds = seed_texts(SEEDS)
    syn = synthesize(120, SEEDS, mix="unique=1", seed=6, length="seed")
    lengths = [len(a["text"]) for a in syn.articles]
    assert min(map(len, seeds)) * 0.9 <= min(lengths) and max(lengths) <= max(map(len, seeds)) * 1.3
    assert sum(lengths) / len(lengths) > 1.5 * sum(len(a["text"]) for a in synthesize(120, SEEDS, mix="unique=1",
                                                                                      seed=6).articles) / 120
    sets = [shingles(normalise(a["text"]), 5) for a in syn.articles]
    assert max(len(x & y) / len(x | y) for x, y in itertools.combinations(sets, 2)) < 0.4
    with pytest.raises(ValueError, match="length"):
        synthesize(3, SEEDS, length="long")


def test_synthesize_outside_the_checkout_names_the_missing_seeds(tmp_path):
    """Run where there is no seeds/ (an installed package): one line saying so, exit 2, before any broker wait."""
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "replay", "--synthesize", "5"], cwd=tmp_path,
                          env={**os.environ, "NEWSFEED_BROKER": "127.0.0.1:9", "COLUMNS": "80"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "the synthetic load is built from seed articles, and seeds/ has none (no such directory): run from the "
        "newsfeed checkout (its seeds/), or name a directory of .txt articles"]
