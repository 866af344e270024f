"""Cost of the feed poller: pages per second and CPU per page, polling feeds on a local news site
(pipeline/tools/feed_site.py, served from its own process so its CPU is not counted) with the poller's real
code (fetch, parse, trafilatura extraction, record building), no broker.

    .venv/bin/python bench/feeds.py [--feeds 10] [--items 20] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(feeds: int, items: int, queue, stop) -> None:
    from pipeline.tools.feed_site import FeedSite, Route, articles_from, rss20

    texts = sorted((ROOT / "seeds").glob("*.txt")) + sorted((ROOT / "bench" / "english").glob("*.txt"))
    base = articles_from(texts, "fr")
    with FeedSite() as site:
        for f in range(feeds):
            arts = [dataclasses.replace(base[i % len(base)], slug=f"{base[i % len(base)].slug}-{f}-{i}")
                    for i in range(items)]
            site.add(f"/f{f}/rss", Route(rss20(site.base, site.add_articles(arts, prefix=f"/f{f}")),
                                         "application/rss+xml", etag=f'"{f}"'))
        queue.put(site.base)
        stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=10)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("NEWSFEED_FEEDS_HOST_INTERVAL", "0")   # one local host: no politeness delay here
    os.environ.setdefault("NEWSFEED_FEEDS_PER_HOST", str(args.concurrency))
    os.environ.setdefault("NEWSFEED_FEEDS_ALLOW_PRIVATE", "1")   # the bench's site is on loopback
    from concurrent.futures import ThreadPoolExecutor

    from pipeline.feeds.config import FeedSettings
    from pipeline.feeds.fetch import Fetcher
    from pipeline.feeds.poll import poll_feed
    from pipeline.feeds.politeness import HostGate, RobotsCache
    from pipeline.feeds.state import FeedState

    queue, stop = multiprocessing.Queue(), multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.feeds, args.items, queue, stop), daemon=True)
    server.start()
    base = queue.get(timeout=60)
    fs = dataclasses.replace(FeedSettings(), concurrency=args.concurrency)
    fetcher = Fetcher(fs.user_agent, fs.timeout, fs.max_redirects, HostGate(fs.per_host, fs.host_interval),
                      fs.egress_policy())
    robots = RobotsCache(fetcher.get_plain, fs.user_agent)
    pages = ThreadPoolExecutor(fs.concurrency)
    feeds = ThreadPoolExecutor(fs.concurrency)
    states = [FeedState(feed=f"{base}/f{f}/rss") for f in range(args.feeds)]
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        results = list(feeds.map(lambda s: poll_feed(s, fetcher, robots, fs, pages), states))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        fetched = sum(r.pages_fetched for r in results)
        records = sum(len(r.records) for r in results)
        chars = sum(len(rec["text"]) for r in results for rec in r.records)
        cpu2, wall2 = time.process_time(), time.perf_counter()
        again = list(feeds.map(lambda r: poll_feed(r.state, fetcher, robots, fs, pages), results))
        cpu2, wall2 = time.process_time() - cpu2, time.perf_counter() - wall2
    finally:
        stop.set()
        server.join(5)
    print(f"first poll: {args.feeds} feeds x {args.items} items, {fetched} pages fetched, {records} records "
          f"({chars / max(records, 1):.0f} chars each), concurrency {args.concurrency}, {os.cpu_count()} cores")
    print(f"  {fetched / wall:.1f} pages/s, {1000 * cpu / max(fetched, 1):.1f} ms CPU per page "
          f"(poller process: fetch + parse + extraction + record), wall {wall:.2f} s, CPU {cpu:.2f} s")
    print(f"second poll (304 for every feed): {sum(r.outcome == 'not_modified' for r in again)} not modified, "
          f"{1000 * wall2 / args.feeds:.1f} ms wall and {1000 * cpu2 / args.feeds:.2f} ms CPU per feed")


if __name__ == "__main__":
    main()
