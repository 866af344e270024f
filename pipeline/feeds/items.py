"""The items of one poll: which are new (identity, duplicates, the per-poll cap), and for each its record from
the page or the feed's text, its dead letters, or a retry at the next poll. Nothing here raises: an item that
breaks is that item's dead letter."""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from pipeline.contracts.deadletter import dead_letter
from pipeline.contracts.records import check_dates, raw_article

from .config import FeedSettings
from .extract import PageText, choose_text, decode_page, extract_page
from .fetch import Fetcher, FetchError
from .parse import FeedItem, ParsedFeed
from .politeness import RobotsCache
from .state import FeedState
from .urls import article_id, item_keys, url_key

STAGE = "feeds"
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
    outcome: str                       # fetched, not_modified, failed, robots_disallowed, cancelled
    records: list[dict[str, Any]] = field(default_factory=list)
    letters: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)   # (kind, message), every one logged and metered
    pages_fetched: int = 0
    fallbacks: list[str] = field(default_factory=list)             # why the feed's content was used
    deferred: int = 0                  # items left for the next poll (a page that timed out, past the item cap)
    items_in_feed: int = 0


@dataclass
class ItemOutcome:
    record: dict[str, Any] | None = None
    letters: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    fetched: int = 0
    fallback: str | None = None
    keys: list[str] = field(default_factory=list)   # to remember once sent
    retry: bool = False                              # the page failed for now: the item waits in the state


PENDING_KEEP = 50            # deferred items kept in the state (each with its feed text) at most
PENDING_TEXT = 20_000        # characters of an item's feed text kept while it waits


def _candidates(feed: ParsedFeed, state: FeedState, waiting: set[str], settings: FeedSettings,
                result: PollResult) -> tuple[list[tuple[FeedItem, list[str], int]], bool]:
    """The feed's new items (at most NEWSFEED_FEEDS_MAX_ITEMS; the rest counted and left for the next poll) and
    whether all of them fit."""
    result.items_in_feed = len(feed.items)
    links_of_guid: dict[str, set] = defaultdict(set)
    for item in feed.items:
        if item.guid:
            links_of_guid[item.guid].add(item.link)
    fresh, taken, shared, repeated = [], set(), 0, 0
    for item in feed.items:
        # a GUID given to items with different links identifies none of them: they are known by their link
        guid = item.guid if not item.guid or len(links_of_guid[item.guid]) == 1 else None
        shared += guid is None and item.guid is not None
        keys = item_keys(guid, item.link, f"{item.title}\0{item.content}")
        if state.has_seen(keys) or waiting & set(keys):
            continue
        if taken & set(keys):
            repeated += 1
            continue
        taken.update(keys)
        fresh.append((item, keys, 0))
    if shared:
        result.errors.append(("item_duplicate_guid", f"{state.url}: {shared} items share a GUID with another "
                              "item's different link; each is known by its link"))
    if repeated:
        result.errors.append(("item_duplicate", f"{state.url}: {repeated} items repeat an item of the same "
                              "document (same GUID and link); taken once"))
    over = len(fresh) - settings.max_items
    if over > 0:
        result.errors.append(("items_over_cap", f"{state.url}: {over} new items past NEWSFEED_FEEDS_MAX_ITEMS="
                              f"{settings.max_items}; left for the next poll"))
        result.deferred += over
    return fresh[:settings.max_items], over <= 0


def take_items(feed: ParsedFeed | None, state: FeedState, fetcher: Fetcher, robots: RobotsCache,
                settings: FeedSettings, pages: Executor | None, result: PollResult) -> bool:
    waiting = [(FeedItem(**p["item"]), list(p["keys"]), int(p["attempts"])) for p in state.pending]
    fresh, complete = ([], True) if feed is None else _candidates(
        feed, state, {k for _, keys, _ in waiting for k in keys}, settings, result)
    work = waiting + fresh
    take = lambda w: _take_item(w[0], w[1], w[2], feed, state, fetcher, robots, settings)  # noqa: E731
    outcomes = list(pages.map(take, work)) if pages and settings.fetch_pages else list(map(take, work))
    state.pending = []
    for (item, keys, attempts), out in zip(work, outcomes):
        result.errors += out.errors
        result.pages_fetched += out.fetched
        if out.fallback:
            result.fallbacks.append(out.fallback)
        if out.retry:
            result.deferred += 1
            if len(state.pending) < PENDING_KEEP:
                kept = asdict(item) | {"content": item.content[:PENDING_TEXT]}
                state.pending.append({"item": kept, "keys": keys, "attempts": attempts + 1})
            else:
                complete = False
            continue
        if out.record is not None:
            result.records.append(out.record)
        result.letters += out.letters
        state.remember(out.keys, settings.seen_keep)
    return complete


def _take_item(item: FeedItem, keys: list[str], attempts: int, feed: ParsedFeed | None, state: FeedState,
               fetcher: Fetcher, robots: RobotsCache, settings: FeedSettings) -> ItemOutcome:
    """One item, never raising: its record (from the page, else the feed's text), its dead letters, or a retry
    at the next poll (a transient page failure, until NEWSFEED_FEEDS_PAGE_RETRIES polls have tried it)."""
    rid = article_id(state.feed, item.guid, item.link)
    try:
        return _item_outcome(item, keys, attempts, rid, feed, state, fetcher, robots, settings)
    except Exception as exc:   # e.g. a page the extractor chokes on: this item's dead letter
        message = f"{item.link or item.guid}: {type(exc).__name__}: {exc}"
        return ItemOutcome(letters=[_item_letter(state, "item_error", message, item, rid)],
                           errors=[("item_error", message)], keys=keys)


