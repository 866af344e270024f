"""What `newsfeed web` costs: CPU per article read (decoded and indexed) beside decoding alone, the memory of
its state as articles keep coming to the same open stories (bounded by the stories, not the articles), and
how long a page with 10,000 open stories takes to load in Chromium (target: under 1 s).

    .venv/bin/python bench/web.py [--stories 10000] [--articles 200000] [--no-browser]

The records are enriched records of the shape the sink writes (story, places, countries), made up here: the
web state never looks at text or entities, so their content does not change its cost.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import socket
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.runtime.web_server import make_app  # noqa: E402
from pipeline.runtime.web_state import NewsState  # noqa: E402

CITIES = [("Paris", "FR", 48.85, 2.35), ("Berlin", "DE", 52.52, 13.40), ("Kyiv", "UA", 50.45, 30.52),
          ("Nairobi", "KE", -1.29, 36.82), ("Lima", "PE", -12.05, -77.04), ("Tokyo", "JP", 35.69, 139.69),
          ("Sydney", "AU", -33.87, 151.21), ("Cairo", "EG", 30.04, 31.24), ("Ottawa", "CA", 45.42, -75.70)]
LANGUAGES, SOURCES = ("fr", "en", "de", "es", "it", "pt"), [f"outlet-{i}.example" for i in range(40)]


def story_summary(i: int, articles: int, when: str) -> bytes:
    return orjson.dumps({"schema_version": 1, "id": f"st-{i:016x}", "headline": f"Event number {i} in the news today",
                         "languages": {LANGUAGES[i % 6]: articles}, "sources": {SOURCES[i % 40]: articles},
                         "articles": articles, "first_seen": when, "last_seen": when, "updated_at": when,
                         "entities": [{"name": f"Person {i % 500}", "label": "PER", "count": 2}]})


def article(n: int, stories: int, rng: random.Random) -> bytes:
    name, code, lat, lon = CITIES[n % len(CITIES)]
    when = f"2026-12-05T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}Z"
    return orjson.dumps({"schema_version": 2, "id": f"a{n}", "source": SOURCES[n % 40], "title": f"Article {n}",
                         "url": f"https://example.org/{n}", "published_at": when, "ingested_at": when,
                         "language": {"code": LANGUAGES[n % 6]}, "text": "x" * 2000,
                         "story": {"id": f"st-{rng.randrange(stories):016x}", "size": 1},
                         "places": [{"name": name, "geonameid": n % len(CITIES), "country_code": code,
                                     "lat": lat, "lon": lon}],
                         "countries": [{"code": code, "count": 1, "focus": True}]})


def ingest_cost(records: list[bytes], state: NewsState) -> tuple[float, float]:
    """(µs per article decoded only, µs per article decoded and indexed), process CPU time."""
    start = time.process_time()
    for raw in records:
        orjson.loads(raw)
    decode = time.process_time() - start
    start = time.process_time()
    for raw in records:
        state.add_article(orjson.loads(raw))
    return decode / len(records) * 1e6, (time.process_time() - start) / len(records) * 1e6


def filled_state(stories: int, articles: int) -> tuple[NewsState, list[tuple[int, float]]]:
    """A state with `stories` open stories fed `articles` articles; its traced memory every quarter."""
    rng = random.Random(7)
    state = NewsState(idle_hours=10_000)
    for i in range(stories):
        state.add_story(f"st-{i:016x}", orjson.loads(story_summary(i, 1 + i % 9, "2026-12-05T12:00:00Z")))
    gc.collect()
    tracemalloc.start()
    memory = []
    for n in range(articles):
        state.add_article(orjson.loads(article(n, stories, rng)))
        if (n + 1) % (articles // 4) == 0:
            gc.collect()
            memory.append((n + 1, tracemalloc.get_traced_memory()[0] / 2**20))
    tracemalloc.stop()
    return state, memory


def serve_in_thread(state: NewsState) -> str:
    from aiohttp import web

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    loop = asyncio.new_event_loop()

    async def start() -> None:
        runner = web.AppRunner(make_app(state))
        await runner.setup()
        await web.SockSite(runner, sock).start()

    loop.run_until_complete(start())
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def page_load(url: str, stories: int, runs: int = 5) -> list[float]:
    """Seconds from navigation to the first page of rows and the total shown, in Debian's Chromium."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        for _ in range(runs):
            start = time.perf_counter()
            page.goto(url)
            page.wait_for_function(f"() => document.querySelectorAll('#stories tbody tr').length === 100 && "
                                   f"document.getElementById('count').textContent.startsWith('{stories} of')")
            times.append(time.perf_counter() - start)
        click_start = time.perf_counter()
        page.click("#stories tbody tr:nth-child(3)")
        page.wait_for_selector("#detail-articles li")
        times.append(time.perf_counter() - click_start)
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    rng = random.Random(1)
    records = [article(n, args.stories, rng) for n in range(20_000)]
    decode_us, ours_us = ingest_cost(records, NewsState(idle_hours=10_000))
    print("| what | per article |\n|---|---|")
    print(f"| baseline: orjson.loads of the enriched record alone | {decode_us:.1f} µs CPU |")
    print(f"| newsfeed web: decoded and indexed (story, places, countries) | {ours_us:.1f} µs CPU |")
    state, memory = filled_state(args.stories, args.articles)
    print(f"\n| articles read into {args.stories} open stories | state memory (tracemalloc) |\n|---|---|")
    for n, mib in memory:
        print(f"| {n} | {mib:.1f} MiB |")
    url = serve_in_thread(state)
    import urllib.request

    start = time.perf_counter()
    body = urllib.request.urlopen(url + "api/stories?limit=100").read()
    print(f"\n/api/stories, first page of {args.stories}: {(time.perf_counter() - start) * 1000:.1f} ms, "
          f"{len(body)} bytes")
    if not args.no_browser:
        times = page_load(url, args.stories)
        loads = sorted(times[:-1])
        print(f"page load with {args.stories} open stories (Chromium, navigation to first 100 rows shown), "
              f"5 runs: median {loads[2] * 1000:.0f} ms, max {loads[-1] * 1000:.0f} ms (target < 1000 ms); "
              f"a click to the story's articles: {times[-1] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
