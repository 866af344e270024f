"""A worker's per-partition state, rebuilt from its log when the partition is assigned: only the window
the state covers is read (the dedup index's retention + grace, the enriched read-back hours), never the
whole history, and every read is bounded by its timeout (pipeline/kafka/io.py)."""

from __future__ import annotations

import time
from typing import Iterable

import orjson

from pipeline.config import Settings
from pipeline.kafka.io import read_partition
from pipeline.kafka.topics import dedup_window, readback_window, story_window
from pipeline.stages.dedup import DedupIndex
from pipeline.stages.stories import StoryIndex


def load_dedup_index(settings: Settings, partition: int, bootstrap: str | None = None) -> DedupIndex:
    """The dedup index of one `languaged` partition, from the last retention + grace of `dedup-index`
    (older entries would be evicted as soon as they were added)."""
    index = DedupIndex(threshold=settings.dedup_threshold, shingle_size=settings.dedup_shingle,
                       retention_seconds=settings.dedup_retention_days * 86400,
                       grace_seconds=settings.dedup_grace_seconds)
    for _offset, _key, value in read_partition(bootstrap or settings.broker, settings, settings.topic("dedup-index"),
                                               partition, since=time.time() - dedup_window(settings)):
        index.add(orjson.loads(value))
    return index


def enriched_ids(settings: Settings, partitions: Iterable[int], bootstrap: str | None = None) -> set[str]:
    """Ids on the enriched partitions over the last NEWSFEED_READBACK_HOURS: a re-delivered record among them
    is not written again. Records are keyed by id: the ~8 kB value is parsed only when a producer left the
    key out."""
    return {key.decode() if key else orjson.loads(value)["id"] for partition in partitions
            for _o, key, value in read_partition(bootstrap or settings.broker, settings, settings.topic("enriched"),
                                                 partition, since=time.time() - readback_window(settings))}


def load_story_index(settings: Settings, bootstrap: str | None = None) -> tuple[StoryIndex, int]:
    """The open stories, replayed from the last `story_window` of `story-log` (one partition); and the number
    of log events read."""
    index, events = StoryIndex(idle_hours=settings.story_idle_hours), 0
    for _offset, _key, value in read_partition(bootstrap or settings.broker, settings, settings.topic("story-log"), 0,
                                               since=time.time() - story_window(settings)):
        index.apply(orjson.loads(value))
        events += 1
    return index, events
