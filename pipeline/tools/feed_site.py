"""A local news site for the feed tests and the bench: article pages built from real article text inside
realistic page chrome (navigation, cookie banner, related links, footer), the same articles as RSS 0.91,
RSS 1.0 (RDF), RSS 2.0, Atom, JSON Feed and an OPML list, served on 127.0.0.1 by http.server in a thread,
counting every request. Routes can answer 304 to validators, redirect, stall, or fail."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0               # seconds before answering (a page that times out)
    then: "Route | None" = None      # after `times` answers, this route answers instead (e.g. 429, then 200)
    times: int = 1
    drip: float = 0.0                # seconds between single bytes of the whole response, status line included


@dataclass
class Article:
    slug: str
    title: str
    paragraphs: list[str]
    lang: str
    author: str = "Camille Martin"
    date: str = "2025-03-15T08:30:00Z"

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def articles_from(paths: list[Path], lang: str) -> list[Article]:
    """Articles from plain-text files: the first sentence is the title, the rest paragraphs of 3 sentences."""
    found = []
    for path in paths:
        sentences = re.split(r"(?<=[.!?»])\s+(?=[A-ZÀ-Ý«\"])", " ".join(path.read_text("utf-8").split()))
        title = sentences[0] if len(sentences[0]) <= 90 else sentences[0][:90].rsplit(" ", 1)[0]
        title = title.rstrip(" .,;")
        paragraphs = [" ".join(sentences[i:i + 3]) for i in range(1, len(sentences), 3)]
        found.append(Article(slug=path.stem, title=title, paragraphs=paragraphs, lang=lang))
    return found


def article_page(article: Article, canonical: str) -> bytes:
    """The article inside the chrome a news site wraps it in: none of the chrome is article text."""
    body = "\n".join(f"      <p>{escape(p)}</p>" for p in article.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{article.lang}">
<head>
  <meta charset="utf-8">
  <title>{escape(article.title)} | Le Quotidien du Test</title>
  <link rel="canonical" href="{escape(canonical)}">
  <meta name="author" content="{escape(article.author)}">
  <meta property="article:published_time" content="{article.date}">
  <meta property="og:title" content="{escape(article.title)}">
  <script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
</head>
<body>
  <div class="cookie-banner">We use cookies to improve your experience. Accept all cookies or manage preferences.</div>
  <header class="site-header">
    <a class="logo" href="/">Le Quotidien du Test</a>
    <nav class="main-nav"><ul><li><a href="/world">World</a></li><li><a href="/politics">Politics</a></li>
      <li><a href="/economy">Economy</a></li><li><a href="/sport">Sport</a></li><li><a href="/culture">Culture</a></li>
      <li><a href="/subscribe">Subscribe for 1 euro the first month</a></li></ul></nav>
  </header>
  <main>
    <article>
      <h1>{escape(article.title)}</h1>
      <p class="byline">By <span class="author">{escape(article.author)}</span>, <time datetime="{article.date}">{article.date[:10]}</time></p>
{body}
    </article>
    <aside class="related"><h2>Most read</h2><ul>
      <li><a href="/a/celebrity">Ten celebrity secrets doctors do not want you to know</a></li>
      <li><a href="/a/weather">Weekend weather: sunshine expected across the country</a></li>
      <li><a href="/a/recipe">The perfect chocolate cake recipe in five minutes</a></li></ul></aside>
    <div class="newsletter">Sign up to our newsletter and never miss the morning briefing.</div>
  </main>
  <footer class="site-footer"><p>Copyright 2025 Le Quotidien du Test. All rights reserved.</p>
    <ul><li><a href="/legal">Legal notice</a></li><li><a href="/privacy">Privacy policy</a></li>
    <li><a href="/contact">Contact the newsroom</a></li></ul></footer>
</body>
</html>""".encode("utf-8")


BOILERPLATE = ("We use cookies", "Subscribe for 1 euro", "Ten celebrity secrets", "Sign up to our newsletter",
               "All rights reserved", "Privacy policy")


def _rfc822(iso: str) -> str:
    from datetime import datetime

    return formatdate(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp(), usegmt=True)


def rss20(base: str, items: list[tuple[Article, str]], title: str = "Le Quotidien du Test") -> bytes:
    entries = "".join(f"""
    <item><title>{escape(a.title)}</title><link>{escape(link)}</link><guid isPermaLink="false">{a.slug}</guid>
      <pubDate>{_rfc822(a.date)}</pubDate><dc:creator>{escape(a.author)}</dc:creator>
      <description>{escape(a.paragraphs[0])}</description></item>""" for a, link in items)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>{title}</title><link>{base}/</link>
  <description>News</description><language>fr</language>{entries}
