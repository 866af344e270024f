"""Rebalances while records flow: workers joining and dying mid-stream lose nothing, and the consumer commits
an offset only when every offset before it was processed (pipeline/runtime/faust_consumer.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from pipeline.kafka.replay import Item
from pipeline.tools.processes import wait_workers_ready
from pipeline.tools.synth import synthesize

from conftest import NO_NER, ROOT, SEEDS, wait_for_workers

pytestmark = pytest.mark.slow


def test_workers_joining_and_killed_mid_stream_lose_nothing(stack_factory):
    # a dedup snapshot every 40 entries: snapshots are cut, cut short by the SIGKILL and read back mid-stream
    stack = stack_factory(NEWSFEED_PARTITIONS=6, NEWSFEED_NER_MODELS=NO_NER, NEWSFEED_NER_PROCESSES=0,
                          NEWSFEED_DEDUP_SNAPSHOT_ENTRIES=40)
    stack.start_worker()
    wait_for_workers(stack, settle=1)
    syn = synthesize(800, SEEDS, mix="unique=0.8,exact=0.1,near=0.1", seed=31)
    bursts = [[Item(a["id"], article=dict(a)) for a in syn.articles[i::4]] for i in range(4)]
    # each burst leaves a backlog that the workers are still fetching and processing when the group changes
    stack.replay_items(bursts[0])
    stack.start_worker()                          # joins: rebalance
    time.sleep(2)
    stack.replay_items(bursts[1])
    stack.start_worker()                          # another, joining around the end of that rebalance
    time.sleep(3)
    stack.replay_items(bursts[2])
    # a member of the group, working, when it dies (not a process still starting up)
    wait_workers_ready([stack.output / "worker-1.log"], [stack.workers[1]], timeout=120)
    stack.workers[1].send_signal(signal.SIGKILL)  # gone without a goodbye: rebalance after its session
    stack.start_worker()                          # while its replacement joins
    time.sleep(3)
    stack.replay_items(bursts[3])
    keys = {a["id"] for a in syn.articles}
    outcomes = stack.outcomes(keys, timeout=240)
    enriched, dups, dead = (set(outcomes.records[k]) for k in ("enriched", "duplicates", "deadletter"))
    assert enriched | dups | dead == keys                                        # none lost
    assert not (enriched & dups) and not (enriched & dead) and not (dups & dead)   # one outcome each
    assert outcomes.copies["enriched"] == 0   # the duplicates topic is at-least-once (its JSONL is not)
    # no index entry lost across the kills and rebuilds: of articles with the same text, whatever order they
    # came in, at most one is unique (the first indexed; the others meet its entry)
    unique_per_text = Counter(a["text"] for a in syn.articles if a["id"] in enriched)
    assert max(unique_per_text.values(), default=0) <= 1
    logs = _worker_logs(stack)
    if "snapshot covering dedup-index offset" not in logs:
        # the partition whose snapshots were cut kept its owner through the kill: a fresh worker, alone once the
        # others are gone, takes every partition and must rebuild it from its latest snapshot
        for proc in stack.workers:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        fresh = stack.output / f"worker-{len(stack.workers)}.log"
        wait_workers_ready([fresh], [stack.start_worker()], timeout=180)
        deadline = time.monotonic() + 60
        while "snapshot covering dedup-index offset" not in logs and time.monotonic() < deadline:
            time.sleep(1)
            logs = _worker_logs(stack)
    assert "dedup snapshot of partition" in logs and "snapshot covering dedup-index offset" in logs


def _worker_logs(stack) -> str:
    return "".join((stack.output / f"worker-{i}.log").read_text(errors="replace") for i in range(len(stack.workers)))


def _finished(log) -> set[tuple[int, int]]:
    return {tuple(map(int, line.split())) for line in log.read_text().splitlines()} if log.exists() else set()


def test_a_seek_while_a_batch_is_delivered_commits_only_processed_offsets(broker, tmp_path):
    """tests/seek_app.py hands its partitions back to itself mid-stream (streams stopped, buffers cleared,
    seek to the committed offsets) while the consumer still delivers a batch fetched before the seek. At
    every moment, each partition's committed offset must have all offsets below it processed."""
    prefix, partitions = f"s{uuid.uuid4().hex[:8]}.", 4
    group, topic, log = f"newsfeed-{prefix.rstrip('.')}", f"{prefix}seek", tmp_path / "done.log"
    admin = KafkaAdminClient(bootstrap_servers=broker.address)
    admin.create_topics([NewTopic(topic, partitions, 1)])
    env = {**os.environ, "NEWSFEED_BROKER": broker.address, "NEWSFEED_TOPIC_PREFIX": prefix, "NEWSFEED_APP_ID": group,
           "NEWSFEED_PARTITIONS": str(partitions), "NEWSFEED_HTTP_PORT": "0", "SEEK_TEST_LOG": str(log)}
    with open(tmp_path / "app.log", "wb") as out:
        app = subprocess.Popen([sys.executable, str(ROOT / "tests" / "seek_app.py")], env=env, cwd=ROOT,
                               stdout=out, stderr=subprocess.STDOUT)
    sent = dict.fromkeys(range(partitions), 0)

    def produce():
        producer = KafkaProducer(bootstrap_servers=broker.address, acks="all")
        for i in range(1201):
            if i == 1:
                producer.flush()
                while not _finished(log):   # the app is up and consuming
                    time.sleep(0.1)
            value = b"warm-up" if i == 0 else b"rebalance" if i % 300 == 150 else b"x"
            producer.send(topic, value=value, partition=i % partitions)
            sent[i % partitions] += 1
            time.sleep(1 / 500)   # faster than the agent: a backlog waits in its buffer, every partition moving
        producer.flush()
        producer.close()

    sender = threading.Thread(target=produce)
    sender.start()
    violations, committed = [], {}
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            committed = {tp.partition: meta.offset for tp, meta in
                         admin.list_group_offsets({group: None}).get(group, {}).items() if tp.topic == topic}
            finished = _finished(log)   # read after the commits: an offset is written before it is acked
            for p, offset in committed.items():
                skipped = [o for o in range(offset) if (p, o) not in finished]
                if skipped:
                    violations.append((p, offset, skipped[:5], len(skipped)))
            if not sender.is_alive() and all(committed.get(p, 0) >= n for p, n in sent.items()):
                break
            assert app.poll() is None, (tmp_path / "app.log").read_text()[-3000:]
            time.sleep(0.05)
    finally:
        sender.join()
        app.terminate()
        app.wait(30)
        admin.close()
    assert not violations, f"committed past unprocessed offsets (partition, committed, skipped...): {violations[:3]}"
    assert {(p, o) for p, n in sent.items() for o in range(n)} <= _finished(log)
    assert all(committed.get(p, 0) >= n for p, n in sent.items()), (committed, sent)   # and the commits caught up


