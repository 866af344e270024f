"""Small kafka-python helpers shared by the CLI, the replay producer and state recovery."""

from __future__ import annotations

import socket
import time
from typing import Callable, Iterator, TypeVar

from kafka import KafkaConsumer, TopicPartition

from pipeline.config import Settings


def read_partition(bootstrap: str, settings: Settings, topic: str, partition: int, timeout: float = 60.0,
                   start: int = 0) -> Iterator[tuple[int, bytes | None, bytes | None]]:
    """Yield (offset, key, value) for every message of one partition, from `start` (the beginning) to its end.

    The end is the high watermark that Fetch responses report, never ListOffsets(latest): the
    embedded broker (Tansu) answers that with the last batch's base offset + 1, which would stop a
    reader early and silently lose state. Raises TimeoutError rather than returning a partial read.
    """
    tp = TopicPartition(topic, partition)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             fetch_max_wait_ms=100, **settings.kafka_python_security())
    try:
        consumer.assign([tp])
        consumer.seek(tp, start)
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


def broker_reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    """True when at least one bootstrap server accepts a TCP connection."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "localhost", int(port)), timeout=timeout):
                return True
        except OSError:
            continue
    return False


T = TypeVar("T")


def with_broker_retry(what: str, fn: Callable[[], T], wait: float, log: Callable[[str], None] = print) -> T:
    """Call fn, retrying with exponential backoff (0.5 s doubling to 8 s) while the broker is unreachable;
    after `wait` seconds give up with a clear error. A BrokerRefused (pipeline/kafka/security.py) is not
    retried: it passes through."""
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError

    deadline, delay = time.monotonic() + wait, 0.5
    while True:
        try:
            return fn()
        except (KafkaConnectionError, KafkaTimeoutError, ConnectionError) as exc:
            if time.monotonic() + delay > deadline:
                raise ConnectionError(f"{what}: broker unreachable for {wait:.0f}s "
                                      f"(NEWSFEED_BROKER_WAIT): {type(exc).__name__}: {exc}") from None
            log(f"{what}: broker unreachable ({type(exc).__name__}); retrying in {delay:.1f}s")
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
