"""The article's main text and metadata from its page (trafilatura), or the feed's own content when the page
gives too little; the record says which (`extraction`: "page" or "feed") and why."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from .parse import MAX_AUTHOR, MAX_LANGUAGE, MAX_TITLE, FeedItem
from .urls import http_url

_HTTP_CHARSET = re.compile(rb"charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)", re.I)
# labels the web means as windows-1252 (WHATWG Encoding): a page saying latin-1 is read as browsers read it
_XML_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")
_AS_CP1252 = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1", "us-ascii", "ascii", "cp819", "iso-ir-100"}


@dataclass
class PageText:
    text: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    language: str | None = None
    canonical_url: str | None = None


@dataclass
class Chosen:
    text: str
    extraction: str              # "page" or "feed"
    note: str | None = None      # why the feed's content was used


def _page_language(tree) -> str | None:
    """The language the page declares: <html lang>, else Content-Language / og:locale meta."""
    lang = tree.get("lang") or tree.get("xml:lang")
    if not lang:
        for meta in tree.iter("meta"):
            name = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
            if name in ("content-language", "og:locale", "language") and meta.get("content"):
                lang = meta.get("content")
                break
    return lang.strip().replace("_", "-") if lang and lang.strip() else None


def _codec(label: bytes | str | None) -> str | None:
    if not label:
        return None
    name = label.decode("ascii", "ignore") if isinstance(label, bytes) else label
    name = "cp1252" if name.strip().lower() in _AS_CP1252 else name.strip()
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_page(body: bytes, content_type: str = "") -> tuple[str, str, int]:
    """(text, charset used, bytes that did not decode) of a page: a byte-order mark, else the HTTP charset, else
    the page's own <meta charset> or XML declaration (in its first 4 KB), else UTF-8 when it decodes, else
    windows-1252 (what browsers assume). Bytes the charset cannot read become U+FFFD and are counted."""
    head = body[:4096]
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            chosen = name
            break
    else:
        header = _HTTP_CHARSET.search(content_type.encode("latin-1", "replace"))
        in_page = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
        chosen = _codec(header and header.group(1)) or _codec(in_page and in_page.group(1))
    if chosen is None:
        try:
            return body.decode("utf-8"), "utf-8", 0
        except UnicodeDecodeError:
            chosen = "cp1252"
    present = body.count(b"\xef\xbf\xbd") if chosen == "utf-8" else 0   # U+FFFD the page itself contains
    text = body.decode(chosen, errors="replace")
    # the XML declaration goes: the text is decoded, and lxml would otherwise decode it again by that label
    return _XML_DECLARATION.sub("", text, count=1), chosen, max(0, text.count("\ufffd") - present)


def extract_page(html: bytes | str, url: str | None = None) -> PageText | None:
    """Main text and metadata of an article page; None when the page is not HTML trafilatura can read."""
    from trafilatura import bare_extraction
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        return None
    language = _page_language(tree)
    doc = bare_extraction(tree, url=url, with_metadata=True, include_comments=False, include_tables=True,
                          date_extraction_params={"extensive_search": False, "original_date": True})
    if doc is None:
        return PageText(text="", language=language)
    # the page is a stranger's too: metadata capped, a canonical link only when it is an http(s) URL
    return PageText(text=(doc.text or "").strip(), title=(doc.title or "")[:MAX_TITLE] or None,
                    author=(doc.author or "")[:MAX_AUTHOR] or None, date=doc.date,
                    language=language[:MAX_LANGUAGE] if language else None, canonical_url=http_url(doc.url))


def choose_text(page: PageText | None, item: FeedItem, min_text: int, page_problem: str | None = None) -> Chosen:
    """The page's text when it has at least `min_text` characters (or more than the feed has); otherwise the
    feed's content, with the reason in `note`."""
    feed_text = item.content.strip()
    if page is not None and page.text and (len(page.text) >= min_text or len(page.text) >= len(feed_text)):
        return Chosen(page.text, "page")
    if page_problem:
        note = f"page not used ({page_problem}); text from the feed"
    elif page is None:
        note = "page is not readable HTML; text from the feed"
    else:
        note = (f"page extraction gave {len(page.text)} characters (< {min_text}); "
                f"text from the feed ({len(feed_text)} characters)")
    return Chosen(feed_text, "feed", note)
