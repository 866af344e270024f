"""What a user names on the command line, as feed URLs: a URL, a text file of URLs, or an OPML file."""

from __future__ import annotations

from pathlib import Path


class SourceError(ValueError):
    pass


def is_url(text: str) -> bool:
    return text.strip().lower().startswith(("http://", "https://"))


def opml_urls(data: bytes, where: str = "OPML") -> list[str]:
    """The xmlUrl of every outline, nested outlines (folders) included, in document order."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{where}: not well-formed OPML: {exc}") from None
    if root.tag.lower() != "opml":
        raise SourceError(f"{where}: root element is <{root.tag}>, not <opml>")
    return [o.get("xmlUrl").strip() for o in root.iter("outline") if (o.get("xmlUrl") or "").strip()]


def looks_like_opml(path: Path) -> bool:
    if path.suffix.lower() == ".opml":
        return True
    head = path.read_bytes()[:500].lstrip().lower()
    return head.startswith(b"<?xml") and b"<opml" in head or head.startswith(b"<opml")


def url_list(path: Path) -> list[str] | None:
    """The URLs of a text file with one per line (blank lines and # comments allowed); None when any other
    line is not a URL, i.e. the file is something else (an article: `newsfeed run` replays those)."""
    try:
        lines = path.read_text("utf-8-sig").splitlines()
    except (UnicodeDecodeError, OSError):
        return None
    urls = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return urls if urls and all(is_url(u) and " " not in u for u in urls) else None


def is_feed_source(arg: str) -> bool:
    """True for what `newsfeed feeds` polls: a URL, an OPML file, a text file of URLs."""
    if is_url(arg):
        return True
    path = Path(arg)
    return path.is_file() and (looks_like_opml(path) or url_list(path) is not None)


def expand_sources(args: list[str]) -> list[str]:
    """Feed URLs named by the arguments, in order, each once."""
    found: list[str] = []
    for arg in args:
        if is_url(arg):
            found.append(arg.strip())
            continue
        path = Path(arg)
        if not path.is_file():
            raise SourceError(f"{arg}: not a URL and not a file")
        if looks_like_opml(path):
            found += opml_urls(path.read_bytes(), str(path))
        elif (urls := url_list(path)) is not None:
            found += urls
        else:
            raise SourceError(f"{arg}: neither OPML nor a list of http(s) URLs, one per line")
    return list(dict.fromkeys(found))
