"""A fresh worker's /metrics, before its first record: every labelled counter whose labels are known in
advance is there at 0, so `rate()` and alerts see a series from the start (no "no data" until the first
dead letter)."""

from __future__ import annotations

import json

import pytest

from conftest import NO_NER, ROOT
from http_helpers import scrape, series, serve_worker

pytestmark = pytest.mark.slow

KINDS = json.loads((ROOT / "schemas" / "dead-letter.v1.json").read_text())["properties"]["error"]["properties"][
    "kind"]["enum"]


def labelled(samples: dict, name: str) -> dict[tuple[str, ...], float]:
    return {tuple(v for _, v in labels): value for labels, value in series(samples, name).items()}


def test_a_fresh_worker_exports_its_counters_at_zero(stack_factory):
    stack = stack_factory(NEWSFEED_NER_MODELS=NO_NER)
    samples = scrape(serve_worker(stack) + "/metrics")   # nothing was replayed: no record has been seen

    dead = labelled(samples, "newsfeed_dead_letters_total")      # labels sorted: (kind, stage)
    assert set(dead) == {(kind, stage) for kind in KINDS for stage in ("language", "dedup", "entities", "stories", "sink")}
    assert ("not_json", "language") in dead and ("stage_error", "sink") in dead

    out = labelled(samples, "newsfeed_records_out_total")        # (outcome, stage)
    assert {("languaged", "language"), ("unique", "dedup"), ("exact", "dedup"), ("near", "dedup"),
            ("tagged", "entities"), ("assigned", "stories"), ("duplicate", "stories"), ("enriched", "sink"), ("redelivered", "sink"), ("written", "duplicates-sink"),
            ("written", "deadletter-sink"), ("dead_letter", "language"), ("dead_letter", "sink")} <= set(out)
    assert set(labelled(samples, "newsfeed_records_in_total")) == {
        ("language",), ("dedup",), ("entities",), ("stories",), ("sink",), ("duplicates-sink",), ("deadletter-sink",)}

    errors = labelled(samples, "newsfeed_output_write_errors_total")
    assert set(errors) == {(o,) for o in ("languaged topic", "unique topic", "tagged topic", "dedup-index topic",
                                          "deadletter topic", "story-log topic", "stories topic", "duplicates topic",
                                          "enriched topic", "enriched.jsonl", "duplicates.jsonl", "deadletter.jsonl")}
    for family in (dead, out, errors, labelled(samples, "newsfeed_records_in_total")):
        assert set(family.values()) == {0.0}


def test_a_split_worker_exports_only_its_own_stages(stack_factory):
    stack = stack_factory(NEWSFEED_STAGES="language")
    samples = scrape(serve_worker(stack) + "/metrics")
    assert set(labelled(samples, "newsfeed_records_in_total")) == {("language",)}
    assert {stage for _, stage in labelled(samples, "newsfeed_dead_letters_total")} == {"language"}
    assert set(labelled(samples, "newsfeed_output_write_errors_total")) == {("languaged topic",), ("deadletter topic",)}
