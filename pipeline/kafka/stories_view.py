"""The stories now, read from the compacted `stories` topic: the latest summary per story id."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson

from pipeline.config import Settings
from pipeline.kafka.io import read_partition
from pipeline.kafka.topics import partitions_of


def current_stories(settings: Settings, address: str, include_closed: bool = False) -> list[dict[str, Any]]:
    """Every story's latest summary, most recently active first (closed ones only when asked)."""
    latest: dict[bytes, dict[str, Any]] = {}
    for partition in range(partitions_of(settings, "stories")):
        for _offset, key, value in read_partition(address, settings, settings.topic("stories"), partition):
            if value is None:   # a tombstone: the story was removed
                latest.pop(key, None)
            else:
                latest[key] = orjson.loads(value)
    # closed: idle for NEWSFEED_STORY_IDLE_HOURS in article time, the story stage's own clock (its newest article)
    newest = max((_when(s["last_seen"]) for s in latest.values()), default=None)
    for story in latest.values():
        story["closed"] = (newest - _when(story["last_seen"])).total_seconds() > settings.story_idle_hours * 3600
    found = [s for s in latest.values() if include_closed or not s["closed"]]
    return sorted(found, key=lambda s: (s["last_seen"], s["articles"]), reverse=True)


def _when(iso: str) -> datetime:
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def age(iso: str, now: datetime | None = None) -> str:
    """'3 min', '5 h', '2 d' since an ISO time."""
    seconds = max(0.0, ((now or datetime.now(timezone.utc)) - _when(iso)).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"