def _item_letter(state: FeedState, kind: str, message: str, item: FeedItem, rid: str) -> dict[str, Any]:
    return feed_letter(state, kind, message, orjson.dumps({"guid": item.guid, "link": item.link, "title": item.title}),
                       url=item.link, record_id=rid)


def _item_outcome(item: FeedItem, keys: list[str], attempts: int, rid: str, feed: ParsedFeed | None,
                  state: FeedState, fetcher: Fetcher, robots: RobotsCache, settings: FeedSettings) -> ItemOutcome:
    out = ItemOutcome(keys=keys)
    page, problem, reason = None, None, None
    if not item.link or not settings.fetch_pages:
        problem, reason = ("the item has no link", "no_link") if not item.link else ("page fetching is off", "pages_off")
    else:
        try:
            if not robots.allowed(item.link):
                problem, reason = "robots.txt disallows the page", "page_robots"
                out.errors.append(("page_robots", f"{item.link}: disallowed by robots.txt"))
            else:
                response = fetcher.get(item.link, settings.max_page_bytes, accept=PAGE_ACCEPT)
                out.fetched = 1
                html, charset, undecodable = decode_page(response.body, response.headers.get("content-type", ""))
                if undecodable:
                    out.errors.append(("page_encoding", f"{item.link}: {undecodable} bytes not {charset}"))
                page = extract_page(html, response.url)
        except FetchError as exc:
            out.errors.append((f"page_{exc.kind}", str(exc)))
            if exc.transient and attempts + 1 < settings.page_retries:
                out.retry = True
                return out
            if exc.transient:   # tried at NEWSFEED_FEEDS_PAGE_RETRIES polls: given up, said so
                message = f"{item.link}: page failed at {attempts + 1} polls, given up (last: {exc})"
                out.errors.append(("page_retries_exhausted", message))
                out.letters.append(_item_letter(state, "page_retries_exhausted", message, item, rid))
                problem, reason = message, "page_retries_exhausted"
            else:
                problem, reason = f"page {exc.kind}: {exc}", f"page_{exc.kind}"
    chosen = choose_text(page, item, settings.min_text, problem)
    if not chosen.text:
        if not out.letters:
            kind = reason if reason and reason.startswith("page_") else "page_empty"
            out.letters.append(_item_letter(state, kind,
                                            f"{item.link or item.guid}: no text: {chosen.note}", item, rid))
        return out
    record = _fit(_record(rid, item, page, chosen, feed, state), settings.max_record_bytes, out,
                  lambda kind, message: _item_letter(state, kind, message, item, rid))
    if record is None:
        return out
    out.record = record
    out.keys = keys + ([url_key(page.canonical_url)] if page and page.canonical_url else [])
    if chosen.extraction == "feed":
        out.fallback = reason or ("unreadable_page" if page is None else "too_little_text")
    return out


def _fit(record: dict[str, Any], limit: int, out: ItemOutcome, letter) -> dict[str, Any] | None:
    """The record within the pipeline's message limit: its text cut to fit (said in extraction_note), or None
    and a dead letter when even the rest is too large."""
    size = len(orjson.dumps(record))
    original = len(record["text"])
    while size > limit:
        encoded = record["text"].encode("utf-8")
        keep = len(encoded) - (size - limit) - 4096   # JSON escapes and the note need some room
        if keep <= 0:
            message = f"{record.get('url') or record['id']}: record of {size} bytes over the limit of {limit}"
            out.errors.append(("item_too_large", message))
            out.letters.append(letter("item_too_large", message))
            return None
        record["text"] = encoded[:keep].decode("utf-8", errors="ignore")
        note = f"text cut from {original} to {len(record['text'])} characters (NEWSFEED_MAX_MESSAGE_BYTES={limit})"
        record["extraction_note"] = f"{record['extraction_note']}; {note}" if record.get("extraction_note") else note
        size = len(orjson.dumps(record))
    if len(record["text"]) < original:
        out.errors.append(("item_truncated", f"{record.get('url') or record['id']}: {record['extraction_note']}"))
    return record


def _record(rid: str, item: FeedItem, page: PageText | None, chosen, feed: ParsedFeed | None,
            state: FeedState) -> dict[str, Any]:
    use_page = page is not None and chosen.extraction == "page"
    url = (page.canonical_url if page and page.canonical_url else None) or item.link
    record = raw_article(id=rid, source=state.url, text=chosen.text,
                         title=(page.title if use_page and page.title else None) or item.title, url=url,
                         published_at=item.published_at or (page.date if page else None),
                         lang_hint=(page.language if page else None) or (feed.language if feed else None))
    author = item.author or (page.author if page else None)
    record.update({k: v for k, v in (("author", author), ("guid", item.guid)) if v})
    record["extraction"] = chosen.extraction
    if chosen.note:
        record["extraction_note"] = chosen.note
    check_dates(record)
    return record
