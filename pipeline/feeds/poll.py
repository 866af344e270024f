"""One poll of one feed: conditional GET, parse, new items by identity, their pages fetched and extracted.
Pure of Kafka: the result says what to send and the state to keep once it is acknowledged."""

from __future__ import annotations

import copy
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import orjson

from pipeline.contracts.deadletter import dead_letter
from pipeline.contracts.records import check_dates, raw_article

from .config import FeedSettings
from .extract import PageText, choose_text, extract_page
from .fetch import Fetcher, FetchError
from .parse import FeedError, FeedItem, ParsedFeed, parse_feed
from .politeness import RobotsCache, backoff_delay
from .state import FeedState
from .urls import article_id, item_keys, url_key

STAGE = "feeds"
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
               "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_last_offset = 0


def _letter_offset() -> int:
    """Dead letters of the poller have no Kafka offset: a strictly increasing time in ms stands in for one,
    so the dead-letter sink (which keeps one letter per stage/topic/partition/offset) keeps each."""
    global _last_offset
    _last_offset = max(_last_offset + 1, int(time.time() * 1000))
    return _last_offset


def feed_letter(state: FeedState, kind: str, message: str, payload: bytes = b"", url: str | None = None,
                record_id: str | None = None) -> dict[str, Any]:
    return dead_letter(payload=payload, kind=kind, message=message, stage=STAGE, topic=state.feed, partition=-1,
                       offset=_letter_offset(), key=url or state.url, record_id=record_id)


@dataclass
class PollResult:
    state: FeedState                   # to keep once records and letters are acknowledged
    outcome: str                       # fetched, not_modified, failed, robots_disallowed, not_due
    records: list[dict[str, Any]] = field(default_factory=list)
    letters: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)   # (kind, message), every one logged and metered
    pages_fetched: int = 0
    fallbacks: list[str] = field(default_factory=list)             # why the feed's content was used
    deferred: int = 0                  # items left unseen for the next poll (a page that timed out...)
    items_in_feed: int = 0


def poll_feed(state: FeedState, fetcher: Fetcher, robots: RobotsCache, settings: FeedSettings,
              pages: Executor | None = None, now: float | None = None) -> PollResult:
    now = time.time() if now is None else now
    new = copy.deepcopy(state)
    new.__post_init__()
    new.polled_at = now
    result = PollResult(state=new, outcome="fetched")
    if not robots.allowed(new.url):
        result.outcome = "robots_disallowed"
        result.errors.append(("feed_robots", f"{new.url}: disallowed by robots.txt for our User-Agent"))
        new.next_poll_at = now + max(settings.interval, 3600)
        return result
    try:
        fetched = fetcher.get(new.url, settings.max_feed_bytes, new.etag, new.last_modified, accept=FEED_ACCEPT)
        if fetched.moved_to:  # 301/308: the feed lives there now
            new.url = fetched.moved_to
        if fetched.status == 304:
            result.outcome = "not_modified"
            _succeeded(new, now, settings)
            return result
        feed = parse_feed(fetched.body, fetched.headers.get("content-type", ""), fetched.url)
    except FetchError as exc:
        return _failed(result, f"feed_{exc.kind}", str(exc), now, settings, exc.transient, exc.retry_after)
    except FeedError as exc:
        return _failed(result, exc.kind, str(exc), now, settings, False, None, payload=fetched.body[:1_000_000])
    if feed.warning:
        kind = "feed_encoding" if "encoding" in feed.warning.lower() else "feed_not_well_formed"
        result.errors.append((kind, f"{new.url}: read despite {feed.warning}"))
    deferred = _take_items(feed, new, fetcher, robots, settings, pages, result)
    if not deferred:  # validators only when nothing waits: a 304 next time would hide the deferred items
        new.etag, new.last_modified = fetched.headers.get("etag"), fetched.headers.get("last-modified")
    _succeeded(new, now, settings)
    return result


