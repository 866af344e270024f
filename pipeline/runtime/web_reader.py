"""The readers behind `newsfeed web`: one consumer in its own group on the `stories`, `enriched` and
`deadletter` topics, and the pipeline status (`newsfeed status`'s report) every few seconds; both feed a
NewsState. Read-only: the group never commits, so each start reads the look-back again.

Look-back: the compacted `stories` topic is read whole (one summary per story; the state keeps the open
ones); `enriched` and `deadletter` from `look_back` records before each partition's end. The end comes from
ListOffsets, which the embedded broker answers short by up to one batch: the page then reads a batch more.
"""

from __future__ import annotations

import logging
import threading
import time

import orjson
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from pipeline.config import Settings

from .web_state import NewsState

log = logging.getLogger("newsfeed.web")


class _Assigned(ConsumerRebalanceListener):
    """Notes new partitions; the read loop seeks them (a listener runs on kafka-python's IO thread, which
    may not block on ListOffsets)."""

    def __init__(self) -> None:
        self.pending: set[TopicPartition] = set()

    def on_partitions_revoked(self, revoked) -> None:
        pass

    def on_partitions_assigned(self, assigned) -> None:
        self.pending |= set(assigned)


class NewsReader:
    """Threads reading the broker into `state` until stop()."""

    def __init__(self, settings: Settings, address: str, state: NewsState, group: str, look_back: int,
                 status_interval: float = 5.0):
        self.settings, self.address, self.state = settings, address, state
        self.group, self.look_back, self.status_interval = group, look_back, status_interval
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._guard, args=(self._read,), name="web-read", daemon=True),
                         threading.Thread(target=self._guard, args=(self._status,), name="web-status", daemon=True)]

    def start(self) -> "NewsReader":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _guard(self, loop) -> None:
        """A failure is kept for /health and logged loudly; the server reports it instead of going stale."""
        try:
            loop()
        except BaseException as exc:  # noqa: BLE001 - reported, never swallowed
            self.error = exc
            log.exception("newsfeed web: %s stopped", loop.__name__.strip("_"))

    def _read(self) -> None:
        topics = {self.settings.topic(name): name for name in ("stories", "enriched", "deadletter")}
        consumer = KafkaConsumer(bootstrap_servers=self.address, group_id=self.group, enable_auto_commit=False,
                                 auto_offset_reset="earliest", fetch_max_wait_ms=200,
                                 **self.settings.kafka_python_security())
        assigned = _Assigned()
        consumer.subscribe(list(topics), listener=assigned)
        handlers = {"stories": self._story, "enriched": self._article, "deadletter": self._letter}
        try:
            while not self._stop.is_set():
                batches = consumer.poll(timeout_ms=500)
                if assigned.pending:   # fetched before the seek: dropped, read again from the look-back
                    new, assigned.pending = assigned.pending, set()
                    self._seek_look_back(consumer, new)
                    batches = {tp: batch for tp, batch in batches.items() if tp not in new}
                for tp, batch in batches.items():
                    handle = handlers[topics[tp.topic]]
                    for message in batch:
                        handle(message.key, message.value)
        finally:
            consumer.close(autocommit=False)

    def _seek_look_back(self, consumer: KafkaConsumer, partitions: set[TopicPartition]) -> None:
        stories = [tp for tp in partitions if tp.topic == self.settings.topic("stories")]
        recent = [tp for tp in partitions if tp not in stories]
        if stories:
            consumer.seek_to_beginning(*stories)
        for tp, end in (consumer.end_offsets(recent) if recent else {}).items():
            consumer.seek(tp, max(0, end - self.look_back))

    def _story(self, key: bytes | None, value: bytes | None) -> None:
        if key is not None:
            self.state.add_story(key.decode("utf-8", "replace"), None if value is None else orjson.loads(value))

    def _article(self, _key, value: bytes | None) -> None:
        if value is not None:
            self.state.add_article(orjson.loads(value))

    def _letter(self, _key, value: bytes | None) -> None:
        if value is not None:
            self.state.add_dead_letter(orjson.loads(value))

    def _status(self) -> None:
        from pipeline.kafka.lag import snapshot, status_report

        before, taken = None, 0.0
        while not self._stop.is_set():
            try:   # a broker hiccup shows on the page as the status' error, and the next read tries again
                after, now = snapshot(self.settings, self.address), time.monotonic()
                if before is not None:
                    self.state.set_status(status_report(self.settings, self.address, before, after, now - taken))
                before, taken = after, now
            except Exception as exc:  # noqa: BLE001 - shown on the page and logged
                log.warning("newsfeed web: status read failed: %s", exc)
                self.state.set_status({**self.state.status, "error": f"{type(exc).__name__}: {exc}"})
            self._stop.wait(self.status_interval)

