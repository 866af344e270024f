"""Dedup through the broker: repeats, across worker processes, and across a SIGKILL restart."""

from __future__ import annotations

import random
import signal
import time

import pytest

from pipeline.contracts import schemas
from pipeline.contracts.records import raw_article
from pipeline.writers.jsonl import read_jsonl
from pipeline.tools.synth import near_duplicate, seed_texts

from conftest import SEEDS, send_raw, wait_for_workers

pytestmark = pytest.mark.slow
SEED_TEXTS = seed_texts(SEEDS)


def test_seeds_replayed_twice_give_five_unique_and_five_exact(stack_factory):
    stack = stack_factory()
    stack.start_worker()
    keys = stack.replay_paths([SEEDS], repeat=2)
    outcomes = stack.outcomes(keys)
    assert len(outcomes.records["enriched"]) == 5
    dups = outcomes.records["duplicates"]
    assert len(dups) == 5 and {d["dedup"]["status"] for d in dups.values()} == {"exact"}
    for dup_id, dup in dups.items():
        assert dup["dedup"]["duplicate_of"] == dup_id.split("~")[0]
        assert schemas.errors("duplicate", dup) == []
        assert "entities" not in dup            # copies never reach entity tagging
    # duplicates.jsonl is written by its own agent, after the duplicates topic
    deadline = time.monotonic() + 20
    while len(read_jsonl(stack.output / "duplicates.jsonl")) < 5 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(read_jsonl(stack.output / "duplicates.jsonl")) == 5


def test_near_duplicates_on_other_partitions_and_processes_are_caught(stack_factory):
    stack = stack_factory()
    stack.start_worker()
    stack.start_worker()
    wait_for_workers(stack)
    originals = [raw_article(id=f"orig-{i}", source="test", text=t) for i, t in enumerate(SEED_TEXTS)]
    rng = random.Random(5)
    variants = [raw_article(id=f"copy-{i}", source="test", text=near_duplicate(t, kind, rng))
                for i, (t, kind) in enumerate(zip(SEED_TEXTS, ["boilerplate", "headline", "word_edits",
                                                                "truncated", "word_edits"]))]
    keys = send_raw(stack, originals, partition=0)
    stack.outcomes(keys)                        # originals indexed first
    keys += send_raw(stack, variants, partition=1)
    outcomes = stack.outcomes(keys)
    dups = outcomes.records["duplicates"]
    assert set(dups) == {v["id"] for v in variants}
    assert {d["dedup"]["duplicate_of"] for d in dups.values()} == {o["id"] for o in originals}
    assert all(d["dedup"]["status"] == "near" for d in dups.values())
    # the copies' first stage ran in another process than the originals', dedup in one place
    enriched = outcomes.records["enriched"]
    first_stage = {r["trace"]["language"] for r in enriched.values()}
    copy_stage = {d["trace"]["language"] for d in dups.values()}
    assert len(first_stage) == 1 and len(copy_stage) == 1 and first_stage != copy_stage
    assert len({r["trace"]["dedup"] for r in list(enriched.values()) + list(dups.values())}) == 1


def test_near_duplicate_caught_after_sigkill_and_restart(stack_factory):
    stack = stack_factory()
    first = stack.start_worker()
    originals = [raw_article(id=f"before-{i}", source="test", text=t) for i, t in enumerate(SEED_TEXTS)]
    keys = send_raw(stack, originals)
    assert len(stack.outcomes(keys).records["enriched"]) == 5
    first.send_signal(signal.SIGKILL)
    first.wait()
    stack.start_worker()
    variant = raw_article(id="after-kill", source="test",
                          text=near_duplicate(SEED_TEXTS[2], "word_edits", random.Random(9)))
    outcomes = stack.outcomes(send_raw(stack, [variant]))
    dup = outcomes.records["duplicates"]["after-kill"]
    assert dup["dedup"]["status"] == "near" and dup["dedup"]["duplicate_of"] == "before-2"
    log = (stack.output / "worker-1.log").read_text(errors="replace")
    assert "rebuilt: 5 entries" in log