def _take_items(feed: ParsedFeed, state: FeedState, fetcher: Fetcher, robots: RobotsCache,
                settings: FeedSettings, pages: Executor | None, result: PollResult) -> int:
    result.items_in_feed = len(feed.items)
    fresh: list[tuple[FeedItem, list[str]]] = []
    batch_keys: set[str] = set()
    for item in feed.items[:settings.max_items]:
        keys = item_keys(item.guid, item.link, f"{item.title}\0{item.content}")
        if state.has_seen(keys) or batch_keys & set(keys):  # seen before, or twice in this document
            continue
        batch_keys.update(keys)
        fresh.append((item, keys))
    work = lambda pair: _take_item(pair[0], pair[1], feed, state, fetcher, robots, settings)  # noqa: E731
    outcomes = list(pages.map(work, fresh)) if pages and settings.fetch_pages else list(map(work, fresh))
    for (item, keys), (record, letter, errors, fetched, fallback, keys_after) in zip(fresh, outcomes):
        result.errors += errors
        result.pages_fetched += fetched
        if fallback:
            result.fallbacks.append(fallback)
        if record is None and letter is None:
            result.deferred += 1  # not seen: the next poll tries it again
            continue
        if record is not None:
            result.records.append(record)
        if letter is not None:
            result.letters.append(letter)
        state.remember(keys_after, settings.seen_keep)
    return result.deferred


def _take_item(item: FeedItem, keys: list[str], feed: ParsedFeed, state: FeedState, fetcher: Fetcher,
               robots: RobotsCache, settings: FeedSettings):
    """(record, dead letter, errors, pages fetched, fallback reason, keys to remember); record and letter both
    None when the item must wait for the next poll."""
    page, problem, reason, errors, fetched = None, None, None, [], 0
    if not item.link or not settings.fetch_pages:
        problem, reason = ("the item has no link", "no_link") if not item.link else ("page fetching is off", "pages_off")
    elif not robots.allowed(item.link):
        problem, reason = "robots.txt disallows the page", "page_robots"
        errors.append(("page_robots", f"{item.link}: disallowed by robots.txt"))
    else:
        try:
            response = fetcher.get(item.link, settings.max_page_bytes, accept=PAGE_ACCEPT)
            fetched = 1
            page = extract_page(response.body, response.url)
        except FetchError as exc:
            errors.append((f"page_{exc.kind}", str(exc)))
            if exc.transient:
                return None, None, errors, 0, None, keys
            problem, reason = f"page {exc.kind}: {exc}", f"page_{exc.kind}"
    chosen = choose_text(page, item, settings.min_text, problem)
    rid = article_id(state.feed, item.guid, item.link)
    if not chosen.text:
        letter = feed_letter(state, errors[-1][0] if errors else "page_empty",
                             f"{item.link or item.guid}: no text: {chosen.note}",
                             orjson.dumps({"guid": item.guid, "link": item.link, "title": item.title}),
                             url=item.link, record_id=rid)
        return None, letter, errors, fetched, None, keys
    record = _record(rid, item, page, chosen, feed, state)
    keys_after = keys + ([url_key(page.canonical_url)] if page and page.canonical_url else [])
    if chosen.extraction == "feed":
        reason = reason or ("unreadable_page" if page is None else "too_little_text")
    return record, None, errors, fetched, reason if chosen.extraction == "feed" else None, keys_after


def _record(rid: str, item: FeedItem, page: PageText | None, chosen, feed: ParsedFeed,
            state: FeedState) -> dict[str, Any]:
    use_page = page is not None and chosen.extraction == "page"
    url = (page.canonical_url if page and page.canonical_url else None) or item.link
    record = raw_article(id=rid, source=state.url, text=chosen.text,
                         title=(page.title if use_page and page.title else None) or item.title, url=url,
                         published_at=item.published_at or (page.date if page else None),
                         lang_hint=(page.language if page else None) or feed.language)
    author = item.author or (page.author if page else None)
    record.update({k: v for k, v in (("author", author), ("guid", item.guid)) if v})
    record["extraction"] = chosen.extraction
    if chosen.note:
        record["extraction_note"] = chosen.note
    check_dates(record)
    return record


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
    # the server said when (429/503 Retry-After): that, not our own guess
    wait = retry_after if retry_after is not None else backoff_delay(state.failures, settings.interval,
                                                                     settings.max_backoff)
    state.next_poll_at = now + wait
    if not transient:
        result.letters.append(feed_letter(state, kind, message, payload))
    return result
