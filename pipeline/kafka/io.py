"""Small kafka-python helpers shared by the CLI, the replay producer and state recovery."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from typing import Callable, Iterator, TypeVar

from kafka import KafkaConsumer, TopicPartition

from pipeline.config import Settings


_END = object()


def read_partition(bootstrap: str, settings: Settings, topic: str, partition: int, timeout: float = 60.0,
                   start: int = 0, since: float | None = None, last: int | None = None, until: int | None = None,
                   fetch_bytes: int = 1 << 20, end: dict | None = None
                   ) -> Iterator[tuple[int, bytes | None, bytes | None]]:
    """Yield (offset, key, value) for every message of one partition, from `start` (the beginning), from
    the first record stamped at or after `since` (a UNIX time) or from the `last` records before the end,
    to its end (or to offset `until`, exclusive). `end`, when given, receives the offset the read stopped
    at ("offset"): the next record's, so a reader knows where the log stood even when it read nothing.
    `fetch_bytes`: at most this much per fetch (and at least one record); more for big records.

    The end is the high watermark that Fetch responses report, never ListOffsets(latest): the
    embedded broker (Tansu) answers that with the last batch's base offset + 1, which would stop a
    reader early and silently lose state. ListOffsets by timestamp is not used either (Tansu answers
    offset 0 whatever the time): `since` is found by a binary search on the records' own timestamps.

    The whole read is bounded by `timeout`: kafka-python runs in a thread and this generator raises
    TimeoutError when it has not finished in time (kafka-python's poll can hang past its own timeout while
    partition leaders move, dpkp/kafka-python#3121), never returning a partial read.
    """
    batches: queue.Queue = queue.Queue(maxsize=8)   # bounded: the fetcher waits for us, memory stays small
    stop, progress = threading.Event(), {"position": start, "highwater": None}

    def put(item) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                batches.put(item, timeout=0.2)
                return

    def fetch() -> None:
        consumer = None
        try:
            tp = TopicPartition(topic, partition)
            consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                     fetch_max_wait_ms=100, auto_offset_reset="earliest",
                                     max_partition_fetch_bytes=fetch_bytes, fetch_max_bytes=max(fetch_bytes, 50 << 20),
                                     **settings.kafka_python_security())
            consumer.assign([tp])
            if last is not None:
                first = max(start, _highwater(consumer, tp, start, stop) - last)
            else:
                first = start if since is None else _first_since(consumer, tp, start, since, stop)
            consumer.seek(tp, first)
            while not stop.is_set():
                batch = consumer.poll(timeout_ms=200).get(tp, [])
                if batch:
                    put([(m.offset, m.key, m.value) for m in batch if until is None or m.offset < until])
                progress.update(position=consumer.position(tp), highwater=consumer.highwater(tp))
                stop_at = progress["highwater"] if until is None or progress["highwater"] is None \
                    else min(progress["highwater"], until)
                if stop_at is not None and progress["position"] >= stop_at:
                    if end is not None:
                        end["offset"] = progress["position"] if until is None else min(progress["position"], until)
                    put(_END)
                    return
        except BaseException as exc:  # handed to the reader, raised there
            put(exc)
        finally:
            if consumer is not None:
                consumer.close()

    threading.Thread(target=fetch, name=f"read {topic}[{partition}]", daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                item = batches.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"reading {topic}[{partition}] did not reach its high watermark "
                                   f"({progress['highwater']}) within {timeout:.0f}s; position "
                                   f"{progress['position']} (a broker not answering, or leaders moving)") from None
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()   # a hung kafka-python call is left behind in its daemon thread; it closes when it returns


def _first_since(consumer: KafkaConsumer, tp: TopicPartition, low: int, since: float,
                 stop: threading.Event) -> int:
    """The first offset at or after `low` whose record is stamped at or after `since`, by a binary search over
    single-record fetches (about log2(n) round trips): timestamps grow along a partition, give or take the
    producers' clock skew, which the caller's window leaves room for."""
    target = int(since * 1000)
    high = _highwater(consumer, tp, low, stop)
    while low < high and not stop.is_set():
        middle = (low + high) // 2
        found = _record_at(consumer, tp, middle, stop)
        if found is None:            # nothing readable from there on
            high = middle
        elif found[1] < target:
            low = found[0] + 1
        else:
            high = middle
    return low


def _highwater(consumer: KafkaConsumer, tp: TopicPartition, low: int, stop: threading.Event) -> int:
    """The high watermark as a Fetch response reports it."""
    consumer.seek(tp, low)
    while not stop.is_set():
        consumer.poll(timeout_ms=200, max_records=1)
        if consumer.highwater(tp) is not None:
            return consumer.highwater(tp)
    return low


def _record_at(consumer: KafkaConsumer, tp: TopicPartition, offset: int,
               stop: threading.Event) -> tuple[int, int] | None:
    """(offset, timestamp ms) of the first record at or after `offset`, or None past the end."""
    consumer.seek(tp, offset)
    while not stop.is_set():
        records = consumer.poll(timeout_ms=200, max_records=1).get(tp, [])
        if records:
            return records[0].offset, records[0].timestamp
        highwater = consumer.highwater(tp)
        if highwater is not None and consumer.position(tp) >= highwater:
            return None
    return None


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
    """Call fn, retrying with exponential backoff (0.5 s doubling to 8 s) while the broker is unreachable or
    does not answer in time (a read_partition that timed out: a broker coming back can accept connections
    before it answers); after `wait` seconds give up with a clear error. A BrokerRefused
    (pipeline/kafka/security.py) is not retried: it passes through."""
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError

    deadline, delay = time.monotonic() + wait, 0.5
    while True:
        try:
            return fn()
        except (KafkaConnectionError, KafkaTimeoutError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() + delay > deadline:
                raise ConnectionError(f"{what}: broker unreachable for {wait:.0f}s "
                                      f"(NEWSFEED_BROKER_WAIT): {type(exc).__name__}: {exc}") from None
            log(f"{what}: broker unreachable ({type(exc).__name__}); retrying in {delay:.1f}s")
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
