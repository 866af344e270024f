"""Faults only a real Apache Kafka cluster has, whatever NEWSFEED_TEST_ENGINES says: replicas, leader failover,
a group coordinator that moves, a broker away for 15 s. Every article ends once in exactly one output: on
the enriched topic and in enriched.jsonl, duplicates and dead letters once each."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from pipeline.config import group_id
from pipeline.kafka.broker import free_port, wait_until_answering
from pipeline.kafka.engines.apache_kafka import KafkaCluster
from pipeline.kafka.replay import Item
from pipeline.tools import exactly_once
from pipeline.tools.synth import synthesize

from conftest import FAST_FENCING, SEEDS, make_stack, wait_for_workers
from http_helpers import get

pytestmark = pytest.mark.slow
# The lone broker's absence: many /ready probes (1 s apart) while it is away, past the 6 s consumer session.
HALTED = 15


def _load(n: int, seed: int) -> list[Item]:
    """A synthetic load with exact and near copies, plus three messages that must be dead-lettered."""
    syn = synthesize(n, SEEDS, mix="unique=0.8,exact=0.1,near=0.1", seed=seed)
    items = [Item(key=a["id"], article=a) for a in syn.articles]
    bad = [Item(key=f"bad-{seed}-{i}", payload=payload) for i, payload in
           enumerate((b"{not json", b'{"id": "bad-%d-1", "text": 3}' % seed, b"\xff\xfe binary"))]
    return items[:n // 3] + bad + items[n // 3:]


def _replay_in_background(stack, items: list[Item], rate: float) -> tuple[threading.Thread, list]:
    sent: list = []
    thread = threading.Thread(target=lambda: sent.extend(stack.replay_items(items, rate=rate)), daemon=True)
    thread.start()
    return thread, sent


def _assert_each_once(stack, keys: list[str]) -> dict:
    """Once the workers stopped: each article once in exactly one output, on the topics and in the JSONL."""
    checked = exactly_once.check(stack.address, stack.settings, stack.output, keys)
    assert checked.ok, checked.problems()
    assert checked.counts["deadletter"] == 3
    return checked.counts


def _wait_for_sinks(stack, total: int, timeout: float = 300) -> None:
    exactly_once.wait_for_sinks(stack.output, total, timeout, alive=lambda: all(w.poll() is None for w in stack.workers))


def _leader(admin: KafkaAdminClient, topic: str, partition: int) -> int:
    [described] = admin.describe_topics([topic])
    return next(p["leader_id"] for p in described["partitions"] if p["partition_index"] == partition)


def _coordinator(admin: KafkaAdminClient, group: str) -> int:
    # FindCoordinator, as the consumer asks it (kafka-python's admin has no public call for it)
    return admin._manager.run(admin._find_coordinator_ids, [group])[group]


def _fenced(admin: KafkaAdminClient, node: int) -> bool:
    try:
        brokers = admin.describe_cluster()["brokers"]
    except KafkaError:   # asked the dead node: ask again
        return False
    return not any(b["broker_id"] == node and not b.get("is_fenced") for b in brokers)


def _kill_and_restart(cluster: KafkaCluster, admin: KafkaAdminClient, node: int) -> float:
    """SIGKILL the node; away until the cluster fenced it (its leaderships moved: a failover, not a blip), then
    back, and every broker answering again. The seconds it was away."""
    cluster.kill_node(node, signal.SIGKILL)
    killed = time.monotonic()
    while not _fenced(admin, node):
        assert time.monotonic() - killed < 60, f"node {node} was never fenced"
        time.sleep(0.5)
    away = time.monotonic() - killed
    cluster.start_node(node)
    wait_until_answering(cluster.address, 90, brokers=cluster.nodes)
    return away


def test_leader_and_coordinator_killed_on_a_three_broker_cluster(tmp_path):
    """RF 3, min.insync.replicas 2, acks=all: SIGKILL the enriched leader mid-stream, bring it back, then
    SIGKILL the broker that coordinates the workers' group. Two workers share the load meanwhile."""
    with KafkaCluster(nodes=3, **FAST_FENCING) as cluster:
        stack = make_stack(cluster, tmp_path, NEWSFEED_REPLICATION=3, NEWSFEED_PARTITIONS=3)
        try:
            stack.start_worker()
            stack.start_worker()
            wait_for_workers(stack)
            admin = KafkaAdminClient(bootstrap_servers=cluster.address)
            thread, sent = _replay_in_background(stack, _load(150, seed=31), rate=6)
            time.sleep(6)
            leader = _leader(admin, stack.settings.topic("enriched"), 0)
            leader_away = _kill_and_restart(cluster, admin, leader)
            time.sleep(4)
            coordinator = _coordinator(admin, group_id(stack.settings))
            coordinator_away = _kill_and_restart(cluster, admin, coordinator)
            admin.close()
            thread.join(180)
            assert not thread.is_alive() and len(sent) == 153
            assert all(w.poll() is None for w in stack.workers), "a worker died"
            _wait_for_sinks(stack, len(sent))
            stack.stop()
            counts = _assert_each_once(stack, sent)
            print(f"killed leader {leader} (away {leader_away:.1f} s), then coordinator {coordinator} "
                  f"(away {coordinator_away:.1f} s): {counts}")
        finally:
            stack.stop()


def test_the_only_broker_away_for_15_seconds(tmp_path):
    """A one-node Kafka stopped mid-stream for 15 s: the worker answers /ready 503 meanwhile, stays up, and
    carries on by itself once the broker is back; nothing lost, nothing twice."""
    with KafkaCluster() as cluster:
        stack = make_stack(cluster, tmp_path)
        port = free_port()
        worker = stack.start_worker(NEWSFEED_HTTP_PORT=port)
        ready = f"http://127.0.0.1:{port}/ready"
        try:
            wait_for_workers(stack, settle=1)
            items = _load(60, seed=32)
            before = stack.replay_items(items[:30])
            time.sleep(3)                                     # mid-stream
            cluster.halt()
            halted = time.monotonic()
            statuses = []
            while time.monotonic() - halted < HALTED:
                statuses.append(get(ready)[0])
                time.sleep(1)
            assert worker.poll() is None, "the worker exited while the broker was away"
            assert 503 in statuses[5:], f"/ready while the broker was away: {statuses}"
            cluster.start()
            after = stack.replay_items(items[30:])
            deadline = time.monotonic() + 120
            while get(ready)[0] != 200:
                assert time.monotonic() < deadline, "never ready again"
                time.sleep(1)
            assert worker.poll() is None and len(stack.workers) == 1   # resumed without a restart
            _wait_for_sinks(stack, len(before + after))
            stack.stop()
            print(f"/ready while away: {Counter(statuses)}; {_assert_each_once(stack, before + after)}")
        finally:
            stack.stop()
