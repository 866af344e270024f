"""The pure parts of the feed poller: URL identity, backoff, Retry-After, feed parsing, sources, state."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.feeds.parse import FeedError, html_to_text, parse_feed
from pipeline.feeds.politeness import HostGate, backoff_delay, parse_retry_after
from pipeline.feeds.sources import SourceError, declared_homes, expand_sources, is_feed_source, opml_urls
from pipeline.feeds.state import FeedState
from pipeline.feeds.urls import article_id, canonical_url, item_keys
from pipeline.tools import feed_site

from conftest import SEEDS

ARTICLES = feed_site.articles_from(sorted(SEEDS.glob("*.txt"))[:3], "fr")
BASE = "http://news.example"
PAIRS = [(a, f"{BASE}/news/{a.slug}") for a in ARTICLES]


@pytest.mark.parametrize("variant", [
    "https://www.example.com/a/b/", "http://example.com/a/b", "https://EXAMPLE.com:443/a/b?utm_source=rss&utm_medium=x",
    "https://example.com/a//b#comments", "https://example.com/a/b/?fbclid=123", "HTTPS://example.com/a/%62",
])
def test_canonical_url_spellings_of_one_article_agree(variant):
    assert canonical_url(variant) == "https://example.com/a/b"


def test_canonical_url_keeps_what_names_the_article():
    assert canonical_url("https://example.com/story?id=2&page=1") == "https://example.com/story?id=2&page=1"
    assert canonical_url("https://example.com/story?page=1&id=2") == canonical_url("https://example.com/story?id=2&page=1")
    assert canonical_url("https://example.com/story?id=2") != canonical_url("https://example.com/story?id=3")
    assert canonical_url("https://example.com:8443/x") == "https://example.com:8443/x"


def test_item_identity_survives_a_changed_or_missing_guid():
    first = set(item_keys("guid-1", "https://example.com/a?utm_campaign=x"))
    assert first & set(item_keys("guid-2", "http://www.example.com/a/"))   # GUID changed, same article
    assert first & set(item_keys(None, "https://example.com/a"))           # GUID dropped
    assert first & set(item_keys("guid-1", "https://example.com/moved"))   # URL changed, GUID kept
    assert not first & set(item_keys("guid-3", "https://example.com/b"))
    assert item_keys(None, None, "title\0text") == item_keys(None, None, "title\0text")
    assert article_id("f", "g1", "https://example.com/a?utm_source=z") == article_id("f", "g2", "http://example.com/a/")


def test_backoff_doubles_from_the_interval_and_is_capped():
    assert backoff_delay(0, 300, 3600) == 300
    assert [backoff_delay(n, 300, 3600) for n in (1, 2, 3, 4, 5)] == [300, 600, 1200, 2400, 3600]
    assert backoff_delay(1, 0, 3600) == 60    # a zero interval still waits a minute after a failure


def test_retry_after_seconds_and_http_dates():
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 30) == 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 + 30) == 0   # already past
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None and parse_retry_after("") is None


def test_host_gate_spaces_request_starts_per_host():
    clock = [100.0]
    slept = []

    def sleep(s):
        slept.append(round(s, 3))
        clock[0] += s

    gate = HostGate(per_host=2, min_interval=1.5, clock=lambda: clock[0], sleep=sleep)
    for host in ("a", "a", "b", "a"):
        with gate.slot(host):
            pass
    assert slept == [1.5, 1.5]   # a's second and third wait; b's first does not


@pytest.mark.parametrize("build, fmt", [(feed_site.rss091, "rss091n"), (feed_site.rss10, "rss10"),
                                        (feed_site.rss20, "rss20"), (feed_site.atom, "atom10"),
                                        (feed_site.json_feed, "json1.1")])
def test_every_feed_format_gives_its_items(build, fmt):
    feed = parse_feed(build(BASE, PAIRS), "application/feed+json" if fmt.startswith("json") else "")
    assert feed.format == fmt   # 0.91 with its Netscape DOCTYPE: feedparser says rss091n
    assert [i.link for i in feed.items] == [link for _, link in PAIRS]
    assert [i.title for i in feed.items] == [a.title for a in ARTICLES]
    assert feed.items[0].content == ARTICLES[0].paragraphs[0]
    if fmt != "rss091n":   # 0.91 has no item dates
        assert feed.items[0].published_at == "2025-03-15T08:30:00Z"


def test_json_feed_is_recognised_without_its_content_type():
    feed = parse_feed(feed_site.json_feed(BASE, PAIRS), "text/plain")
    assert feed.format == "json1.1" and feed.items[0].author == "Camille Martin" and feed.language == "fr"


@pytest.mark.parametrize("body", [b"", b"<html><body>not a feed</body></html>", b"\x89PNG\r\n\x1a\n\x00\x00",
                                  b'{"version": "https://jsonfeed.org/version/1", "items": [', b'{"title": "no version"}'])
def test_what_is_not_a_feed_is_a_feed_error(body):
    with pytest.raises(FeedError) as caught:
        parse_feed(body, "application/json" if body.startswith(b"{") else "")
    assert caught.value.kind == "feed_unparseable"


def test_html_to_text_keeps_paragraphs_and_drops_scripts():
    assert html_to_text("<p>One &amp; two</p><script>x()</script><p>Three</p>") == "One & two\n\nThree"


def test_sources_urls_lists_and_opml(tmp_path: Path):
    listing = tmp_path / "feeds.txt"
    listing.write_text("# my feeds\nhttps://a.example/rss\n\nhttp://b.example/atom\n")
    subscriptions = tmp_path / "subs.opml"
    subscriptions.write_bytes(feed_site.opml(["https://c.example/feed", "https://a.example/rss"]))
    article = tmp_path / "article.txt"
    article.write_text("A title\n\nSome text that is an article, not a list of feeds.\n")
    assert expand_sources(["https://z.example/f", str(listing), str(subscriptions)]) == [
        "https://z.example/f", "https://a.example/rss", "http://b.example/atom", "https://c.example/feed"]
    assert is_feed_source(str(listing)) and is_feed_source(str(subscriptions)) and not is_feed_source(str(article))
    with pytest.raises(SourceError):
        expand_sources([str(article)])
    with pytest.raises(SourceError):
        opml_urls(b"<rss></rss>")


def test_a_feed_list_declares_a_sources_home(tmp_path: Path):
    listing = tmp_path / "feeds.txt"
    listing.write_text("https://paper.example/rss home=US-MO\nhttps://wire.example/rss\nhttps://fr.example/rss home=FR\n")
    subscriptions = tmp_path / "subs.opml"
    subscriptions.write_text('<?xml version="1.0"?><opml version="2.0"><body>'
                             '<outline text="Local" xmlUrl="https://other.example/feed" home="GB-ENG"/>'
                             '<outline text="Paper again" xmlUrl="https://paper.example/rss" home="US-KS"/></body></opml>')
    assert is_feed_source(str(listing))
    assert expand_sources([str(listing), str(subscriptions)]) == [
        "https://paper.example/rss", "https://wire.example/rss", "https://fr.example/rss", "https://other.example/feed"]
    assert declared_homes([str(listing), str(subscriptions)]) == {   # a URL's first declaration counts
        "https://paper.example/rss": "US-MO", "https://fr.example/rss": "FR", "https://other.example/feed": "GB-ENG"}
    listing.write_text("https://paper.example/rss home=Missouri\n")
    with pytest.raises(SourceError, match="home='Missouri'"):
        expand_sources([str(listing)])
    listing.write_text("https://paper.example/rss in Missouri\n")   # not a feed list: an article, say
    assert not is_feed_source(str(listing))


def test_state_remembers_a_bounded_window_and_round_trips():
    state = FeedState(feed="https://a.example/rss")
    for n in range(10):
        state.remember([f"g{n}", f"u{n}"], keep=6)
    assert state.seen == ["g7", "u7", "g8", "u8", "g9", "u9"]
    assert state.has_seen(["x", "u8"]) and not state.has_seen(["g1"])
    again = FeedState.from_dict(state.to_dict())
    assert again.url == "https://a.example/rss" and again.has_seen(["g9"]) and not again.has_seen(["g6"])


def test_a_feed_is_due_slack_seconds_early_but_a_backoff_stands():
    state = FeedState(feed="https://a.example/rss", polled_at=1000.0, next_poll_at=1900.0)
    assert state.due_at(900) == 1900 and state.due_at(900, slack=30) == 1870
    assert state.due_at(60, slack=30) == 1030   # a shortened --interval, then the slack
    state.failures, state.next_poll_at = 2, 5000.0   # Retry-After or backoff: to the second
    assert state.due_at(900, slack=30) == 5000


def test_every_feed_setting_is_in_the_readme():
    from pipeline.feeds.config import ENV_VARS

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text("utf-8")
    assert [v for v in ENV_VARS.values() if f"`{v}`" not in readme] == []
