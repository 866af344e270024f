"""Faust's Kafka consumer, patched so that an offset is committed only when every offset before it on its
partition was processed by an agent, or is not in the log at all (control records, compaction).

Faust 0.15.3 can commit past records nobody processed when a rebalance hands partitions back to a worker
that was still delivering (the compose e2e test lost `languaged` offsets 71-73 so; faust-streaming #221,
#312, #606). In faust/transport/consumer.py:
- getmany (l.746-756) stops delivering a fetched batch on a stopped flow or a new generation, not on a seek:
  records fetched before a seek to the committed offsets can be delivered after it (a recovery that
  finishes while the next rebalance has begun also turns the flow back on: tables/recovery.py l.306);
- _drain_messages (l.1208-1215) then takes the jump from its read offset for a gap in the log, and _add_gap
  (l.1157) marks the skipped offsets, and the delivered one, as done; their re-fetch is dropped as already
  read (l.1224, "DROPPED MESSAGE ROFF");
- _new_offset's head check (l.1139, `min(acked) - committed > 1` since the fix of #378) lets the commit pass
  the committed offset when the acked head is one past it, and is skipped while no committed offset is
  known (popped on revoke, l.662, until the next seek);
- a message a stream skips (flow stopped, old generation: streams.py l.1287) is acked like a processed one.

Here the consumer thread stamps every batch with the positions aiokafka read it between and an epoch that
each seek and assignment bumps; records of an older epoch are dropped before delivery (the seek reads them
again); a gap is an offset a batch's own range shows missing; an ack counts only for a message a stream took.
"""

from __future__ import annotations

import itertools
from typing import Any, AsyncIterator, Optional

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer
from faust.types.tuples import ack_lock
from mode.utils.futures import notify


# (topic, partition) -> the offset to start at at the least: another layout's progress (pipeline/kafka/groups.py)
start_floors: dict[tuple[str, int], int] = {}


class Fetched(list):
    """One partition's records from one fetch, with where aiokafka read them: [start, end) holds these records
    and nothing else (start is None when unknown, e.g. after an assignment before the first seek)."""

    def __init__(self, records: list, epoch: int, start: Optional[int], end: Optional[int]):
        super().__init__(records)
        self.epoch, self.start, self.end = epoch, start, end


