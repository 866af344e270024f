"""URL canonicalisation and item identity: one article, one key set, however the feed spells its link."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# query parameters that only track the reader (analytics, ad campaigns, newsletters): never part of identity
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|yclid|igshid|"
                       r"_ga|_gl|ref_src|ref_url|cmpid|xtor|at_medium|at_campaign|ito|ns_mchannel|ns_source|"
                       r"ns_campaign|ns_linkname|ns_fee|s_cid|spm|share|smid|soc_src|soc_trk)$", re.I)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """One spelling per article URL: https, lower-case host without `www.`, default port, fragment, tracking
    parameters and trailing slash dropped, remaining parameters sorted, percent-encoding normalised.
    Used for identity only: the record's `url` is the publisher's canonical link when the page names one."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url.strip()
    host = (parts.hostname or "").lower().rstrip(".")
    host = host[4:] if host.startswith("www.") else host
    if parts.port and parts.port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{parts.port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~%") or "/"
    path = re.sub(r"/{2,}", "/", path)
    if len(path) > 1:
        path = path.rstrip("/")
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
    # http and https name the same article: identity uses https
    return urlunsplit(("https", host, path, urlencode(query), ""))


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def item_keys(guid: str | None, link: str | None, fallback: str = "") -> list[str]:
    """The keys an item is known by: its GUID and its canonical URL. An item is new only when none of its keys
    was seen, so a GUID that changes (or is missing) while the URL stays does not make a second article, nor
    does a URL that gains tracking parameters. `fallback` (title + summary) identifies an item with neither."""
    keys = []
    if guid and guid.strip():
        keys.append("g" + _digest(guid.strip()))
    if link and link.strip():
        keys.append("u" + _digest(canonical_url(link)))
    if not keys:
        keys.append("c" + _digest(fallback))
    return keys


def url_key(url: str) -> str:
    """The key of a URL alone (the page's own canonical link, learnt after fetching it)."""
    return "u" + _digest(canonical_url(url))


def article_id(feed_url: str, guid: str | None, link: str | None) -> str:
    """A stable record id: from the canonical URL when there is one (the same article through two feeds or a
    changed GUID keeps its id, so re-delivery is recognised downstream), else from the feed and GUID."""
    basis = canonical_url(link) if link else f"{feed_url}\0{guid or ''}"
    return "feed_" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def _site(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    host = host[4:] if host.startswith("www.") else host
    scheme = parts.scheme.lower()
    return scheme, host, parts.port or _DEFAULT_PORTS.get(scheme)


def same_site(old: str, new: str) -> bool:
    """Whether a permanent redirect from `old` to `new` stays on the same site: the same host (with or without
    `www.`) and port, the same scheme or http upgraded to https. Only such a move is stored for good."""
    (s1, h1, p1), (s2, h2, p2) = _site(old), _site(new)
    if (s1, s2) == ("http", "https"):
        return h1 == h2 and (p1, p2) in ((80, 443), (p2, p2))
    return s1 == s2 and h1 == h2 and p1 == p2


def http_url(value: object, max_chars: int = 2048) -> str | None:
    """`value` when it is an absolute http(s) URL of at most `max_chars` characters, else None: a record's `url`
    is never javascript:, data:, file: or anything a reader's browser would run or open locally."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > max_chars or any(ch in text for ch in "\x00\r\n\t "):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme.lower() in ("http", "https") and parts.hostname else None
