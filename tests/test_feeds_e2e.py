"""`newsfeed feeds` as a user types it (a subprocess configured by environment variables) against the real
embedded broker and a real local news site: records on the raw topic, state that survives a restart, two
pollers that share the feeds, and the articles through the workers to enriched. The site is on loopback, which
the poller refuses by default: these runs set NEWSFEED_FEEDS_ALLOW_PRIVATE=1 (test_feeds_hostile_e2e.py shows
the refusal)."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest

from pipeline.contracts.schemas import errors
from pipeline.kafka.feed_state import owned_partitions, partition_of, state_partitions
from pipeline.kafka.io import read_partition
from pipeline.tools.feed_site import FeedSite, Route, articles_from, atom, json_feed, rss20

from conftest import NO_NER, ROOT, SEEDS

pytestmark = pytest.mark.slow
ARTICLES = articles_from(sorted(SEEDS.glob("*.txt")), "fr")


def feeds_cmd(stack, *args, **env):
    environment = {**os.environ, **stack.env, "NEWSFEED_FEEDS_HOST_INTERVAL": "0", "NEWSFEED_FEEDS_HTTP_PORT": "0",
                   "NEWSFEED_FEEDS_ALLOW_PRIVATE": "1", **{k: str(v) for k, v in env.items()}}
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "feeds", *args], env=environment, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)


def topic_records(stack, name):
    settings = stack.settings
    return [orjson.loads(v) for p in range(settings.partitions)
            for _, _, v in read_partition(stack.address, settings, settings.topic(name), p)]


@pytest.fixture
def site():
    with FeedSite() as s:
        yield s


def test_once_sends_each_article_once_and_a_restart_neither_refetches_nor_resends(stack_factory, site):
    stack = stack_factory()
    pairs = site.add_articles(ARTICLES)
    url = site.add("/rss", Route(rss20(site.base, pairs), "application/rss+xml", etag='"1"'))
    first = feeds_cmd(stack, url, "--once")
    assert first.returncode == 0, first.stderr
    assert "new articles sent to" in first.stdout and f"{stack.prefix}raw: 5" in first.stdout
    raw = topic_records(stack, "raw")
    assert sorted(r["url"] for r in raw) == sorted(link for _, link in pairs)
    assert all(errors("raw", r) == [] and r["extraction"] == "page" and r["source"] == url for r in raw)
    # restarted: the stored next poll time is honoured, nothing is fetched
    before = sum(site.hits.values())
    again = feeds_cmd(stack, url, "--once")
    assert again.returncode == 0 and "not due yet: 1" in again.stdout and sum(site.hits.values()) == before
    # cron a little early: a feed due within NEWSFEED_FEEDS_DUE_SLACK seconds is polled (a 304 by its ETag)
    early = feeds_cmd(stack, url, "--once", "--interval", "60", NEWSFEED_FEEDS_DUE_SLACK=60)
    assert "not_modified 1" in early.stdout and "not due yet: 0" in early.stdout, early.stdout
    # restarted with a zero interval: due, and the stored ETag makes it a 304
    third = feeds_cmd(stack, url, "--once", "--interval", "0")
    assert "not_modified 1" in third.stdout and site.hits["/rss"] == 3 and site.requests[-1][1]["If-None-Match"] == '"1"'
    # a new item appears: only it is sent
    extra = site.add_articles(articles_from([SEEDS.parent / "bench/english/000_summit.txt"], "en"))
    site.routes["/rss"] = Route(rss20(site.base, extra + pairs), "application/rss+xml", etag='"2"')
    fourth = feeds_cmd(stack, url, "--once", "--interval", "0")
    assert f"{stack.prefix}raw: 1" in fourth.stdout, fourth.stdout
    assert len(topic_records(stack, "raw")) == 6
    state = topic_records(stack, "feed-state")
    assert state[-1]["feed"] == url and state[-1]["etag"] == '"2"'


def test_two_pollers_share_the_feeds_without_duplicates(stack_factory, site):
    stack = stack_factory()
    urls = []
    for n in range(6):
        pairs = site.add_articles(ARTICLES, prefix=f"/s{n}")
        urls.append(site.add(f"/s{n}/feed", Route((atom if n % 2 else json_feed)(site.base, pairs),
                                                  "application/atom+xml" if n % 2 else "application/feed+json")))
    listing = stack.output / "feeds.txt"
    listing.write_text("\n".join(urls) + " home=US-MO\n")   # the last feed's home declared (issue 35)
    procs = [subprocess.Popen([sys.executable, "-m", "pipeline.cli", "feeds", str(listing), "--once"],
                              env={**os.environ, **stack.env, "NEWSFEED_FEEDS_SHARD": f"{i}/2",
                                   "NEWSFEED_FEEDS_ALLOW_PRIVATE": "1",
                                   "NEWSFEED_FEEDS_HOST_INTERVAL": "0", "NEWSFEED_FEEDS_HTTP_PORT": "0"},
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (0, 1)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    raw = topic_records(stack, "raw")
    assert len(raw) == 30 and len({r["id"] for r in raw}) == 30
    assert {(r["source"], r.get("source_home")) for r in raw} == {(u, "US-MO" if u == urls[-1] else None) for u in urls}
    assert all(errors("raw", r) == [] for r in raw)
    assert all(site.hits[f"/s{n}/feed"] == 1 for n in range(6))
    # each shard polled exactly the feeds of its state partitions (the URLs carry the site's free port, so how
    # the 6 feeds fall over the partitions changes from run to run: one shard may own none)
    partitions = state_partitions(stack.address, stack.settings)
    owned = [sum(partition_of(url, partitions) in owned_partitions(partitions, (i, 2)) for url in urls) for i in (0, 1)]
    assert sum(owned) == 6
    assert [f"feeds polled: {n} " in out for (out, _), n in zip(outputs, owned)] == [True, True], (owned, outputs)
    # and a third poller over every feed finds nothing new and fetches nothing (none is due)
    before = sum(site.hits.values())
    third = feeds_cmd(stack, str(listing), "--once")
    assert "feeds polled: 0" in third.stdout and sum(site.hits.values()) == before


def test_feed_articles_reach_enriched_and_faults_reach_the_dead_letters(stack_factory, site):
    stack = stack_factory(NEWSFEED_NER_MODELS=NO_NER)
    pairs = site.add_articles(ARTICLES[:3])
    good = site.add("/rss", Route(rss20(site.base, pairs), "application/rss+xml"))
    broken = site.add("/broken", Route(b"<html>not a feed</html>"))
    stack.start_worker()
    result = feeds_cmd(stack, good, broken, "--once")
    assert result.returncode == 0, result.stderr
    ids = [r["id"] for r in topic_records(stack, "raw")]
    outcomes = stack.outcomes(ids)
    enriched = outcomes.records["enriched"]
    assert set(enriched) == set(ids)
    assert all(r["language"]["code"] == "fr" and r["extraction"] == "page" for r in enriched.values())
    letters = [letter for letter in topic_records(stack, "deadletter") if letter["stage"] == "feeds"]
    assert [(letter["error"]["kind"], letter["source"]["topic"]) for letter in letters] == [("feed_unparseable", broken)]


def test_run_polls_a_feed_next_to_files(tmp_path, site):
    """`newsfeed run FEED_URL FILE`: the embedded broker, a worker, one poll of the feed and the file replayed;
    the feed's copy of the seed article is recognised as a near duplicate of the file's."""
    pairs = site.add_articles(ARTICLES[:2])
    url = site.add("/rss", Route(rss20(site.base, pairs), "application/rss+xml"))
    env = {**os.environ, "NEWSFEED_OUTPUT_DIR": str(tmp_path), "NEWSFEED_NER_MODELS": NO_NER,
           "NEWSFEED_FEEDS_HOST_INTERVAL": "0", "NEWSFEED_FEEDS_HTTP_PORT": "0", "NEWSFEED_HTTP_PORT": "0",
           "NEWSFEED_FEEDS_ALLOW_PRIVATE": "1"}
    env.pop("NEWSFEED_BROKER", None)
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", url, str(sorted(SEEDS.glob("*.txt"))[0])],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "new articles sent to newsfeed.raw: 2" in result.stdout
    enriched = [orjson.loads(line) for line in (tmp_path / "enriched.jsonl").read_bytes().splitlines()]
    duplicates = [orjson.loads(line) for line in (tmp_path / "duplicates.jsonl").read_bytes().splitlines()]
    assert len(enriched) == 2 and len(duplicates) == 1 and duplicates[0]["dedup"]["status"] == "near"
    assert sum(r.get("extraction") == "page" for r in enriched + duplicates) == 2


def test_long_running_poller_serves_health_ready_metrics_and_stops_on_sigterm(stack_factory, site):
    """`newsfeed feeds URL` without --once: /health and /ready as for workers, /metrics counting the poll,
    and SIGTERM ends it with exit 0."""
    import signal
    import time

    from pipeline.kafka.broker import free_port

    from http_helpers import get, scrape, value, wait_for

    stack = stack_factory()
    url = site.add("/rss", Route(rss20(site.base, site.add_articles(ARTICLES)), "application/rss+xml"))
    port = free_port()
    env = {**os.environ, **stack.env, "NEWSFEED_FEEDS_HOST_INTERVAL": "0", "NEWSFEED_FEEDS_HTTP_PORT": str(port),
           "NEWSFEED_FEEDS_ALLOW_PRIVATE": "1"}
    poller = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "feeds", url], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/ready", poller, timeout=120)
        assert get(f"{base}/health")[0] == 200
        deadline = time.monotonic() + 120
        while value(scrape(f"{base}/metrics"), "newsfeed_feed_items_new_total") < 5:
            assert time.monotonic() < deadline and poller.poll() is None, "the poll never counted 5 new items"
            time.sleep(0.5)
        samples = scrape(f"{base}/metrics")
        assert value(samples, "newsfeed_feed_pages_fetched_total") == 5
        assert value(samples, "newsfeed_feeds_owned") == 1
        poller.send_signal(signal.SIGTERM)
        assert poller.wait(60) == 0, poller.stdout.read().decode(errors="replace")[-3000:]
    finally:
        if poller.poll() is None:
            poller.kill()
    assert len(topic_records(stack, "raw")) == 5
