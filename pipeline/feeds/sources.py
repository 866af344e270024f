"""What a user names on the command line, as feed URLs: a URL, a text file of URLs, or an OPML file.

A feed list may declare a source's home (issue 35), where the outlet writes about: a text file's line
`https://example-paper.com/rss home=US-MO`, an OPML outline's attribute `home="US-MO"`: an ISO country code,
optionally with its first-level region's GeoNames admin1 code. The poller puts it on the feed's records
(`source_home`); the places stage prefers it to the home it learns (pipeline/stages/places/source_home.py).
"""

from __future__ import annotations

import re
from pathlib import Path

HOME = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,3})?")


class SourceError(ValueError):
    pass


def is_url(text: str) -> bool:
    return text.strip().lower().startswith(("http://", "https://"))


def opml_urls(data: bytes, where: str = "OPML") -> list[str]:
    """The xmlUrl of every outline, nested outlines (folders) included, in document order."""
    return [url for url, _home in opml_entries(data, where)]


def opml_entries(data: bytes, where: str = "OPML") -> list[tuple[str, str | None]]:
    """(xmlUrl, declared home or None) of every outline, in document order."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{where}: not well-formed OPML: {exc}") from None
    if root.tag.lower() != "opml":
        raise SourceError(f"{where}: root element is <{root.tag}>, not <opml>")
    return [(o.get("xmlUrl").strip(), o.get("home")) for o in root.iter("outline") if (o.get("xmlUrl") or "").strip()]


def looks_like_opml(path: Path) -> bool:
    if path.suffix.lower() == ".opml":
        return True
    head = path.read_bytes()[:500].lstrip().lower()
    return head.startswith(b"<?xml") and b"<opml" in head or head.startswith(b"<opml")


def url_list(path: Path) -> list[str] | None:
    """The URLs of a text file with one per line (blank lines and # comments allowed); None when any other
    line is not a URL, i.e. the file is something else (an article: `newsfeed run` replays those)."""
    entries = url_entries(path)
    return None if entries is None else [url for url, _home in entries]


def url_entries(path: Path) -> list[tuple[str, str | None]] | None:
    """(URL, declared home or None) of each line of a text file of URLs: `URL` or `URL home=CODE`."""
    try:
        lines = path.read_text("utf-8-sig").splitlines()
    except (UnicodeDecodeError, OSError):
        return None
    entries = []
    for line in (line.strip() for line in lines):
        if not line or line.startswith("#"):
            continue
        url, *rest = line.split()
        if not is_url(url) or len(rest) > 1 or rest and not rest[0].startswith("home="):
            return None
        entries.append((url, rest[0].removeprefix("home=") if rest else None))
    return entries or None


def is_feed_source(arg: str) -> bool:
    """True for what `newsfeed feeds` polls: a URL, an OPML file, a text file of URLs."""
    if is_url(arg):
        return True
    path = Path(arg)
    return path.is_file() and (looks_like_opml(path) or url_list(path) is not None)


def expand_sources(args: list[str]) -> list[str]:
    """Feed URLs named by the arguments, in order, each once."""
    return list(feed_entries(args))


def declared_homes(args: list[str]) -> dict[str, str]:
    """The home each feed list declares for its URLs (a URL's first declaration counts)."""
    return {url: home for url, home in feed_entries(args).items() if home}


def feed_entries(args: list[str]) -> dict[str, str | None]:
    """Feed URL -> its declared home (None: none declared), in the order named, each URL once."""
    found: dict[str, str | None] = {}
    for arg in args:
        if is_url(arg):
            entries = [(arg.strip(), None)]
        elif not Path(arg).is_file():
            raise SourceError(f"{arg}: not a URL and not a file")
        elif looks_like_opml(Path(arg)):
            entries = opml_entries(Path(arg).read_bytes(), arg)
        elif (listed := url_entries(Path(arg))) is not None:
            entries = listed
        else:
            raise SourceError(f"{arg}: neither OPML nor a list of http(s) URLs, one per line")
        for url, home in entries:
            if home is not None and not HOME.fullmatch(home):
                raise SourceError(f"{arg}: {url}: home={home!r} is not an ISO country code, optionally with its "
                                  "region's code (US, US-MO, GB-ENG)")
            found[url] = found.get(url) or home
    return found
