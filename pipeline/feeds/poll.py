"""One poll of one feed: conditional GET, parse, new items by identity, their pages fetched and extracted.
Pure of Kafka: the result says what to send and the state to keep once it is acknowledged. Whatever a site
sends, a poll never raises: a failure is this feed's outcome (state, dead letter, error kind), never the
poller's."""

from __future__ import annotations

import copy
import time
from concurrent.futures import Executor

from .config import FeedSettings
from .fetch import Fetcher, FetchError
from .items import STAGE, PollResult, feed_letter, take_items
from .parse import FeedError, parse_feed
from .politeness import RobotsCache, backoff_delay
from .state import FeedState

__all__ = ["STAGE", "PollResult", "feed_letter", "poll_feed"]
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
               "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")


def poll_feed(state: FeedState, fetcher: Fetcher, robots: RobotsCache, settings: FeedSettings,
              pages: Executor | None = None, now: float | None = None) -> PollResult:
    now = time.time() if now is None else now
    try:
        result = _poll(state, fetcher, robots, settings, pages, now)
    except Exception as exc:   # input nobody foresaw, or a bug: this feed's error, never the whole poller's
        result = _failed(PollResult(state=_fresh(state, now), outcome="failed"), "feed_error",
                         f"{state.url}: {type(exc).__name__}: {exc}", now, settings, False, None)
    if any(kind.endswith("_cancelled") for kind, _ in result.errors):
        result.outcome = "cancelled"   # shutting down: nothing of this poll is kept, the next run does it again
    return result


def _fresh(state: FeedState, now: float) -> FeedState:
    new = copy.deepcopy(state)
    new.__post_init__()
    new.polled_at = now
    return new


def _poll(state: FeedState, fetcher: Fetcher, robots: RobotsCache, settings: FeedSettings,
          pages: Executor | None, now: float) -> PollResult:
    new = _fresh(state, now)
    result = PollResult(state=new, outcome="fetched")
    try:
        allowed = robots.allowed(new.url)
        if allowed:
            fetched = fetcher.get(new.url, settings.max_feed_bytes, new.etag, new.last_modified, accept=FEED_ACCEPT)
    except FetchError as exc:
        return _failed(result, f"feed_{exc.kind}", str(exc), now, settings, exc.transient, exc.retry_after)
    if not allowed:
        result.outcome = "robots_disallowed"
        result.errors.append(("feed_robots", f"{new.url}: disallowed by robots.txt for our User-Agent"))
        new.next_poll_at = now + max(settings.interval, 3600)
        return result
    if fetched.moved_to:  # 301/308 on the same site: the feed lives there now
        new.url = fetched.moved_to
    if fetched.moved_offsite:
        result.errors.append(("feed_moved_offsite", f"{new.url}: permanently redirected to another site "
                              f"({fetched.moved_offsite}); followed this time, the stored URL stays"))
    feed = None
    if fetched.status == 304:
        result.outcome = "not_modified"
    else:
        try:
            feed = parse_feed(fetched.body, fetched.headers.get("content-type", ""), fetched.url)
        except FeedError as exc:
            return _failed(result, exc.kind, str(exc), now, settings, False, None, payload=fetched.body[:100_000])
        if feed.warning:
            kind = "feed_encoding" if "encoding" in feed.warning.lower() else "feed_not_well_formed"
            result.errors.append((kind, f"{new.url}: read despite {feed.warning}"))
        result.errors += [(kind, f"{new.url}: {count} item(s): {kind.replace('_', ' ')}")
                          for kind, count in sorted(feed.notes.items())]
    complete = take_items(feed, new, fetcher, robots, settings, pages, result)
    if fetched.status == 200:
        # an overflow (items past the cap, more waiting items than the state keeps) needs the whole document
        # next time: no validators then, so the next poll is not a 304
        new.etag, new.last_modified = ((fetched.headers.get("etag"), fetched.headers.get("last-modified"))
                                       if complete else (None, None))
    _succeeded(new, now, settings)
    return result


def _succeeded(state: FeedState, now: float, settings: FeedSettings) -> None:
    state.failures, state.last_error = 0, None
    state.next_poll_at = now + settings.interval


def _failed(result: PollResult, kind: str, message: str, now: float, settings: FeedSettings,
            transient: bool, retry_after: float | None, payload: bytes = b"") -> PollResult:
    state = result.state
    result.outcome = "failed"
    result.errors.append((kind, message))
    state.failures += 1
    state.last_error = f"{kind}: {message}"[:500]
    # the server said when (429/503 Retry-After): that, not our own guess, but never past the longest backoff
    wait = (min(retry_after, max(settings.max_backoff, 0.0)) if retry_after is not None
            else backoff_delay(state.failures, settings.interval, settings.max_backoff))
    state.next_poll_at = now + wait
    if not transient:
        result.letters.append(feed_letter(state, kind, message, payload))
    return result
