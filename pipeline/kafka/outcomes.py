"""Reading what came out of the pipeline: which replayed articles reached enriched, duplicates or dead letter."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson
from kafka import KafkaConsumer, TopicPartition

from pipeline.config import Settings

OUTPUT_TOPICS = ("enriched", "duplicates", "deadletter")


def outcome_key(kind: str, record: dict[str, Any]) -> str | None:
    """The replay key an output record answers for (dead letters name it by id or by source key)."""
    if kind == "deadletter":
        return record.get("id") or record.get("source", {}).get("key")
    return record.get("id")


@dataclass
class Outcomes:
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {k: {} for k in OUTPUT_TOPICS})
    copies: dict[str, int] = field(default_factory=lambda: {k: 0 for k in OUTPUT_TOPICS})
    arrived_ms: dict[str, int] = field(default_factory=dict)   # key -> output message timestamp (ms)

    def add(self, kind: str, record: dict[str, Any], timestamp_ms: int | None = None) -> None:
        key = outcome_key(kind, record)
        if key is None:
            return
        if key in self.records[kind]:
            self.copies[kind] += 1
        self.records[kind][key] = record
        if timestamp_ms is not None:
            self.arrived_ms.setdefault(key, timestamp_ms)

    def seen(self) -> set[str]:
        return set().union(*(set(r) for r in self.records.values()))


def collect(bootstrap: str, settings: Settings, expected: set[str], timeout: float,
            alive: Callable[[], bool] = lambda: True, poll_s: float = 0.5) -> Outcomes:
    """Read the output topics from the beginning until every expected key has an outcome.
    Raises TimeoutError naming what is missing, or RuntimeError when `alive()` turns false."""
    topics = {settings.topic(k): k for k in OUTPUT_TOPICS}
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             fetch_max_wait_ms=200, **settings.kafka_python_security())
    outcomes = Outcomes()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(settings.partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        while not expected <= outcomes.seen():
            for tp, messages in consumer.poll(timeout_ms=int(poll_s * 1000)).items():
                for message in messages:
                    outcomes.add(topics[tp.topic], orjson.loads(message.value), message.timestamp)
            if time.monotonic() > deadline:
                missing = sorted(expected - outcomes.seen())
                raise TimeoutError(f"{len(missing)} article(s) had no outcome after {timeout:.0f}s: {missing[:10]}")
            if not alive():
                raise RuntimeError("the worker exited before every article had an outcome")
        return outcomes
    finally:
        consumer.close()
