"""Cutting snapshots of a dedup index while its agent runs (workers/dedup.py), so the next owner of the
partition rebuilds from a snapshot and a short tail of `dedup-index` (pipeline/kafka/state.py).

A snapshot must hold exactly the `dedup-index` entries before the offset it names. The index holds what
the rebuild read (up to offset `end`) plus every entry this process sent since; so before cutting, all
those sends are awaited, and the cut is made only when they landed at exactly end, end+1, ... (nothing
failed, nobody else wrote to the partition meanwhile). The index is encoded while the agent waits (it is
the only writer of the index), then the chunks are written in the background, in order, each acknowledged.
A failed or interrupted write leaves a partial run that readers skip (pipeline/kafka/snapshots.py): a
snapshot saves rebuild time and never decides a verdict.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable

from pipeline.kafka.snapshots import chunk_records
from pipeline.kafka.state import RebuiltIndex
from pipeline.kafka.topics import SNAPSHOT_IDLE_AGE, SNAPSHOT_MAX_AGE
from pipeline.stages.dedup import snapshot as dedup_snapshot

log = logging.getLogger("newsfeed.dedup")

Send = Callable[[bytes, bytes], Awaitable[object]]   # (key, value) to this partition of dedup-snapshot, acked


class DedupPartition:
    """One owned partition's index, and what its snapshots cover."""

    def __init__(self, partition: int, rebuilt: RebuiltIndex, every: int) -> None:
        self.partition, self.index, self.every = partition, rebuilt.index, every
        self.end, self.sent, self.acked, self.highest = rebuilt.end, 0, 0, rebuilt.end - 1
        self.pending: set[asyncio.Future] = set()
        self.broken: str | None = None           # why no snapshot can be cut until the next rebuild
        # entries in dedup-index no snapshot covers yet, and when the newest snapshot was cut
        self.uncovered = rebuilt.read if rebuilt.snapshot_covers is not None else len(rebuilt.index)
        self.last_cut = rebuilt.snapshot_at or time.time()   # no snapshot yet: the age counts from the rebuild
        self.lock = asyncio.Lock()                # held while the agent changes the index, and while encoding
        self.writing: asyncio.Task | None = None

    def logged(self, future: asyncio.Future) -> None:
        """The agent sent one more entry to this partition of dedup-index (the send's future)."""
        self.sent += 1
        self.uncovered += 1
        self.pending.add(future)
        future.add_done_callback(self._acked)

    def _acked(self, future: asyncio.Future) -> None:
        self.pending.discard(future)
        if future.cancelled() or future.exception() is not None:
            self.broken = f"a dedup-index send failed ({future.exception() if not future.cancelled() else 'cancelled'})"
            return
        self.acked += 1
        self.highest = max(self.highest, future.result().offset)

    def due(self, now: float) -> bool:
        if not self.every or self.broken or (self.writing is not None and not self.writing.done()):
            return False
        age = now - self.last_cut
        return (self.uncovered >= self.every or (self.uncovered > 0 and age >= SNAPSHOT_MAX_AGE)
                or age >= SNAPSHOT_IDLE_AGE)

    async def cut_if_due(self, send: Send, in_thread: Callable[..., Awaitable[bytes]]) -> None:
        if not self.due(time.time()):
            return
        async with self.lock:
            if self.pending and (await asyncio.wait(set(self.pending), timeout=30))[1]:
                return   # sends still unacknowledged (a broker away): try again later
            covers = self.end + self.sent
            if self.broken is None and (self.acked != self.sent or self.highest != covers - 1):
                self.broken = (f"dedup-index[{self.partition}] has records this process did not write: its "
                               f"{self.sent} entries since offset {self.end} end at {self.highest}")
            if self.broken:
                log.warning("no dedup snapshot of partition %s until its next rebuild: %s", self.partition, self.broken)
                return
            taken_at, covering, entries = time.time(), self.uncovered, len(self.index)
            blob = await in_thread(dedup_snapshot.encode, self.index)
        self.writing = asyncio.ensure_future(self._write(send, blob, covers, taken_at, (covering, entries)))

    async def _write(self, send: Send, blob: bytes, covers: int, taken_at: float, counts: tuple[int, int]) -> None:
        started = time.monotonic()
        records = chunk_records(blob, covers, taken_at)
        try:
            for key, value in records:
                await send(key, value)
        except Exception as exc:   # the next cut tries again; readers skip the partial run
            log.warning("dedup snapshot of partition %s not written: %s: %s", self.partition, type(exc).__name__, exc)
            return
        self.uncovered -= counts[0]
        self.last_cut = taken_at
        log.info("dedup snapshot of partition %s written: %s entries covering dedup-index offset %s, %.1f MB in "
                 "%s chunks, %.1fs", self.partition, counts[1], covers, len(blob) / 1e6, len(records),
                 time.monotonic() - started)
