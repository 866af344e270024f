"""Where the backlog sits, read from the broker: per stage and partition the consumer group's committed
offset, the high watermark and the lag; the dead letters; the produce-to-sink latency of recent output.

High watermarks come from Fetch responses (seek to the committed offset, fetch once), never from
ListOffsets(latest), which the embedded broker answers short.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Iterable

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from pipeline.config import Settings, group_id, stages_of_group
from pipeline.contracts.records import parse_time
from pipeline.kafka.io import read_partition
from pipeline.kafka.topics import AGENT_INPUTS, partitions_of, stage_of_agent


@dataclass
class PartitionLag:
    stage: str
    group: str
    topic: str
    partition: int
    committed: int
    high_watermark: int

    @property
    def lag(self) -> int:
        return max(0, self.high_watermark - self.committed)


def candidate_groups(settings: Settings, admin: KafkaAdminClient) -> list[str]:
    """The all-stages group, this environment's NEWSFEED_STAGES group, and any group the broker lists
    under the app id (split deployments run one group per stage set)."""
    groups = [settings.app_id, group_id(settings)]
    try:
        listed = admin.list_groups()
    except Exception:  # the embedded broker lists no groups; the named ones are still read
        listed = []
    for entry in listed:
        name = entry.get("group_id") if isinstance(entry, dict) else entry[0]
        if name and stages_of_group(settings.app_id, name):
            groups.append(name)
    return list(dict.fromkeys(groups))


def _stages_of(group: str, settings: Settings) -> set[str]:
    """The agents a worker group runs (its stages' agents)."""
    stages = stages_of_group(settings.app_id, group) or ()
    return {agent for agent in AGENT_INPUTS if stage_of_agent(agent) in stages}


def committed_offsets(settings: Settings, admin: KafkaAdminClient) -> dict[str, tuple[str, dict[int, int]]]:
    """stage -> (group, {partition: committed}); the group is the one that committed on the stage's input."""
    found: dict[str, tuple[str, dict[int, int]]] = {}
    for group in candidate_groups(settings, admin):
        offsets = admin.list_group_offsets({group: None}).get(group, {})
        for stage in _stages_of(group, settings):
            topic = settings.topic(AGENT_INPUTS[stage])
            mine = {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}
            if mine and stage not in found:
                found[stage] = (group, mine)
    for stage in AGENT_INPUTS:   # nothing committed yet: the group this environment would use
        found.setdefault(stage, (group_id(settings) if stage in _stages_of(group_id(settings), settings)
                                 else settings.app_id, {}))
    return found


def high_watermarks(consumer: KafkaConsumer, start: dict[TopicPartition, int],
                    timeout: float = 30.0) -> dict[TopicPartition, int]:
    """Fetch each partition once from `start` and read the high watermark its Fetch response carried."""
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    deadline = time.monotonic() + timeout
    while any(consumer.highwater(tp) is None for tp in start):
        consumer.poll(timeout_ms=200)
        if time.monotonic() > deadline:
            missing = [f"{tp.topic}[{tp.partition}]" for tp in start if consumer.highwater(tp) is None]
            raise TimeoutError(f"no Fetch answer within {timeout}s for {missing}")
    return {tp: consumer.highwater(tp) for tp in start}


def _fetcher(settings: Settings, bootstrap: str) -> KafkaConsumer:
    # small fetches: only the high watermark in the answer is wanted
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         fetch_max_wait_ms=100, max_partition_fetch_bytes=65536, **settings.kafka_python_security())


def snapshot(settings: Settings, bootstrap: str) -> list[PartitionLag]:
    """Every stage's partitions, in pipeline order."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **settings.kafka_python_security())
    consumer = _fetcher(settings, bootstrap)
    try:
        committed = committed_offsets(settings, admin)
        highs = high_watermarks(consumer, {
            TopicPartition(settings.topic(AGENT_INPUTS[stage]), p): committed[stage][1].get(p, 0)
            for stage in AGENT_INPUTS for p in range(partitions_of(settings, AGENT_INPUTS[stage]))})
    finally:
        consumer.close()
        admin.close()
    return [PartitionLag(stage, committed[stage][0], settings.topic(topic), p, committed[stage][1].get(p, 0),
                         highs[TopicPartition(settings.topic(topic), p)])
            for stage, topic in AGENT_INPUTS.items() for p in range(partitions_of(settings, topic))]


def topic_highs(settings: Settings, bootstrap: str, name: str) -> dict[int, int]:
    """partition -> high watermark of one topic (their sum: records ever written, e.g. dead letters)."""
    consumer = _fetcher(settings, bootstrap)
    try:
        tps = {TopicPartition(settings.topic(name), p): 0 for p in range(partitions_of(settings, name))}
        return {tp.partition: high for tp, high in high_watermarks(consumer, tps).items()}
    finally:
        consumer.close()


def sink_latency(settings: Settings, bootstrap: str, highs: dict[int, int], last: int = 200) -> dict:
    """p50/p99 of produce (ingested_at) -> sink (timings.sink_at) over the last `last` enriched records of
    each partition, in seconds."""
    seconds: list[float] = []
    for partition, high in highs.items():
        for _o, _k, value in read_partition(bootstrap, settings, settings.topic("enriched"), partition,
                                            start=max(0, high - last)):
            record = orjson.loads(value)
            ingested, sunk = parse_time(record.get("ingested_at")), parse_time(record.get("timings", {}).get("sink_at"))
            if ingested and sunk:
                seconds.append((sunk - ingested).total_seconds())
    if not seconds:
        return {"p50": None, "p99": None, "records": 0}
    cuts = statistics.quantiles(seconds, n=100, method="inclusive") if len(seconds) > 1 else seconds * 99
    return {"p50": round(cuts[49], 3), "p99": round(cuts[98], 3), "records": len(seconds)}


def rates(before: Iterable[PartitionLag], after: Iterable[PartitionLag], seconds: float) -> dict[tuple[str, int], float]:
    """Records committed per second per (stage, partition) between two snapshots."""
    old = {(p.stage, p.partition): p.committed for p in before}
    return {(p.stage, p.partition): max(0, p.committed - old.get((p.stage, p.partition), p.committed)) / seconds
            for p in after}


def status_report(settings: Settings, address: str, before: list, after: list, seconds: float) -> dict:
    """What `status --json` prints: per stage its group, lag and rate, and per partition the offsets."""
    per_second = rates(before, after, seconds)
    stages: dict[str, dict] = {}
    for p in after:
        stage = stages.setdefault(p.stage, {"group": p.group, "topic": p.topic, "lag": 0, "records_per_s": 0.0,
                                            "partitions": []})
        rate = round(per_second[(p.stage, p.partition)], 2)
        stage["partitions"].append({"partition": p.partition, "committed": p.committed,
                                    "high_watermark": p.high_watermark, "lag": p.lag, "records_per_s": rate})
        stage["lag"] += p.lag
        stage["records_per_s"] = round(stage["records_per_s"] + rate, 2)
    return {"interval_s": round(seconds, 2), "stages": stages,
            "dead_letters": sum(topic_highs(settings, address, "deadletter").values()),
            "latency_s": sink_latency(settings, address, topic_highs(settings, address, "enriched"))}
