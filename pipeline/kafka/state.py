"""A worker's per-partition state, rebuilt from its log when the partition is assigned: only the window
the state covers is read (the dedup index's retention + grace, the enriched read-back hours), never the
whole history, and every read is bounded by its timeout (pipeline/kafka/io.py).

What a dedup index rebuild reads: the newest complete snapshot of the partition on `dedup-snapshot` (its
last record, then that snapshot's chunks: ~600 bytes an indexed article, pipeline/kafka/snapshots.py) and
the `dedup-index` entries from the offset the snapshot covers to the Fetch high watermark (at most
NEWSFEED_DEDUP_SNAPSHOT_ENTRIES or a few hours of entries, when the owner cut snapshots as it should).
With no usable snapshot (none yet, older than the window, another format), it reads the `dedup-index`
records of the last retention + grace, as before snapshots existed.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson

from pipeline.config import Settings
from pipeline.kafka.io import read_partition
from pipeline.kafka.snapshots import latest_snapshot
from pipeline.kafka.topics import dedup_window, partitions_of, readback_window, story_window
from pipeline.stages.dedup import snapshot as dedup_snapshot
from pipeline.stages.dedup.index import DedupIndex
from pipeline.stages.places.source_home import SourceHomes
from pipeline.stages.stories.index import StoryIndex


log = logging.getLogger("newsfeed.state")


@dataclass
class RebuiltIndex:
    index: DedupIndex
    end: int                     # the dedup-index offset the read stopped at: where the next entry lands
    read: int                    # entries read from dedup-index (the tail after the snapshot, or the window)
    snapshot_covers: int | None  # the restored snapshot's dedup-index offset (None: no snapshot used)
    snapshot_at: float | None    # and when it was cut

    def describe(self) -> str:
        if self.snapshot_covers is None:
            return f"{len(self.index)} entries from the {self.read} dedup-index records of its window (no snapshot)"
        return (f"{len(self.index)} entries: snapshot covering dedup-index offset {self.snapshot_covers} + "
                f"{self.read} entries after it")


def empty_dedup_index(settings: Settings) -> DedupIndex:
    return DedupIndex(threshold=settings.dedup_threshold, shingle_size=settings.dedup_shingle,
                      retention_seconds=settings.dedup_retention_days * 86400,
                      grace_seconds=settings.dedup_grace_seconds)


def load_dedup_index(settings: Settings, partition: int, bootstrap: str | None = None,
                     use_snapshot: bool = True, timeout: float = 60.0) -> RebuiltIndex:
    """The dedup index of one `languaged` partition: its newest complete snapshot plus the dedup-index
    entries after the offset it covers; without one, the last retention + grace of `dedup-index` (older
    entries would be evicted as soon as they were added). Either way the same index (tests/test_dedup_snapshot.py)."""
    address, index = bootstrap or settings.broker, empty_dedup_index(settings)
    window_start = time.time() - dedup_window(settings)
    snapshot = latest_snapshot(address, settings, partition, timeout) if use_snapshot else None
    if snapshot is not None and snapshot.taken_at < window_start:
        snapshot = None    # every entry it holds is out of the window: the window alone is less to read
    if snapshot is not None:
        try:
            dedup_snapshot.restore(snapshot.blob, index)
        except ValueError as exc:   # another format or signature algorithm: the log it is
            log.warning("dedup snapshot of partition %s not used: %s", partition, exc)
            snapshot, index = None, empty_dedup_index(settings)
    where = {"since": window_start} if snapshot is None else {"start": snapshot.covers}
    end, read = {}, 0
    for _offset, _key, value in read_partition(address, settings, settings.topic("dedup-index"), partition,
                                               timeout=timeout, end=end, **where):
        index.add(orjson.loads(value))
        read += 1
    return RebuiltIndex(index, end["offset"], read, snapshot and snapshot.covers, snapshot and snapshot.taken_at)


def _read_back(settings: Settings, kind: str, bootstrap: str | None = None):
    """(key, value) of every record on an output topic over the last NEWSFEED_READBACK_HOURS, every partition."""
    since = time.time() - readback_window(settings)
    for partition in range(partitions_of(settings, kind)):
        for _offset, key, value in read_partition(bootstrap or settings.broker, settings, settings.topic(kind),
                                                  partition, since=since):
            yield key, value


def written_ids(settings: Settings, kind: str, bootstrap: str | None = None) -> set[str]:
    """Ids on an output topic (`enriched`, `duplicates`) over the read-back window: a re-delivered record among
    them is not written again. Records are keyed by id: the ~8 kB value is parsed only when a producer left the
    key out."""
    return {key.decode() if key else orjson.loads(value)["id"] for key, value in _read_back(settings, kind, bootstrap)}


def dead_lettered_inputs(settings: Settings, bootstrap: str | None = None) -> set[tuple[str, str, int, int]]:
    """(stage, topic, partition, offset) of every input dead-lettered over the read-back window: an input read
    again after a crash, and failing again, is not dead-lettered twice. By the input's place, not its key: two
    different bad messages under one key are two dead letters."""
    found = set()
    for _key, value in _read_back(settings, "deadletter", bootstrap):
        letter = orjson.loads(value)
        source = letter.get("source") or {}
        found.add((letter.get("stage"), source.get("topic"), source.get("partition"), source.get("offset")))
    return found


def load_story_index(settings: Settings, bootstrap: str | None = None) -> tuple[StoryIndex, int]:
    """The open stories, replayed from the last `story_window` of `story-log` (one partition); and the number
    of log events read."""
    index, events = StoryIndex(idle_hours=settings.story_idle_hours), 0
    for _offset, _key, value in read_partition(bootstrap or settings.broker, settings, settings.topic("story-log"), 0,
                                               since=time.time() - story_window(settings)):
        index.apply(orjson.loads(value))
        events += 1
    return index, events


def load_source_homes(settings: Settings, homes: SourceHomes, bootstrap: str | None = None) -> int:
    """The sources' homes learned again from the enriched records of the read-back window (every partition):
    the places each article decided; returns the number of records read. The partitions are read side by
    side (a read mostly waits on the broker, and a worker's start waits for this); learning only adds to
    counters, so the order does not matter."""
    since = time.time() - readback_window(settings)

    def read(partition: int) -> int:
        read = 0
        for _offset, _key, value in read_partition(bootstrap or settings.broker, settings, settings.topic("enriched"),
                                                   partition, since=since):
            homes.learn_record(orjson.loads(value))
            read += 1
        return read

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="homes") as pool:
        return sum(pool.map(read, range(partitions_of(settings, "enriched"))))