</channel></rss>""".encode("utf-8")


def rss091(base: str, items: list[tuple[Article, str]]) -> bytes:
    entries = "".join(f"""
    <item><title>{escape(a.title)}</title><link>{escape(link)}</link>
      <description>{escape(a.paragraphs[0])}</description></item>""" for a, link in items)
    return f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Test 0.91</title><link>{base}/</link><description>News</description>
  <language>fr</language>{entries}
</channel></rss>""".encode("iso-8859-1", errors="xmlcharrefreplace")


def rss10(base: str, items: list[tuple[Article, str]]) -> bytes:
    seq = "".join(f'<rdf:li rdf:resource="{escape(link)}"/>' for _, link in items)
    entries = "".join(f"""
  <item rdf:about="{escape(link)}"><title>{escape(a.title)}</title><link>{escape(link)}</link>
    <description>{escape(a.paragraphs[0])}</description><dc:date>{a.date}</dc:date></item>""" for a, link in items)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="{base}/rdf"><title>Test RDF</title><link>{base}/</link><description>News</description>
    <items><rdf:Seq>{seq}</rdf:Seq></items></channel>{entries}
</rdf:RDF>""".encode("utf-8")


def atom(base: str, items: list[tuple[Article, str]]) -> bytes:
    entries = "".join(f"""
  <entry><title>{escape(a.title)}</title><link rel="alternate" href="{escape(link)}"/><id>urn:test:{a.slug}</id>
    <updated>{a.date}</updated><author><name>{escape(a.author)}</name></author>
    <summary>{escape(a.paragraphs[0])}</summary></entry>""" for a, link in items)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr"><title>Test Atom</title><link href="{base}/"/>
  <id>urn:test:atom</id><updated>2025-03-15T08:30:00Z</updated>{entries}
</feed>""".encode("utf-8")


def json_feed(base: str, items: list[tuple[Article, str]]) -> bytes:
    return orjson.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Test JSON Feed",
                         "home_page_url": f"{base}/", "language": "fr",
                         "items": [{"id": a.slug, "url": link, "title": a.title, "content_text": a.paragraphs[0],
                                    "date_published": a.date, "authors": [{"name": a.author}]}
                                   for a, link in items]})


def opml(urls: list[str]) -> bytes:
    outlines = "".join(f'<outline type="rss" text="feed {i}" xmlUrl="{escape(u)}"/>' for i, u in enumerate(urls))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><head><title>subscriptions</title></head>
<body><outline text="News">{outlines}</outline></body></opml>""".encode("utf-8")


class FeedSite:
    """The server. `site.add(path, Route(...))`, `site.url(path)`, `site.hits[path]` (requests served)."""

    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._served: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, 0), self._handler())
        self.server.daemon_threads = True
        self.base = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FeedSite":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def add_articles(self, articles: list[Article], prefix: str = "/news") -> list[tuple[Article, str]]:
        """Each article's page at prefix/slug (canonical: the same URL); the (article, link) pairs for feeds."""
        pairs = []
        for article in articles:
            path = f"{prefix}/{article.slug}"
            self.add(path, Route(article_page(article, self.url(path))))
            pairs.append((article, self.url(path)))
        return pairs

    def _route(self, path: str) -> Route | None:
        with self._lock:
            self.hits[path] += 1
            route = self.routes.get(path)
            while route is not None and route.then is not None and self._served[(path, id(route))] >= route.times:
                route = route.then
            if route is not None:
                self._served[(path, id(route))] += 1
            return route

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: the tests count requests instead
                pass

            def do_GET(self):
                site.requests.append((self.path, dict(self.headers.items())))
                route = site._route(self.path)
                if route is None:
                    return self._send(404, {"Content-Type": "text/plain"}, b"not found")
                if route.delay:
                    time.sleep(route.delay)
                if route.drip:
                    return self._drip(route)
                headers = {"Content-Type": route.content_type, **route.headers}
                if route.etag:
                    headers["ETag"] = route.etag
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                if route.status == 200 and (
                        (route.etag and self.headers.get("If-None-Match") == route.etag) or
                        (route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified)):
                    return self._send(304, headers, b"")
                self._send(route.status, headers, route.body)

            def _send(self, status, headers, body):
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if status != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

            def _drip(self, route):
                """A slow-loris server: the status line, headers and body one byte at a time."""
                raw = (f"HTTP/1.1 {route.status} OK\r\nContent-Type: {route.content_type}\r\n"
                       f"Content-Length: {len(route.body)}\r\n\r\n").encode() + route.body
                try:
                    for i in range(len(raw)):
                        self.wfile.write(raw[i:i + 1])
                        self.wfile.flush()
                        time.sleep(route.drip)
                except (BrokenPipeError, ConnectionResetError):  # cut off by the client: what it should do
                    pass
                self.close_connection = True

        return Handler
