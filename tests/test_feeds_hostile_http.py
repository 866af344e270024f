"""One poll against a hostile site on loopback (pipeline/tools/feed_site.py), no broker: deadlines that hold,
redirects that cannot reach inside or move a feed away, Retry-After and page retries bounded, items past the
cap and shared GUIDs not lost, oversize items cut, every failure the feed's own. The site is allowed by
NEWSFEED_FEEDS_ALLOW_NETWORKS=127.0.0.1/32; an "internal" server on 127.0.0.2 is not."""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.contracts.schemas import errors
from pipeline.feeds.config import FeedSettings
from pipeline.feeds.egress import EgressPolicy
from pipeline.feeds.fetch import Fetcher, FetchError
from pipeline.feeds.poll import poll_feed
from pipeline.feeds.politeness import HostGate, RobotsCache
from pipeline.feeds.state import FeedState
from pipeline.tools.feed_site import FeedSite, Route, articles_from, json_feed, rss20

from conftest import SEEDS

ARTICLES = articles_from(sorted(SEEDS.glob("*.txt")), "fr")
FS = dataclasses.replace(FeedSettings(), host_interval=0.0, timeout=1.0, interval=300, max_backoff=600,
                         allow_networks="127.0.0.1/32")


@pytest.fixture
def site():
    with FeedSite() as s:
        yield s


@pytest.fixture
def internal():
    """A service inside the network the feed must never reach (127.0.0.2 is loopback, not allowed)."""
    with FeedSite(host="127.0.0.2") as s:
        s.add("/secret", Route(b"<html><body><p>" + b"INTERNAL-SECRET " * 40 + b"</p></body></html>"))
        yield s


def poller(settings=FS, per_host=2):
    fetcher = Fetcher(settings.user_agent, settings.timeout, settings.max_redirects, HostGate(per_host, 0.0),
                      settings.egress_policy())
    robots = RobotsCache(fetcher.get_plain, settings.user_agent)
    pages = ThreadPoolExecutor(4)
    return fetcher, lambda state, now=1_000_000.0, s=settings: poll_feed(state, fetcher, robots, s, pages, now)


def test_a_server_dripping_its_status_line_is_cut_off_at_the_total_deadline(site):
    url = site.add("/drip", Route(rss20(site.base, []), "application/rss+xml", drip=0.02))
    started = time.monotonic()
    result = poller()[1](FeedState(feed=url))
    took = time.monotonic() - started
    assert result.outcome == "failed" and result.errors[0][0] == "feed_timeout" and took < FS.timeout + 1.0, took


def test_the_deadline_starts_when_the_request_gets_its_slot_not_while_it_queues(site):
    """One request per host at a time: two slow pages (0.7 s each) ahead of a quick one make it queue 1.4 s, more
    than the 1 s timeout, and it still succeeds."""
    fetcher, _ = poller(per_host=1)
    for name in ("a", "b"):
        site.add(f"/slow-{name}", Route(b"<html><body>slow</body></html>", delay=0.7))
    site.add("/quick", Route(b"<html><body>quick</body></html>"))
    outcomes = {}

    def get(path):
        try:
            outcomes[path] = fetcher.get(site.url(path), 10_000).status
        except FetchError as exc:
            outcomes[path] = exc.kind

    threads = [threading.Thread(target=get, args=(p,)) for p in ("/slow-a", "/slow-b")]
    for t in threads:
        t.start()
    time.sleep(0.1)
    get("/quick")
    for t in threads:
        t.join()
    assert outcomes == {"/slow-a": 200, "/slow-b": 200, "/quick": 200}


def test_a_cancel_abandons_a_request_in_flight_at_once(site):
    fetcher, _ = poller(dataclasses.replace(FS, timeout=30.0))
    site.add("/stall", Route(b"late", delay=20))
    threading.Timer(0.3, fetcher.cancel).start()
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetcher.get(site.url("/stall"), 10_000)
    assert caught.value.kind == "cancelled" and time.monotonic() - started < 1.5


def test_redirects_and_links_cannot_reach_inside_or_open_files(site, internal):
    secret = internal.url("/secret")
    pairs = site.add_articles(ARTICLES[:4])
    site.add("/to-file", Route(b"", status=302, headers={"Location": "file:///etc/passwd"}))
    site.add("/to-inside", Route(b"", status=301, headers={"Location": secret}))
    items = [(pairs[0][0], site.url("/to-file")), (pairs[1][0], site.url("/to-inside")), (pairs[2][0], secret),
             pairs[3]]
    url = site.add("/rss", Route(rss20(site.base, items), "application/rss+xml"))
    result = poller()[1](FeedState(feed=url))
    assert internal.hits["/secret"] == 0 and internal.hits["/robots.txt"] == 0
    assert not any("INTERNAL-SECRET" in r["text"] for r in result.records)
    assert [r["extraction"] for r in result.records] == ["feed", "feed", "feed", "page"]
    assert sorted(result.fallbacks) == ["page_refused"] * 3
    # and a feed that redirects inside is this feed's refusal: a dead letter, a backoff, no retry loop
    feed = site.add("/feed-inside", Route(b"", status=302, headers={"Location": secret}))
    refused = poller()[1](FeedState(feed=feed), now=1000.0)
    assert [letter["error"]["kind"] for letter in refused.letters] == ["feed_refused"]
    assert errors("deadletter", refused.letters[0]) == [] and refused.state.next_poll_at >= 1000.0 + FS.interval


