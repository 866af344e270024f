"""The article's main text and metadata from its page (trafilatura), or the feed's own content when the page
gives too little; the record says which (`extraction`: "page" or "feed") and why."""

from __future__ import annotations

from dataclasses import dataclass

from .parse import FeedItem


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
    return PageText(text=(doc.text or "").strip(), title=doc.title, author=doc.author, date=doc.date,
                    language=language, canonical_url=doc.url)


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
