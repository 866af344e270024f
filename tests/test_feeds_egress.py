"""What a hostile feed cannot make the poller do, unit by unit: connect to an internal address (every spelling of
one), take a body for a file name, crash on a mistyped JSON Feed, put a javascript: link in a record, move a
feed to another site, misread a page's charset. No broker, no network beyond loopback."""

from __future__ import annotations

import ipaddress
import os
import threading
import time

import pytest

from pipeline.feeds.egress import EgressPolicy, EgressRefused, refusal
from pipeline.feeds.extract import decode_page
from pipeline.feeds.parse import MAX_AUTHOR, MAX_TITLE, FeedError, parse_feed
from pipeline.feeds.urls import http_url, same_site
from pipeline.tools.feed_site import FeedSite, Route, articles_from, rss20

from conftest import SEEDS

INTERNAL = ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::", "169.254.169.254", "fe80::1",
            "fc00::1", "fd12:3456::1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "100.64.0.1", "100.127.255.254",
            "224.0.0.1", "ff02::1", "240.0.0.1", "255.255.255.255", "192.0.0.8", "198.18.0.1",
            "2002:7f00:1::",            # 6to4 of 127.0.0.1
            "2002:a9fe:a9fe::",         # 6to4 of 169.254.169.254
            "64:ff9b::a9fe:a9fe",       # NAT64 of the cloud metadata address
            "::ffff:10.0.0.1", "2001:0:4136:e378:8000:63bf:3fff:fdd2"]   # IPv4-mapped private, Teredo
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused(address):
    assert refusal(ipaddress.ip_address(address)) is not None
    assert "NEWSFEED_FEEDS_ALLOW_PRIVATE" in EgressPolicy().check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0", "localhost",
                                  "::1", "::ffff:127.0.0.1"])
def test_every_spelling_of_loopback_resolves_to_a_refusal(host):
    """The check runs on what the name resolves to (decimal, hex, octal, short forms included), not on the text."""
    with pytest.raises(EgressRefused, match="refused by the egress policy"):
        EgressPolicy().resolve(host, 80)
    assert EgressPolicy(allow_private=True).resolve(host, 80)


def test_an_allow_list_allows_only_its_networks():
    policy = EgressPolicy.from_text(False, "127.0.0.1/32, 10.0.0.0/8")
    assert policy.resolve("127.0.0.1", 80) and policy.check_address(ipaddress.ip_address("10.9.8.7")) is None
    assert "loopback" in policy.check_address(ipaddress.ip_address("127.0.0.2"))
    assert "link-local" in policy.check_address(ipaddress.ip_address("169.254.169.254"))
    with pytest.raises(ValueError, match="NEWSFEED_FEEDS_ALLOW_NETWORKS"):
        EgressPolicy.from_text(False, "not-a-network")


def test_the_fetcher_refuses_loopback_at_connect_time_and_the_server_sees_nothing():
    from pipeline.feeds.fetch import Fetcher, FetchError
    from pipeline.feeds.politeness import HostGate

    with FeedSite() as site:
        site.add("/secret", Route(b"internal"))
        port = site.base.rsplit(":", 1)[1]
        fetcher = Fetcher("newsfeed/test", 2.0, 5, HostGate(2, 0.0))
        for url in (site.url("/secret"), f"http://2130706433:{port}/secret", f"http://localhost:{port}/secret",
                    "file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/"):
            with pytest.raises(FetchError) as caught:
                fetcher.get(url, 10_000)
            assert caught.value.kind == "refused" and not caught.value.transient, url
        assert site.hits["/secret"] == 0


def test_a_body_is_never_taken_for_a_file_name(tmp_path):
    """feedparser opens a str or bytes that names a file; the poller hands it a stream. A local feed file's
    path as the body, /dev/zero and a FIFO (which would hang an open()) are all just unparseable text."""
    marker = f"MARKER-{os.getpid()}-{time.time_ns()}"
    local = tmp_path / "local.xml"
    local.write_bytes(rss20("https://local.example", [(articles_from(sorted(SEEDS.glob("*.txt"))[:1], "fr")[0],
                                                        f"https://local.example/{marker}")], title=marker))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for body in (str(local).encode(), b"/dev/zero", str(fifo).encode(), b"/etc/passwd", f"file://{local}".encode()):
        done: list = []
        worker = threading.Thread(target=lambda b=body: done.append(_parse_or_error(b)), daemon=True)
        worker.start()
        worker.join(10)
        assert done, f"parsing {body!r} did not return"
        assert isinstance(done[0], FeedError) and marker not in str(done[0]), body


def _parse_or_error(body: bytes):
    try:
        return parse_feed(body, "application/rss+xml", "https://hostile.example/feed")
    except FeedError as exc:
        return exc


@pytest.mark.parametrize("entry", [
    {"id": 1, "url": ["https://a.example/1"], "title": ["x"], "content_text": 12345},
    {"id": {"x": 1}, "url": 5, "content_html": ["<p>x</p>"], "summary": None, "authors": "someone"},
    {"id": "a", "url": "https://a.example/a", "authors": [1, {"name": ["x"]}, {"name": "Ann"}], "date_published": 7},
    {"id": "b", "url": "javascript:alert(1)", "external_url": "data:text/html,x", "content_text": "text"},
    "not an object", None, [1, 2],
])
def test_a_mistyped_json_feed_item_never_raises(entry):
    body = ('{"version": "https://jsonfeed.org/version/1.1", "title": ["t"], "language": 5, '
            '"home_page_url": "file:///etc", "items": [%s]}' % __import__("json").dumps(entry)).encode()
    feed = parse_feed(body, "application/feed+json", "https://hostile.example/feed.json")
    for item in feed.items:
        assert all(v is None or isinstance(v, str) for v in (item.guid, item.link, item.title, item.author))
        assert item.link is None or item.link.startswith("https://")
    assert feed.link is None and feed.title is None