def test_a_permanent_redirect_to_another_site_is_followed_but_not_stored(site):
    pairs = site.add_articles(ARTICLES[:1])
    site.add("/feed", Route(rss20(site.base, pairs), "application/rss+xml"))
    elsewhere = site.url("/feed").replace("127.0.0.1", "localhost")   # another host name: another site
    old = site.add("/old", Route(b"", status=301, headers={"Location": elsewhere}))
    result = poller()[1](FeedState(feed=old))
    assert len(result.records) == 1 and result.state.url == old
    assert "feed_moved_offsite" in [k for k, _ in result.errors]


@pytest.mark.parametrize("retry_after", ["999999", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_retry_after_is_capped_by_the_longest_backoff(site, retry_after):
    url = site.add("/rss", Route(b"later", "text/plain", status=429, headers={"Retry-After": retry_after}))
    result = poller()[1](FeedState(feed=url), now=1000.0)
    assert result.errors[0][0] == "feed_rate_limited" and result.state.next_poll_at == 1000.0 + FS.max_backoff


def test_a_page_that_keeps_failing_is_retried_a_few_polls_then_dead_lettered_with_conditional_get_on(site):
    pairs = site.add_articles(ARTICLES[:2])
    site.routes["/news/" + ARTICLES[1].slug] = Route(b"down", "text/plain", status=500)
    url = site.add("/rss", Route(rss20(site.base, pairs), "application/rss+xml", etag='"e"'))
    _, poll = poller()
    state, outcomes = FeedState(feed=url), []
    for n in range(FS.page_retries):
        result = poll(state, now=1_000_000.0 + n * 400)
        outcomes.append((result.outcome, len(result.records), result.deferred, [k for k in (
            letter["error"]["kind"] for letter in result.letters)]))
        state = result.state
    assert outcomes == [("fetched", 1, 1, []), ("not_modified", 0, 1, []),
                        ("not_modified", 1, 0, ["page_retries_exhausted"])]
    assert site.hits["/news/" + ARTICLES[1].slug] == FS.page_retries and state.pending == []
    feed_requests = [h for p, h in site.requests if p == "/rss"]
    assert len(feed_requests) == FS.page_retries and all(h.get("If-None-Match") == '"e"' for h in feed_requests[1:])


def test_items_past_the_cap_and_items_sharing_a_guid_are_counted_and_not_lost(site):
    settings = dataclasses.replace(FS, max_items=3, fetch_pages=False)
    articles = articles_from(sorted(SEEDS.glob("*.txt")) + sorted((SEEDS.parent / "bench/english").glob("*.txt"))[:2],
                             "fr")
    items = [(a, f"{site.base}/n/{a.slug}") for a in articles]
    shared = [(dataclasses.replace(a, slug="same-guid"), link) for a, link in items[:2]]   # one GUID, two links
    url = site.add("/rss", Route(rss20(site.base, shared + items[2:]), "application/rss+xml", etag='"x"'))
    _, poll = poller(settings)
    first = poll(FeedState(feed=url))
    kinds = [k for k, _ in first.errors]
    assert len(first.records) == 3 and first.deferred == len(items) - 3 and first.state.etag is None
    assert "items_over_cap" in kinds and "item_duplicate_guid" in kinds
    second = poll(first.state, now=1_000_400.0)
    third = poll(second.state, now=1_000_800.0)
    sent = [r["url"] for r in first.records + second.records + third.records]
    assert sorted(sent) == sorted(link for _, link in items) and third.deferred == 0


def test_an_item_over_the_message_limit_is_cut_and_the_feed_goes_on(site):
    long_article = dataclasses.replace(ARTICLES[0], paragraphs=ARTICLES[0].paragraphs * 400)
    pairs = site.add_articles([long_article] + ARTICLES[1:3])
    url = site.add("/rss", Route(rss20(site.base, pairs), "application/rss+xml"))
    settings = dataclasses.replace(FS, max_record_bytes=60_000, max_page_bytes=10_000_000)
    result = poller(settings)[1](FeedState(feed=url))
    assert len(result.records) == 3 and "item_truncated" in [k for k, _ in result.errors]
    import orjson

    assert all(len(orjson.dumps(r)) <= 60_000 and errors("raw", r) == [] for r in result.records)
    assert "text cut from" in result.records[0]["extraction_note"]


def test_a_mistyped_json_feed_is_its_own_feeds_outcome(site):
    pairs = site.add_articles(ARTICLES[:1])
    good = json_feed(site.base, pairs)[:-2] + b',{"id":[1],"url":{"a":1},"title":7,"content_text":["x"]}]}'
    url = site.add("/feed.json", Route(good, "application/feed+json"))
    result = poller()[1](FeedState(feed=url))
    assert result.outcome == "fetched" and [r["url"] for r in result.records] == [pairs[0][1]]
    assert [letter["error"]["kind"] for letter in result.letters] == ["page_empty"]


def test_the_allow_setting_off_refuses_the_loopback_site(site):
    url = site.add("/rss", Route(rss20(site.base, site.add_articles(ARTICLES[:1])), "application/rss+xml"))
    settings = dataclasses.replace(FS, allow_networks="")
    assert settings.egress_policy() == EgressPolicy()
    result = poller(settings)[1](FeedState(feed=url))
    assert [letter["error"]["kind"] for letter in result.letters] == ["feed_refused"] and sum(site.hits.values()) == 0
