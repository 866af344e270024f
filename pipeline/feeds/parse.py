"""Feed documents to items: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed (which feedparser does
not read) through orjson. A document that yields no feed is a FeedError with its reason.

A feed is written by a stranger: the parser only ever gets the body's bytes (feedparser takes a str or bytes
for a file name or URL and opens it; a BytesIO it only reads), every field is typed and capped here (a list
where a string belongs is no value, a number becomes its text), and an item's link is kept only when it is an
http(s) URL."""

from __future__ import annotations

import calendar
import io
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from urllib.parse import urljoin

import orjson

from .urls import http_url

# longest field values kept (characters): a title or author longer than this is cut, a longer URL dropped
MAX_TITLE, MAX_AUTHOR, MAX_GUID, MAX_URL, MAX_LANGUAGE = 1000, 300, 1000, 2048, 35


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
    notes: Counter = field(default_factory=Counter)   # kind -> items affected (field cut, link rejected...)


def text_of(value: object) -> str | None:
    """A string field as a feed may spell it: the string, a number's text, else (list, object, bool) None."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def capped(value: object, limit: int, notes: Counter) -> str | None:
    text = text_of(value)
    if text is not None and len(text) > limit:
        notes["item_field_truncated"] += 1
        return text[:limit]
    return text


def _item(notes: Counter, guid, link, title, content, published_at=None, author=None) -> FeedItem:
    """An item with typed, capped fields; a link that is not an http(s) URL is dropped (and counted)."""
    url = http_url(text_of(link), MAX_URL)
    if url is None and text_of(link):
        notes["item_link_rejected"] += 1
    return FeedItem(guid=capped(guid, MAX_GUID, notes) or None, link=url, title=capped(title, MAX_TITLE, notes),
                    content=text_of(content) or "", published_at=capped(published_at, 100, notes),
                    author=capped(author, MAX_AUTHOR, notes) or None)


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


def parse_json_feed(body: bytes, url: str | None = None) -> ParsedFeed:
    notes: Counter = Counter()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:   # JSON is UTF-8: read what is readable, count what is not
        text = body.decode("utf-8", errors="replace")
        notes["feed_encoding"] += text.count("\ufffd")
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise FeedError("feed_unparseable", f"JSON Feed is not JSON: {exc}") from None
    version = text_of(doc.get("version")) if isinstance(doc, dict) else None
    if not version or not version.startswith("https://jsonfeed.org/version/"):
        raise FeedError("feed_unparseable", "JSON document is not a JSON Feed (no jsonfeed.org version)")
    feed = ParsedFeed(format=f"json{version.rstrip('/').rsplit('/', 1)[-1][:10]}",
                      title=capped(doc.get("title"), MAX_TITLE, notes), link=http_url(doc.get("home_page_url")),
                      language=capped(doc.get("language"), MAX_LANGUAGE, notes), notes=notes)
    items = doc.get("items")
    for entry in items if isinstance(items, list) else []:
        if not isinstance(entry, dict):
            notes["item_malformed"] += 1
            continue
        authors = entry.get("authors")
        authors = authors if isinstance(authors, list) else [entry.get("author")]
        author = ", ".join(n for a in authors if isinstance(a, dict) and (n := text_of(a.get("name")))) or None
        content = (text_of(entry.get("content_text")) or html_to_text(text_of(entry.get("content_html")) or "")
                   or text_of(entry.get("summary")) or "")
        link = text_of(entry.get("url")) or text_of(entry.get("external_url"))
        feed.items.append(_item(notes, entry.get("id"), urljoin(url, link) if url and link else link,
                                entry.get("title"), content,
                                text_of(entry.get("date_published")) or text_of(entry.get("date_modified")), author))
    return feed


# person fields: feedparser looks for an e-mail in them with a regex that takes quadratic time on a long run of
# word characters (100 KB: 90 s of CPU); they are cut to MAX_AUTHOR bytes before it sees them
_PERSON_OPEN = re.compile(rb"<((?:[\w.-]+:)?(?:author|creator|managingEditor|webMaster|owner|publisher|"
                          rb"contributor|name|email))(?:\s[^<>]*)?>", re.I)
_PERSON_BYTES = MAX_AUTHOR


def _cut_person_fields(body: bytes) -> bytes:
    """The document with every person field's content cut to _PERSON_BYTES. Linear: each closing tag is looked
    for once, from where the last one was found."""
    parts, pos, no_close = [], 0, set()
    for match in _PERSON_OPEN.finditer(body):
        name = match.group(1)
        if match.start() < pos or name.lower() in no_close:
            continue
        end = body.find(b"</" + name, match.end())
        if end < 0:   # never closed after here: nor after any later opening of it
            no_close.add(name.lower())
            continue
        if end - match.end() > _PERSON_BYTES:
            parts += [body[pos:match.end() + _PERSON_BYTES]]
            pos = end
        else:
            parts.append(body[pos:end])
            pos = end
    return b"".join(parts) + body[pos:] if parts else body


def parse_xml_feed(body: bytes, content_type: str = "", url: str | None = None) -> ParsedFeed:
    import feedparser

    headers = {"content-type": content_type} if content_type else {}
    if url:   # the base for relative links (feedparser reads it from this header)
        headers["content-location"] = url
    # a stream, never the bytes: feedparser would take bytes or a str for a file name or URL and open it
    parsed = feedparser.parse(io.BytesIO(_cut_person_fields(body)), response_headers=headers)
    if not parsed.version and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS/Atom root element"
        raise FeedError("feed_unparseable", f"not an RSS or Atom feed: {reason}")
    warning = None
    if parsed.bozo:
        exc = parsed.get("bozo_exception")
        warning = f"{type(exc).__name__}: {exc}"
    info = parsed.feed
    notes: Counter = Counter()
    feed = ParsedFeed(format=parsed.version or "unknown", title=capped(info.get("title"), MAX_TITLE, notes),
                      link=http_url(info.get("link")), language=capped(info.get("language"), MAX_LANGUAGE, notes),
                      warning=warning, notes=notes)
    for entry in parsed.entries:
        content = ""
        if entry.get("content"):
            content = "\n\n".join(text_of(c.get("value")) or "" for c in entry.content)
        content = html_to_text(content or text_of(entry.get("summary")) or text_of(entry.get("description")) or "")
        feed.items.append(_item(notes, entry.get("id"), entry.get("link"), entry.get("title"), content,
                                _iso(entry.get("published_parsed") or entry.get("updated_parsed")), entry.get("author")))
    return feed


def parse_feed(body: bytes, content_type: str = "", url: str | None = None) -> ParsedFeed:
    """Any supported feed document; FeedError when it is none of them."""
    if not body.strip():
        raise FeedError("feed_unparseable", "empty document")
    if is_json_feed(body, content_type):
        return parse_json_feed(body, url)
    return parse_xml_feed(body, content_type, url)
