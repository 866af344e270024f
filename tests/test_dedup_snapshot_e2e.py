"""Dedup index snapshots through the broker (every engine of NEWSFEED_TEST_ENGINES): a restarted worker rebuilds
from a snapshot and the entries after it and still finds copies of articles from before the snapshot; a
snapshot whose writer died mid-way is stepped over."""

from __future__ import annotations

import random
import re
import signal
import time

import numpy as np
import orjson
import pytest
from kafka import KafkaProducer

from pipeline.contracts.records import raw_article
from pipeline.kafka.snapshots import chunk_records, latest_snapshot
from pipeline.kafka.state import empty_dedup_index, load_dedup_index
from pipeline.stages.dedup import snapshot as dedup_snapshot
from pipeline.stages.dedup.index import ALGORITHM
from pipeline.tools.synth import near_duplicate, seed_texts

from conftest import SEEDS, send_raw

pytestmark = pytest.mark.slow
SEED_TEXTS = seed_texts(SEEDS)


def _wait_for_line(path, pattern: str, timeout: float = 60) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text(errors="replace")) if path.exists() else None
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{pattern!r} not in {path}:\n" + path.read_text(errors="replace")[-3000:])


def test_a_restarted_worker_rebuilds_from_the_snapshot_and_its_tail_and_finds_older_copies(stack_factory):
    stack = stack_factory(NEWSFEED_DEDUP_SNAPSHOT_ENTRIES=3)
    first = stack.start_worker()
    before = [raw_article(id=f"before-{i}", source="test", text=t) for i, t in enumerate(SEED_TEXTS[:3])]
    assert set(stack.outcomes(send_raw(stack, before)).records["enriched"]) == {"before-0", "before-1", "before-2"}
    _wait_for_line(stack.output / "worker-0.log", r"dedup snapshot of partition \d+ written: 3 entries")
    after = [raw_article(id=f"after-{i}", source="test", text=t) for i, t in enumerate(SEED_TEXTS[3:], 3)]
    assert {"after-3", "after-4"} <= set(stack.outcomes(send_raw(stack, after)).records["enriched"])   # the tail
    first.send_signal(signal.SIGKILL)
    first.wait()

    stack.start_worker()
    rng = random.Random(4)
    copies = [raw_article(id="copy-of-before-1", source="test", text=near_duplicate(SEED_TEXTS[1], "word_edits", rng)),
              raw_article(id="copy-of-after-4", source="test", text=near_duplicate(SEED_TEXTS[4], "headline", rng))]
    dups = stack.outcomes(send_raw(stack, copies)).records["duplicates"]
    assert {i: d["dedup"]["duplicate_of"] for i, d in dups.items() if i.startswith("copy-")} == {"copy-of-before-1": "before-1",
                                                                         "copy-of-after-4": "after-4"}
    line = _wait_for_line(stack.output / "worker-1.log", r"rebuilt: 5 entries: snapshot covering dedup-index "
                                                          r"offset (\d+) \+ 2 entries after it")
    assert int(line.group(1)) == 3


def _entries(count: int, rng: np.random.Generator) -> list[dict]:
    now = time.time()
    return [{"id": f"e{n}", "exact": f"{n:032x}", "sig": rng.integers(0, 2**32, 128, dtype=np.uint32).tolist(),
             "n": 300, "ts": now, "indexed_at": now, "algo": ALGORITHM} for n in range(count)]


def test_a_snapshot_cut_short_by_its_writers_death_is_stepped_over(broker, tmp_path):
    from conftest import make_stack

    stack = make_stack(broker, tmp_path)
    settings, rng = stack.settings, np.random.default_rng(5)
    entries = _entries(2000, rng)
    producer = KafkaProducer(bootstrap_servers=broker.address, acks="all", linger_ms=20)
    for entry in entries:
        producer.send(settings.topic("dedup-index"), key=b"fr", value=orjson.dumps(entry), partition=1)
    index = empty_dedup_index(settings)
    for entry in entries[:1500]:
        index.add(entry)
    complete = chunk_records(dedup_snapshot.encode(index), 1500, time.time())
    for entry in entries[1500:1900]:
        index.add(entry)
    cut_short = chunk_records(dedup_snapshot.encode(index), 1900, time.time())
    assert len(complete) >= 2 and len(cut_short) >= 2    # ~600 bytes an entry, 512 kB chunks
    for key, value in complete + cut_short[:-1]:         # the second writer died before its last chunk
        producer.send(settings.topic("dedup-snapshot"), key=key, value=value, partition=1)
    producer.flush()

    found = latest_snapshot(broker.address, settings, 1)
    assert (found.covers, found.first, found.chunks) == (1500, 0, len(complete))
    rebuilt = load_dedup_index(settings, 1, broker.address)
    assert (rebuilt.snapshot_covers, rebuilt.read, rebuilt.end, len(rebuilt.index)) == (1500, 500, 2000, 2000)
    assert rebuilt.index.columns()["ids"] == [e["id"] for e in entries]   # each once, in log order

    for key, value in cut_short:   # a later writer finishes one: that one counts
        producer.send(settings.topic("dedup-snapshot"), key=key, value=value, partition=1)
    producer.flush()
    producer.close()
    rebuilt = load_dedup_index(settings, 1, broker.address)
    assert (rebuilt.snapshot_covers, rebuilt.read, len(rebuilt.index)) == (1900, 100, 2000)
    window = load_dedup_index(settings, 1, broker.address, use_snapshot=False)
    assert (window.snapshot_covers, window.read) == (None, 2000)
    assert window.index.columns()["ids"] == rebuilt.index.columns()["ids"]