class NewsfeedConsumerThread(AIOKafkaConsumerThread):
    """The consumer thread: per partition, the epoch and the position the next fetched batch starts at."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._epochs = itertools.count(1)
        self._next: dict[Any, tuple[int, Optional[int]]] = {}   # tp -> (epoch, start of the next batch)
        self._earliest = 0 if self.app.conf.consumer_auto_offset_reset == "earliest" else None

    def epoch(self, tp) -> Optional[int]:
        return self._next.get(tp, (None, None))[0]

    def _moved(self, tp, start: Optional[int]) -> None:
        self._next[tp] = (next(self._epochs), start)

    async def on_partitions_revoked(self, revoked) -> None:
        for tp in list(self._next):   # aiokafka resets positions on the next assignment
            self._moved(tp, None)
        await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned, generation_id: int = 0) -> None:
        self._next = {}
        for tp in assigned:
            self._moved(tp, None)
        await super().on_partitions_assigned(assigned, generation_id)

    async def _fetch_records(self, consumer, active_partitions, timeout=None, max_records=None):
        records = await super()._fetch_records(consumer, active_partitions, timeout=timeout, max_records=max_records)
        # nothing ran in this thread since aiokafka drained them: its positions are where these records end
        stamped = {}
        for tp, batch in records.items():
            epoch, start = self._next.get(tp) or (next(self._epochs), None)
            try:
                end = consumer._subscription._assigned_state(tp).position
            except Exception:   # no longer assigned: the epoch is stale anyway
                end = None
            self._next[tp] = (epoch, end)
            stamped[tp] = Fetched(batch, epoch, start, end)
        return stamped

    async def seek_to_committed(self):
        return await self.call_thread(self._seek_to_committed)

    async def _seek_to_committed(self):
        """aiokafka's seek_to_committed with one OffsetFetch for all partitions (a shorter window for the
        next rebalance to overlap), and a seek for those never committed too: aiokafka leaves them where
        they are, so records fetched and dropped since its own reset would never be read again. No partition
        starts before its `start_floors` entry."""
        consumer = self._ensure_consumer()
        tps = list(consumer.assignment())
        found = await consumer._coordinator.fetch_committed_offsets(tps) if tps else {}
        committed = {}
        for tp in tps:
            meta = found.get(tp)
            committed[tp] = meta.offset if meta is not None and meta.offset >= 0 else None
            floor = start_floors.get((tp.topic, tp.partition))
            if floor is not None and (committed[tp] is None or floor > committed[tp]):
                committed[tp] = floor   # the base of the next commit too
            start = committed[tp] if committed[tp] is not None else self._earliest
            if start is not None and tp in consumer.assignment():
                consumer.seek(tp, start)
                self._moved(tp, start)
        return committed

    async def seek_marked(self, tp, offset: int) -> None:
        await self.call_thread(self._seek_marked, tp, offset)

    async def _seek_marked(self, tp, offset: int) -> None:
        self._ensure_consumer().seek(tp, offset)
        self._moved(tp, offset)

    async def _seek_wait(self, consumer, partitions) -> None:
        for tp, offset in partitions.items():
            self._moved(tp, offset)
        await super()._seek_wait(consumer, partitions)


class NewsfeedConsumer(Consumer):
    """Commits the end of the run of done-or-gap offsets that starts at the committed offset; nothing else."""

    _thread: NewsfeedConsumerThread

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._base: dict[Any, Optional[int]] = {}   # tp -> every offset before it is done (or a gap)
        self._done: dict[Any, set[int]] = {}        # tp -> offsets processed at or after the base
        self._holes: dict[Any, list[tuple[int, int]]] = {}   # tp -> [start, end) ranges not in the log
        self._batch_epoch: dict[Any, Optional[int]] = {}
        super().__init__(*args, **kwargs)

    def _new_consumer_thread(self) -> NewsfeedConsumerThread:
        return NewsfeedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    # --- fetching -------------------------------------------------------------------------------------
    async def _getmany(self, active_partitions, timeout: float):
        records = await super()._getmany(active_partitions, timeout)
        for tp, batch in records.items():
            self._batch_epoch[tp] = getattr(batch, "epoch", None)
            self._note_holes(tp, batch)
        return records

    def _note_holes(self, tp, batch) -> None:
        """Offsets inside the range aiokafka read that it returned no record for are not in the log."""
        start, end = getattr(batch, "start", None), getattr(batch, "end", None)
        expected = start if start is not None else batch[0].offset
        if self._base.get(tp) is None and self._thread.epoch(tp) == getattr(batch, "epoch", None):
            self._base[tp] = expected   # never committed and not sought (auto_offset_reset latest)
        holes = self._holes.setdefault(tp, [])
        for record in batch:
            if record.offset > expected:
                holes.append((expected, record.offset))
            expected = max(expected, record.offset + 1)
        if end is not None and end > expected:
            holes.append((expected, end))

    async def getmany(self, timeout: float) -> AsyncIterator:
        async for tp, message in super().getmany(timeout):
            epoch = self._batch_epoch.get(tp)
            if epoch is not None and epoch != self._thread.epoch(tp):
                continue   # fetched before a later seek of its partition, which reads it again (#221)
            # Faust's drain loop drops what is below its read offset, which a seek or a record delivered
            # across one leaves behind: the epoch check already dropped what is stale
            self._read_offset[tp] = None
            yield tp, message

    async def _add_gap(self, tp, offset_from: int, offset_to: int) -> None:
        """Faust infers gaps from jumps of its read offset, which a stale record fakes: holes come from
        the fetched batches (_note_holes)."""

    # --- seeking ---------------------------------------------------------------------------------------
    async def seek_to_committed(self):
        committed = await super().seek_to_committed()
        for tp in set(self._base) - set(committed):   # not ours any more
            for state in (self._base, self._done, self._holes):
                state.pop(tp, None)
        for tp, offset in committed.items():
            self._restart(tp, offset if offset is not None else self._thread._earliest)
        return committed

    async def _seek(self, partition, offset: int) -> None:
        await self._thread.seek_marked(partition, offset)
        self._restart(partition, offset)

    def _restart(self, tp, base: Optional[int]) -> None:
        self._base[tp] = base
        if base is not None:
            self._done[tp] = {o for o in self._done.get(tp, ()) if o >= base}
            self._holes[tp] = [(s, e) for s, e in self._holes.get(tp, ()) if e > base]

    # --- acking and committing -------------------------------------------------------------------------
    def ack(self, message) -> bool:
        with ack_lock:
            if message.acked:
                return False
            message.acked = True
            if not self.app.topics.acks_enabled_for(message.topic):
                return False
            self._unacked_messages.discard(message)
            try:
                base = self._base.get(message.tp)
                if self._processed(message) and (base is None or message.offset >= base):
                    self._done.setdefault(message.tp, set()).add(message.offset)
                    self._n_acked += 1
                    return True
                return False
            finally:
                notify(self._waiting_for_ack)

    def _processed(self, message) -> bool:
        """A stream took it (streams.py sets `tracked` only for messages it does not skip), or it failed to
        decode on the current flow (the conductor acks those)."""
        return message.tracked or (self.app.flow_control.is_active()
                                   and message.generation_id == self.app.consumer_generation_id)

    def _filter_tps_with_pending_acks(self, topics=None):
        pending = set(self._done) | set(self._holes)
        return (tp for tp in pending if topics is None or tp in topics or tp.topic in topics)

    def _new_offset(self, tp) -> Optional[int]:
        """The end of the run of done or missing offsets that starts at the base (None: nothing new)."""
        base = self._base.get(tp)
        if base is None:
            return None
        done, holes = self._done.get(tp, set()), self._holes.get(tp, [])
        n = base
        while True:
            if n in done:
                n += 1
                continue
            ends = [e for s, e in holes if s <= n < e]
            if not ends:
                break
            n = max(ends)
        if n == base:
            return None
        self._restart(tp, n)
        return n


def install_consumer(app) -> None:
    """Make the app's transport create the consumer above (before the app creates its consumer), and its
    streams ack through Consumer.ack: Faust's Cython stream iterator (faust/_cython/streams.pyx,
    StreamIterator.after) writes Faust's ack lists itself, so the acks would never reach this consumer."""
    import faust.streams

    faust.streams._CStreamIterator = None
    app.transport.Consumer = NewsfeedConsumer