def test_a_worker_started_after_its_group_stopped_worker_by_worker_joins(stack_factory):
    """The embedded broker kept a leader that sent LeaveGroup after a follower had left, and every worker
    joining later waited for that leader forever (pipeline/runtime/group_leave.py). Two `newsfeed worker`s
    get SIGTERM together, the follower a moment first; a third started next must get ready and work."""
    stack = stack_factory(NEWSFEED_PARTITIONS=4, NEWSFEED_NER_MODELS=NO_NER, NEWSFEED_NER_PROCESSES=0)
    stack.start_worker()
    wait_for_workers(stack, settle=1)
    stack.start_worker()   # its join starts a new generation, so both leave on SIGTERM
    wait_for_workers(stack, settle=stack.settings.session_timeout)
    logs = [stack.output / f"worker-{i}.log" for i in range(2)]
    [leader] = [i for i, log in enumerate(logs) if "Elected group leader" in log.read_text()]
    stack.workers[1 - leader].send_signal(signal.SIGTERM)   # as `docker compose` stops a layout: together,
    time.sleep(0.3)                                         # the follower's LeaveGroup first
    stack.workers[leader].send_signal(signal.SIGTERM)
    assert [stack.workers[i].wait(60) for i in (0, 1)] == [0, 0]
    assert "LeaveGroup request succeeded" in logs[1 - leader].read_text()   # the broker saw the follower go
    wait_workers_ready([stack.output / "worker-2.log"], [stack.start_worker()], timeout=60)
    keys = stack.replay_paths([SEEDS])
    outcomes = stack.outcomes(keys, timeout=120)
    assert set(outcomes.records["enriched"]) | set(outcomes.records["duplicates"]) == set(keys)
