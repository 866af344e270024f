"""Small kafka-python helpers shared by the CLI, the replay producer and state recovery."""

from __future__ import annotations

import time
from typing import Iterator

from kafka import KafkaConsumer, TopicPartition

from .config import Settings


def read_partition(bootstrap: str, settings: Settings, topic: str, partition: int,
                   timeout: float = 60.0) -> Iterator[tuple[int, bytes | None, bytes | None]]:
    """Yield (offset, key, value) for every message of one partition, from the beginning to its end.

    The end is the high watermark that Fetch responses report, never ListOffsets(latest): the
    embedded broker (Tansu) answers that with the last batch's base offset + 1, which would stop a
    reader early and silently lose state. Raises TimeoutError rather than returning a partial read.
    """
    tp = TopicPartition(topic, partition)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             fetch_max_wait_ms=100, **settings.kafka_python_security())
    try:
        consumer.assign([tp])
        consumer.seek(tp, 0)
        deadline = time.monotonic() + timeout
        while True:
            batch = consumer.poll(timeout_ms=200).get(tp, [])
            for message in batch:
                yield message.offset, message.key, message.value
            highwater = consumer.highwater(tp)  # from the last Fetch response
            if highwater is not None and consumer.position(tp) >= highwater:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic}[{partition}] did not reach its high watermark "
                                   f"({highwater}) within {timeout}s; position {consumer.position(tp)}")
    finally:
        consumer.close()
