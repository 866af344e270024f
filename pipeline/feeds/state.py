"""What the poller remembers per feed (kept in the compacted feed-state topic, keyed by the feed's URL as the
user named it): validators for conditional GET, when to poll next, the keys of the items already sent."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class FeedState:
    feed: str                          # the URL as configured: the state's key
    url: str = ""                      # where it is fetched now (a permanent redirect moves it)
    etag: str | None = None
    last_modified: str | None = None
    polled_at: float = 0.0             # Unix time of the last poll attempt
    next_poll_at: float = 0.0          # no poll before this (interval, backoff or Retry-After)
    failures: int = 0                  # consecutive failed polls (exponential backoff)
    last_error: str | None = None
    seen: list[str] = field(default_factory=list)   # item keys (urls.item_keys), oldest first
    # items whose page failed for a transient reason, kept with their attempts so that they are retried at the
    # next poll even when the feed answers 304 (conditional GET stays on), and given up after the retry cap
    pending: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self):
        self.url = self.url or self.feed
        self._seen_set = set(self.seen)

    def due_at(self, interval: float, slack: float = 0.0) -> float:
        """When the next poll is due: the stored time, or sooner when the poll interval was shortened since
        (`--interval`), `slack` seconds earlier still; after a failure the backoff or the server's Retry-After
        stands, to the second."""
        if self.failures:
            return self.next_poll_at
        return min(self.next_poll_at, self.polled_at + interval) - slack

    def has_seen(self, keys: list[str]) -> bool:
        return any(k in self._seen_set for k in keys)

    def remember(self, keys: list[str], keep: int) -> None:
        for key in keys:
            if key not in self._seen_set:
                self._seen_set.add(key)
                self.seen.append(key)
        if len(self.seen) > keep:  # the oldest keys go: items that old have long left the feed
            for key in self.seen[:len(self.seen) - keep]:
                self._seen_set.discard(key)
            del self.seen[:len(self.seen) - keep]

    def to_dict(self) -> dict[str, Any]:
        return {"schema": 1, **asdict(self)}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> "FeedState":
        known = {k: value[k] for k in cls.__dataclass_fields__ if k in value}
        return cls(**known)
