"""One poll of a feed against a real HTTP server on 127.0.0.1 (pipeline/tools/feed_site.py), counting its
requests: formats, conditional GET, Retry-After, every fault, extraction on realistic pages. No broker here."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.contracts.schemas import errors
from pipeline.feeds.config import FeedSettings
from pipeline.feeds.egress import EgressPolicy
from pipeline.feeds.fetch import Fetcher
from pipeline.feeds.poll import poll_feed
from pipeline.feeds.politeness import HostGate, RobotsCache
from pipeline.feeds.state import FeedState
from pipeline.tools.feed_site import BOILERPLATE, FeedSite, Route, articles_from, atom, json_feed, rss10, rss20, rss091

from conftest import SEEDS

ARTICLES = articles_from(sorted(SEEDS.glob("*.txt")), "fr")
FS = dataclasses.replace(FeedSettings(), host_interval=0.0, timeout=1.0, interval=300, max_feed_bytes=200_000)


@pytest.fixture
def site():
    with FeedSite() as s:
        yield s


class Poller:
    def __init__(self, settings=FS):
        self.settings = settings
        # the site is on loopback: these tests allow internal addresses (test_feeds_hostile.py checks the refusal)
        self.fetcher = Fetcher(settings.user_agent, settings.timeout, settings.max_redirects, HostGate(2, 0.0),
                               EgressPolicy(allow_private=True))
        self.robots = RobotsCache(self.fetcher.get_plain, settings.user_agent)
        self.pages = ThreadPoolExecutor(4)

    def poll(self, state, now=1_000_000.0):
        return poll_feed(state, self.fetcher, self.robots, self.settings, self.pages, now)


def assert_valid(records):
    for record in records:
        assert errors("raw", record) == [], record


@pytest.mark.parametrize("build, content_type", [(rss091, "text/xml; charset=iso-8859-1"), (rss10, "application/rdf+xml"),
                                                 (rss20, "application/rss+xml"), (atom, "application/atom+xml"),
                                                 (json_feed, "application/feed+json")])
def test_each_format_gives_schema_valid_records_with_the_page_text(site, build, content_type):
    pairs = site.add_articles(ARTICLES)
    url = site.add("/feed", Route(build(site.base, pairs), content_type))
    result = Poller().poll(FeedState(feed=url))
    assert result.outcome == "fetched" and result.errors == [] and result.pages_fetched == 5
    assert_valid(result.records)
    assert [r["url"] for r in result.records] == [link for _, link in pairs]
    for record, article in zip(result.records, ARTICLES):
        assert record["source"] == url and record["extraction"] == "page" and record["lang_hint"] == "fr"
        assert all(p in record["text"] for p in article.paragraphs), "the whole body is extracted"
        assert not [b for b in BOILERPLATE if b in record["text"]], "and none of the page chrome"
        assert record["author"] == "Camille Martin" and record["published_at"].startswith("2025-03-15")
    assert all(h.get("User-Agent", "").startswith("newsfeed/") for _, h in site.requests)


def test_304_costs_no_parse_and_nothing_is_sent_twice(site):
    pairs = site.add_articles(ARTICLES[:2])
    url = site.add("/rss", Route(rss20(site.base, pairs), "application/rss+xml", etag='"v1"',
                                 last_modified="Sat, 15 Mar 2025 08:30:00 GMT"))
    poller = Poller()
    first = poller.poll(FeedState(feed=url))
    assert len(first.records) == 2 and first.state.etag == '"v1"'
    second = poller.poll(first.state)
    assert second.outcome == "not_modified" and second.records == [] and second.pages_fetched == 0
    assert site.requests[-1][1]["If-None-Match"] == '"v1"'
    assert site.requests[-1][1]["If-Modified-Since"] == "Sat, 15 Mar 2025 08:30:00 GMT"
    # the server forgets its validators: the feed is parsed again, but no item is new
    site.routes["/rss"] = Route(rss20(site.base, pairs), "application/rss+xml")
    third = poller.poll(second.state)
    assert third.outcome == "fetched" and third.records == [] and site.hits["/news/" + ARTICLES[0].slug] == 1


def test_a_changed_guid_or_tracking_parameters_do_not_make_a_second_article(site):
    pairs = site.add_articles(ARTICLES[:2])
    url = site.add("/rss", Route(rss20(site.base, pairs), "application/rss+xml"))
    poller = Poller()
    first = poller.poll(FeedState(feed=url))
    changed = [(dataclasses.replace(a, slug=a.slug + "-v2"), link + "?utm_source=rss&utm_medium=feed")
               for a, link in pairs]
    site.routes["/rss"] = Route(rss20(site.base, changed), "application/rss+xml")
    again = poller.poll(first.state)
    assert len(first.records) == 2 and again.records == []


def test_retry_after_is_honoured(site):
    pairs = site.add_articles(ARTICLES[:1])
    url = site.add("/rss", Route(b"slow down", "text/plain", status=429, headers={"Retry-After": "120"},
                                 then=Route(rss20(site.base, pairs), "application/rss+xml")))
    poller = Poller()
    limited = poller.poll(FeedState(feed=url), now=1000.0)
    assert limited.outcome == "failed" and limited.errors[0][0] == "feed_rate_limited" and limited.letters == []
    assert limited.state.next_poll_at == 1120.0 and site.hits["/rss"] == 1
    after = poller.poll(limited.state, now=1120.0)
    assert after.outcome == "fetched" and len(after.records) == 1 and after.state.failures == 0


def test_503_on_a_page_leaves_the_item_for_the_next_poll(site):
    pairs = site.add_articles(ARTICLES[:2])
    page = pairs[1][1].replace(site.base, "")
    site.routes[page] = Route(b"busy", "text/plain", status=503, headers={"Retry-After": "30"}, then=site.routes[page])
    url = site.add("/rss", Route(rss20(site.base, pairs), "application/rss+xml", etag='"e"'))
    poller = Poller()
    first = poller.poll(FeedState(feed=url))
    # conditional GET stays on: the waiting item is kept in the state, so a 304 does not hide it
    assert len(first.records) == 1 and first.deferred == 1 and first.state.etag == '"e"'
    second = poller.poll(first.state)
    assert second.outcome == "not_modified" and site.requests[-2][1]["If-None-Match"] == '"e"'
    assert [r["url"] for r in second.records] == [pairs[1][1]] and second.deferred == 0 and second.state.pending == []


def test_a_page_that_times_out_is_retried_at_the_next_poll(site):
    pairs = site.add_articles(ARTICLES[:2])
    page = pairs[0][1].replace(site.base, "")
    site.routes[page] = dataclasses.replace(site.routes[page], delay=1.6, then=site.routes[page])
    url = site.add("/rss", Route(rss20(site.base, pairs), "application/rss+xml"))
    poller = Poller()
    first = poller.poll(FeedState(feed=url))
    assert ("page_timeout" in [k for k, _ in first.errors]) and first.deferred == 1 and len(first.records) == 1
    second = poller.poll(first.state)
    assert [r["url"] for r in second.records] == [pairs[0][1]] and second.records[0]["extraction"] == "page"
    assert site.hits[page] == 2


@pytest.mark.parametrize("route, kind", [
    (Route(b"<html><body>an error page, not a feed</body></html>"), "feed_unparseable"),
    (Route(b"<rss" + b"x" * 300_000, "application/rss+xml"), "feed_too_large"),
    (Route(b"gone", "text/plain", status=410), "feed_gone"),
    (Route(b"missing", "text/plain", status=404), "feed_gone"),
    (Route(b"", status=302, headers={"Location": "/loop-b"}), "feed_redirect_loop"),
])
def test_feed_faults_give_a_dead_letter_and_back_off(site, route, kind):
    site.add("/loop-b", Route(b"", status=302, headers={"Location": "/feed"}))
    url = site.add("/feed", route)
    result = Poller().poll(FeedState(feed=url), now=1000.0)
    assert result.outcome == "failed" and result.records == []
    assert [letter["error"]["kind"] for letter in result.letters] == [kind]
    assert errors("deadletter", result.letters[0]) == []
    assert result.state.failures == 1 and result.state.next_poll_at == 1000.0 + 300


def test_a_feed_with_a_wrong_encoding_is_read_and_said_so(site):
    pairs = site.add_articles(ARTICLES[:1])
    body = rss20(site.base, pairs).replace(b'encoding="utf-8"', b'encoding="utf-8"').replace(
        "é".encode(), "é".encode("latin-1"))  # declared UTF-8, some bytes latin-1
    url = site.add("/rss", Route(body, "application/rss+xml; charset=utf-8"))
    result = Poller().poll(FeedState(feed=url))
    assert len(result.records) == 1 and result.records[0]["extraction"] == "page"
    assert [k for k, _ in result.errors if k.startswith("feed_")] in (["feed_encoding"], ["feed_not_well_formed"])


def test_a_timed_out_feed_is_retried_later_without_a_dead_letter(site):
    url = site.add("/rss", Route(b"", delay=1.6))
    result = Poller().poll(FeedState(feed=url), now=1000.0)
    assert result.errors[0][0] == "feed_timeout" and result.letters == [] and result.state.next_poll_at > 1000.0


def test_page_faults_fall_back_to_the_feeds_text_and_say_why(site):
    pairs = site.add_articles(ARTICLES[:3])
    site.routes["/news/" + ARTICLES[0].slug] = Route(b"nope", "text/plain", status=404)
    site.routes["/news/" + ARTICLES[1].slug] = Route(b"<html><body><p>Short.</p></body></html>")
    site.routes["/news/" + ARTICLES[2].slug] = Route(b"", status=301, headers={"Location": "/news/" + ARTICLES[2].slug})
    url = site.add("/rss", Route(rss20(site.base, pairs), "application/rss+xml"))
    result = Poller().poll(FeedState(feed=url))
    assert_valid(result.records)
    assert [r["extraction"] for r in result.records] == ["feed", "feed", "feed"]
    assert sorted(result.fallbacks) == ["page_gone", "page_redirect_loop", "too_little_text"]
    assert result.records[0]["text"] == ARTICLES[0].paragraphs[0] and "HTTP 404" in result.records[0]["extraction_note"]


def test_permanent_redirect_moves_the_feed(site):
    pairs = site.add_articles(ARTICLES[:1])
    site.add("/old", Route(b"", status=301, headers={"Location": "/new"}))
    site.add("/new", Route(rss20(site.base, pairs), "application/rss+xml", etag='"n"'))
    poller = Poller()
    first = poller.poll(FeedState(feed=site.url("/old")))
    assert first.state.url == site.url("/new") and first.state.feed == site.url("/old")
    second = poller.poll(first.state)
    assert second.outcome == "not_modified" and site.hits["/old"] == 1 and site.hits["/new"] == 2
    site.add("/tmp", Route(b"", status=302, headers={"Location": "/new"}))
    assert poller.poll(FeedState(feed=site.url("/tmp"))).state.url == site.url("/tmp")   # 302: not moved


def test_robots_txt_is_obeyed(site):
    pairs = site.add_articles(ARTICLES[:2])
    site.add("/robots.txt", Route(b"User-agent: newsfeed\nDisallow: /news/" + ARTICLES[1].slug.encode() +
                                  b"\nDisallow: /private\n", "text/plain"))
    url = site.add("/rss", Route(rss20(site.base, pairs), "application/rss+xml"))
    private = site.add("/private/rss", Route(rss20(site.base, pairs), "application/rss+xml"))
    poller = Poller()
    result = poller.poll(FeedState(feed=url))
    assert [r["extraction"] for r in result.records] == ["page", "feed"] and site.hits["/news/" + ARTICLES[1].slug] == 0
    assert poller.poll(FeedState(feed=private)).outcome == "robots_disallowed" and site.hits["/private/rss"] == 0
    assert site.hits["/robots.txt"] == 1   # cached per host
