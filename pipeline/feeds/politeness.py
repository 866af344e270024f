"""Being a good client: backoff after errors, Retry-After, one gate per host, robots.txt."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable, Iterator


def backoff_delay(failures: int, interval: float, max_delay: float) -> float:
    """Seconds to wait after `failures` consecutive failures of a feed: the poll interval doubled per failure
    (a minute at least, so a zero interval does not hammer a broken server), at most `max_delay`."""
    if failures <= 0:
        return interval
    return min(max(interval, 60.0) * 2 ** (failures - 1), max(max_delay, interval))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class HostGate:
    """At most `per_host` requests in flight to one host, and `min_interval` seconds between their starts."""

    def __init__(self, per_host: int, min_interval: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.per_host, self.min_interval = max(1, per_host), min_interval
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self._lock:
            sem = self._slots.setdefault(host, threading.Semaphore(self.per_host))
        with sem:
            with self._lock:  # reserve a start time, then wait for it outside the lock
                start = max(self.clock(), self._next_start.get(host, 0.0))
                self._next_start[host] = start + self.min_interval
            delay = start - self.clock()
            if delay > 0:
                self.sleep(delay)
            yield


class RobotsCache:
    """robots.txt per host (protego, which follows RFC 9309), fetched once and kept for `ttl` seconds.
    `fetch(url)` returns (status, body) or raises OSError. 4xx: everything allowed; 5xx or unreachable: nothing
    allowed for now (RFC 9309 §2.3.1.4), asked again after `retry` seconds."""

    def __init__(self, fetch: Callable[[str], tuple[int, bytes]], user_agent: str, ttl: float = 3600,
                 retry: float = 300, clock: Callable[[], float] = time.monotonic):
        self.fetch, self.agent, self.ttl, self.retry, self.clock = fetch, user_agent.split("/")[0], ttl, retry, clock
        self._lock = threading.Lock()
        self._rules: dict[str, tuple[float, object]] = {}

    def allowed(self, url: str) -> bool:
        from pipeline.feeds.urls import host_of

        host = host_of(url)
        with self._lock:
            cached = self._rules.get(host)
        if cached is None or cached[0] < self.clock():
            cached = self._load(host)
            with self._lock:
                self._rules[host] = cached
        rules = cached[1]
        if isinstance(rules, bool):
            return rules
        return rules.can_fetch(url, self.agent)

    def _load(self, host: str) -> tuple[float, object]:
        from protego import Protego

        try:
            status, body = self.fetch(f"{host}/robots.txt")
        except OSError:
            return self.clock() + self.retry, False
        if status >= 500:
            return self.clock() + self.retry, False
        if status >= 400:
            return self.clock() + self.ttl, True
        return self.clock() + self.ttl, Protego.parse(body.decode("utf-8", errors="replace"))


def utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
