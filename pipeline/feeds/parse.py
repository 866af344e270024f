"""Feed documents to items: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed (which feedparser does
not read) through orjson. A document that yields no feed is a FeedError with its reason."""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser

import orjson


class FeedError(Exception):
    """A feed that cannot be read; `kind` names why (the dead letter's and the metric's error kind)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class FeedItem:
    guid: str | None
    link: str | None
    title: str | None
    content: str          # the feed's own text for the item (HTML stripped): the fallback when the page fails
    published_at: str | None = None
    author: str | None = None


@dataclass
class ParsedFeed:
    format: str           # rss20, rss10, rss091u, atom10, json1…
    title: str | None = None
    link: str | None = None
    language: str | None = None
    items: list[FeedItem] = field(default_factory=list)
    warning: str | None = None   # what feedparser tolerated (bad encoding, not well-formed but readable)


def html_to_text(html: str) -> str:
    """Text of an HTML fragment, paragraphs kept apart (feed summaries and content:encoded are HTML)."""
    class _Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            if tag in {"script", "style"}:
                self.skip += 1
            if tag in {"p", "br", "div", "li", "h1", "h2", "h3", "h4", "blockquote"}:
                self.parts.append("\n\n")

        def handle_endtag(self, tag):
            if tag in {"script", "style"} and self.skip:
                self.skip -= 1

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    parser = _Text()
    parser.feed(html or "")
    parser.close()
    text = "".join(parser.parts)
    paragraphs = (" ".join(p.split()) for p in text.split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def _iso(struct: time.struct_time | None) -> str | None:
    if not struct:
        return None
    return datetime.fromtimestamp(calendar.timegm(struct), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_json_feed(body: bytes, content_type: str = "") -> bool:
    if "json" in content_type.lower():
        return True
    head = body.lstrip()[:200]
    return head.startswith(b"{") and b"jsonfeed.org" in body[:2000]


def parse_json_feed(body: bytes) -> ParsedFeed:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FeedError("feed_unparseable", f"JSON Feed is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise FeedError("feed_unparseable", "JSON document is not a JSON Feed (no jsonfeed.org version)")
    version = doc["version"].rstrip("/").rsplit("/", 1)[-1]
    feed = ParsedFeed(format=f"json{version}", title=doc.get("title"), link=doc.get("home_page_url"),
                      language=doc.get("language"))
    for entry in doc.get("items") or []:
        if not isinstance(entry, dict):
            continue
        authors = entry.get("authors") or ([entry["author"]] if isinstance(entry.get("author"), dict) else [])
        author = ", ".join(a.get("name", "") for a in authors if isinstance(a, dict) and a.get("name")) or None
        content = entry.get("content_text") or html_to_text(entry.get("content_html") or "") or entry.get("summary") or ""
        guid = entry.get("id")
        feed.items.append(FeedItem(guid=str(guid) if guid is not None else None,
                                   link=entry.get("url") or entry.get("external_url"), title=entry.get("title"),
                                   content=content, published_at=entry.get("date_published") or entry.get("date_modified"),
                                   author=author))
    return feed


def parse_xml_feed(body: bytes, content_type: str = "", url: str | None = None) -> ParsedFeed:
    import feedparser

    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(body, response_headers=headers)
    if not parsed.version and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS/Atom root element"
        raise FeedError("feed_unparseable", f"not an RSS or Atom feed: {reason}")
    warning = None
    if parsed.bozo:
        exc = parsed.get("bozo_exception")
        warning = f"{type(exc).__name__}: {exc}"
    info = parsed.feed
    feed = ParsedFeed(format=parsed.version or "unknown", title=info.get("title"), link=info.get("link"),
                      language=info.get("language"), warning=warning)
    for entry in parsed.entries:
        content = ""
        if entry.get("content"):
            content = "\n\n".join(c.get("value", "") for c in entry.content)
        content = html_to_text(content or entry.get("summary", "") or entry.get("description", ""))
        feed.items.append(FeedItem(
            guid=entry.get("id") or None, link=entry.get("link") or None, title=entry.get("title"),
            content=content, published_at=_iso(entry.get("published_parsed") or entry.get("updated_parsed")),
            author=entry.get("author")))
    return feed


def parse_feed(body: bytes, content_type: str = "", url: str | None = None) -> ParsedFeed:
    """Any supported feed document; FeedError when it is none of them."""
    if not body.strip():
        raise FeedError("feed_unparseable", "empty document")
    if is_json_feed(body, content_type):
        return parse_json_feed(body)
    return parse_xml_feed(body, content_type, url)
