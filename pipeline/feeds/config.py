"""The poller's settings, from NEWSFEED_FEEDS_* variables (the README's configuration table lists them)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pipeline import __version__


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _shard(raw: str) -> tuple[int, int]:
    """'i/n' -> (i, n): this poller owns the state partitions p with p % n == i."""
    try:
        index, count = (int(x) for x in raw.split("/"))
    except ValueError:
        raise ValueError(f"NEWSFEED_FEEDS_SHARD: expected i/n such as 0/2, got {raw!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"NEWSFEED_FEEDS_SHARD: need 0 <= i < n, got {raw!r}")
    return index, count


@dataclass(frozen=True)
class FeedSettings:
    interval: float = field(default_factory=lambda: float(_env("NEWSFEED_FEEDS_INTERVAL", "900")))
    user_agent: str = field(default_factory=lambda: _env(
        "NEWSFEED_FEEDS_USER_AGENT", f"newsfeed/{__version__} (+https://newsfeed.example/bot; feed poller)"))
    timeout: float = field(default_factory=lambda: float(_env("NEWSFEED_FEEDS_TIMEOUT", "20")))
    max_feed_bytes: int = field(default_factory=lambda: int(_env("NEWSFEED_FEEDS_MAX_FEED_BYTES", str(5 * 2**20))))
    max_page_bytes: int = field(default_factory=lambda: int(_env("NEWSFEED_FEEDS_MAX_PAGE_BYTES", str(5 * 2**20))))
    max_redirects: int = field(default_factory=lambda: int(_env("NEWSFEED_FEEDS_MAX_REDIRECTS", "5")))
    per_host: int = field(default_factory=lambda: int(_env("NEWSFEED_FEEDS_PER_HOST", "2")))
    host_interval: float = field(default_factory=lambda: float(_env("NEWSFEED_FEEDS_HOST_INTERVAL", "1.0")))
    concurrency: int = field(default_factory=lambda: int(_env("NEWSFEED_FEEDS_CONCURRENCY", "8")))
    # below this many characters the page extraction is not trusted and the feed's own content is used
    min_text: int = field(default_factory=lambda: int(_env("NEWSFEED_FEEDS_MIN_TEXT", "200")))
    max_backoff: float = field(default_factory=lambda: float(_env("NEWSFEED_FEEDS_MAX_BACKOFF", "21600")))
    max_items: int = field(default_factory=lambda: int(_env("NEWSFEED_FEEDS_MAX_ITEMS", "200")))
    seen_keep: int = field(default_factory=lambda: int(_env("NEWSFEED_FEEDS_SEEN_KEEP", "2000")))
    shard: tuple[int, int] = field(default_factory=lambda: _shard(_env("NEWSFEED_FEEDS_SHARD", "0/1")))
    http_port: int = field(default_factory=lambda: int(_env("NEWSFEED_FEEDS_HTTP_PORT", "6067")))
    # a one-shot run (--once, `newsfeed run URL`) counts a feed due this many seconds before its time: cron
    # starts a little early or late, and a run a second early would otherwise skip every feed until the next
    due_slack: float = field(default_factory=lambda: float(_env("NEWSFEED_FEEDS_DUE_SLACK", "30")))
    # egress: internal addresses (loopback, private, link-local...) are refused unless allowed here
    allow_private: bool = field(default_factory=lambda: _env("NEWSFEED_FEEDS_ALLOW_PRIVATE", "0") not in ("0", "false", "no"))
    allow_networks: str = field(default_factory=lambda: _env("NEWSFEED_FEEDS_ALLOW_NETWORKS", ""))
    # a page that keeps failing for a transient reason is tried at this many polls, then given up
    page_retries: int = field(default_factory=lambda: int(_env("NEWSFEED_FEEDS_PAGE_RETRIES", "3")))
    # a record larger than this (the pipeline's message limit) has its text truncated to fit
    max_record_bytes: int = field(default_factory=lambda: int(_env("NEWSFEED_MAX_MESSAGE_BYTES", str(2 * 1024 * 1024))))
    fetch_pages: bool = field(default_factory=lambda: _env("NEWSFEED_FEEDS_FETCH_PAGES", "1") not in ("0", "false", "no"))


    def egress_policy(self):
        from .egress import EgressPolicy

        return EgressPolicy.from_text(self.allow_private, self.allow_networks)


ENV_VARS = {f: f"NEWSFEED_FEEDS_{f.upper()}" for f in FeedSettings.__dataclass_fields__ if f != "max_record_bytes"}
ENV_VARS["max_record_bytes"] = "NEWSFEED_MAX_MESSAGE_BYTES"