@pytest.mark.parametrize("doc", [b'{"version": 1}', b'{"version": ["https://jsonfeed.org/version/1"]}', b"[]",
                                 b'{"version": "https://jsonfeed.org/version/1", "items": {"a": 1}}', b"\xff\xfe{"])
def test_json_that_is_not_a_feed_is_a_feed_error_or_an_empty_feed(doc):
    try:
        assert parse_feed(doc, "application/json").items == []
    except FeedError as exc:
        assert exc.kind == "feed_unparseable"


def test_fields_are_capped_and_links_must_be_http():
    big = "T" * 1_000_000
    body = rss20("https://n.example", []).replace(b"</channel>", f"""
      <item><title>{big}</title><link>javascript:alert(document.cookie)</link><guid>1</guid>
        <author>{"A" * 50_000}</author><description>first</description></item>
      <item><title>ok</title><link>/relative/2</link><guid>2</guid><description>second</description></item>
      <item><title>ok</title><link>data:text/html;base64,PHNjcmlwdD4=</link><guid>3</guid><description>x</description></item>
    </channel>""".encode())
    feed = parse_feed(body, "application/rss+xml", "https://n.example/feed")
    first, second, third = feed.items
    assert len(first.title) == MAX_TITLE and first.link is None and len(first.author or "") <= MAX_AUTHOR
    assert second.link == "https://n.example/relative/2" and third.link is None
    assert feed.notes["item_link_rejected"] == 2 and feed.notes["item_field_truncated"] >= 1


@pytest.mark.parametrize("value, ok", [("https://a.example/x", True), ("http://a.example", True),
                                       ("javascript:alert(1)", False), ("JavaScript:alert(1)", False),
                                       ("data:text/html,x", False), ("file:///etc/passwd", False),
                                       ("/relative", False), ("https://a.example/" + "x" * 5000, False),
                                       ("https://a.example/a b", False), (["https://a.example"], False)])
def test_only_http_urls_are_record_urls(value, ok):
    assert (http_url(value) is not None) == ok


@pytest.mark.parametrize("old, new, same", [
    ("https://news.example/rss", "https://news.example/feed", True),
    ("https://news.example/rss", "https://www.news.example/rss", True),
    ("http://news.example/rss", "https://news.example/rss", True),
    ("https://news.example/rss", "http://news.example/rss", False),
    ("https://news.example/rss", "https://evil.example/rss", False),
    ("https://news.example/rss", "https://news.example:8443/rss", False),
    ("http://127.0.0.1:8000/rss", "http://localhost:8000/rss", False),
])
def test_a_permanent_move_is_stored_only_within_the_site(old, new, same):
    assert same_site(old, new) == same


@pytest.mark.parametrize("body, content_type, expected, charset", [
    ("<p>Привет мир</p>".encode("koi8-r"), "text/html; charset=KOI8-R", "Привет мир", "koi8-r"),
    ('<meta charset="windows-1251"><p>Привет</p>'.encode("cp1251"), "text/html", "Привет", "cp1251"),
    ('<?xml version="1.0" encoding="iso-8859-15"?><p>€ été</p>'.encode("iso-8859-15"), "", "€ été", "iso8859-15"),
    ('<meta charset="iso-8859-1"><p>été “x”</p>'.encode("cp1252"), "", "été “x”", "cp1252"),
    ("<p>été</p>".encode("utf-8"), "", "été", "utf-8"),
])
def test_http_and_in_page_charsets_are_honoured(body, content_type, expected, charset):
    text, used, undecodable = decode_page(body, content_type)
    assert expected in text and used == charset and undecodable == 0


def test_undecodable_bytes_are_counted():
    text, used, undecodable = decode_page("<p>é à ç</p>".encode("latin-1"), "text/html; charset=utf-8")
    assert used == "utf-8" and undecodable == 3 and text.count("\ufffd") == 3


def test_https_connects_to_the_checked_address_with_the_host_name_for_sni_and_the_certificate(tmp_path):
    """The socket goes to the address that passed, but TLS still sends the URL's host name (SNI) and checks the
    certificate against it, and the Host header is the URL's."""
    import http.server
    import shutil
    import ssl
    import subprocess

    import httpx

    from pipeline.feeds.egress import RequestClock
    from pipeline.feeds.httpx_pool_patch import guarded_transport

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate (.ci/run installs it)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    seen: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen["host"] = self.headers["Host"]
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: seen.__setitem__("sni", name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    trusted = ssl.create_default_context(cafile=str(cert))
    try:
        client = httpx.Client(transport=guarded_transport(EgressPolicy(allow_private=True), RequestClock(), trusted))
        assert client.get(f"https://localhost:{port}/").text == "ok"
        assert seen == {"sni": "localhost", "host": f"localhost:{port}"}
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):   # the name is still checked
            client.get(f"https://127.0.0.1:{port}/")
        with pytest.raises(EgressRefused):
            httpx.Client(transport=guarded_transport(EgressPolicy(), RequestClock(), trusted)).get(
                f"https://localhost:{port}/")
    finally:
        server.shutdown()
