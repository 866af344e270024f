"""A hostile site against `newsfeed feeds URL --once` and `newsfeed run URL` as a user types them, on the real
brokers: one site on loopback serves every attack at once next to healthy feeds, and the user gets what they
want — nothing read from disk, nothing internal fetched, the healthy feeds delivered, bounded time and memory,
SIGTERM obeyed. The site is allowed with NEWSFEED_FEEDS_ALLOW_NETWORKS=127.0.0.1/32; the "internal" service
on 127.0.0.2 is not, and with the default settings 127.0.0.1 itself is refused."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from pipeline.tools.feed_site import FeedSite, Route, article_page, articles_from, json_feed, rss20

from conftest import NO_NER, ROOT, SEEDS
from test_feeds_e2e import topic_records

pytestmark = pytest.mark.slow
ARTICLES = articles_from(sorted(SEEDS.glob("*.txt")), "fr")
ENGLISH = articles_from(sorted((SEEDS.parent / "bench/english").glob("*.txt"))[:4], "en")
HOSTILE_ENV = {"NEWSFEED_FEEDS_ALLOW_NETWORKS": "127.0.0.1/32", "NEWSFEED_FEEDS_TIMEOUT": "3",
               "NEWSFEED_FEEDS_MAX_BACKOFF": "600", "NEWSFEED_MAX_MESSAGE_BYTES": "200000",
               "NEWSFEED_FEEDS_MAX_ITEMS": "6", "NEWSFEED_FEEDS_PAGE_RETRIES": "2", "NEWSFEED_FEEDS_PER_HOST": "8",
               "NEWSFEED_FEEDS_HOST_INTERVAL": "0", "NEWSFEED_FEEDS_HTTP_PORT": "0", "NEWSFEED_HTTP_PORT": "0"}


@dataclasses.dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float


def newsfeed(env: dict, *args: str, timeout: float = 180, on_start=None) -> Run:
    """The command as typed, with its own peak memory (wait4: this child's rusage, not the whole test's)."""
    with (open(Path(env["HOSTILE_LOGS"]) / f"{time.time_ns()}.out", "w+b") as out,
          open(Path(env["HOSTILE_LOGS"]) / f"{time.time_ns()}.err", "w+b") as err):
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], env=env, cwd=ROOT, stdout=out, stderr=err)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        if on_start:
            on_start(proc)
        _, status, usage = os.wait4(proc.pid, 0)
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0), err.seek(0)
        return Run(proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                   seconds, usage.ru_maxrss / 1024)


def hostile_site(site: FeedSite, internal: FeedSite, tmp: Path) -> tuple[dict[str, str], str]:
    """Every attack as one feed of the site; (name -> feed URL, the marker of the local file)."""
    marker = f"LOCAL-FILE-MARKER-{time.time_ns()}"
    local = tmp / "local-feed.xml"
    local.write_bytes(rss20("https://local.example", [(ARTICLES[0], f"https://local.example/{marker}")], title=marker))
    fifo = tmp / "feed.fifo"
    os.mkfifo(fifo)
    secret = internal.add("/secret", Route(b"<html><body><p>" + b"INTERNAL-SECRET " * 40 + b"</p></body></html>"))
    site.add("/to-file", Route(b"", status=302, headers={"Location": "file:///etc/passwd"}))
    site.add("/down", Route(b"down", "text/plain", status=500))
    huge = dataclasses.replace(ARTICLES[1], slug="huge", paragraphs=ARTICLES[1].paragraphs * 300)
    site.add("/huge", Route(article_page(huge, site.url("/huge"))))
    cyrillic = dataclasses.replace(ENGLISH[0], slug="koi8", lang="ru",
                                   paragraphs=[p + " Москва и Санкт-Петербург." for p in ENGLISH[0].paragraphs])
    site.add("/koi8", Route(article_page(cyrillic, site.url("/koi8")).replace(b'charset="utf-8"', b"")
                            .decode().encode("koi8-r", "replace"), "text/html; charset=KOI8-R"))
    hostile_items = [(dataclasses.replace(ARTICLES[2], title="T" * 1_000_000), "javascript:alert(document.cookie)"),
                     (ARTICLES[3], secret), (ARTICLES[4], site.url("/to-file")), (huge, site.url("/huge")),
                     (cyrillic, site.url("/koi8")), (dataclasses.replace(ENGLISH[1], slug="down"), site.url("/down"))]
    many = site.add_articles([dataclasses.replace(a, slug=f"{a.slug}-m") for a in ARTICLES + ENGLISH], prefix="/m")
    many[1] = (dataclasses.replace(many[1][0], slug=many[0][0].slug), many[1][1])   # two items, one GUID
    mistyped = (b'{"version": "https://jsonfeed.org/version/1.1", "title": ["x"], "items": [{"id": [1], '
                b'"url": ["https://a.example"], "title": 5, "content_text": 12345}, {"id": "ok", "url": {"a": 1}}]}')
    healthy = site.add_articles(ARTICLES[:2], prefix="/healthy")
    feeds = {
        "healthy": site.add("/healthy.rss", Route(rss20(site.base, healthy), "application/rss+xml")),
        "healthy_json": site.add("/healthy.json", Route(json_feed(site.base, site.add_articles(ENGLISH[2:4], "/j")),
                                                        "application/feed+json")),
        "local_file": site.add("/local-file", Route(str(local).encode(), "application/rss+xml")),
        "dev_zero": site.add("/dev-zero", Route(b"/dev/zero", "application/rss+xml")),
        "fifo": site.add("/fifo", Route(str(fifo).encode(), "application/rss+xml")),
        "mistyped_json": site.add("/mistyped.json", Route(mistyped, "application/feed+json")),
        "drip": site.add("/drip", Route(rss20(site.base, healthy), "application/rss+xml", drip=0.02)),
        "retry_after": site.add("/retry", Route(b"later", "text/plain", status=429, headers={"Retry-After": "999999"})),
        "hostile_items": site.add("/hostile.rss", Route(rss20(site.base, hostile_items), "application/rss+xml")),
        "moved_offsite": site.add("/moved", Route(b"", status=301, headers={
            "Location": site.url("/healthy.rss").replace("127.0.0.1", "localhost")})),
        "many": site.add("/many.rss", Route(rss20(site.base, many), "application/rss+xml")),
        "inside": site.add("/inside", Route(b"", status=302, headers={"Location": secret})),
    }
    return feeds, marker


def test_a_hostile_site_cannot_read_files_reach_inside_stall_or_crash_the_poller(stack_factory, tmp_path):
    stack = stack_factory()
    env = {**os.environ, **stack.env, **HOSTILE_ENV, "HOSTILE_LOGS": str(tmp_path)}
    with FeedSite() as site, FeedSite(host="127.0.0.2") as internal:
        feeds, marker = hostile_site(site, internal, tmp_path)
        listing = tmp_path / "feeds.txt"
        listing.write_text("\n".join(feeds.values()) + "\n")
        first = newsfeed(env, "feeds", str(listing), "--once")
        print(f"first poll: exit {first.returncode} in {first.seconds:.1f}s, peak RSS {first.max_rss_mb:.0f} MB")
        assert first.returncode == 0, first.stderr[-3000:]
        assert first.seconds < 60 and first.max_rss_mb < 1000, (first.seconds, first.max_rss_mb)
        second = newsfeed(env, "feeds", str(listing), "--once", "--interval", "0")
        assert second.returncode == 0, second.stderr[-3000:]
        raw = topic_records(stack, "raw")
        everything = orjson.dumps(raw + topic_records(stack, "deadletter")).decode()
        # nothing from disk, nothing from inside
        assert marker not in everything and "root:x:0:0" not in everything and "INTERNAL-SECRET" not in everything
        assert sum(internal.hits.values()) == 0
        by_source = {}
        for record in raw:
            by_source.setdefault(record["source"], []).append(record)
        # the healthy feeds next to the hostile ones are delivered
        assert len(by_source[feeds["healthy"]]) == 2 and len(by_source[feeds["healthy_json"]]) == 2
        letters = {(d["source"]["topic"], d["error"]["kind"]) for d in topic_records(stack, "deadletter")
                   if d["stage"] == "feeds"}
        for name in ("local_file", "dev_zero", "fifo"):
            assert (feeds[name], "feed_unparseable") in letters, name
        assert (feeds["inside"], "feed_refused") in letters
        assert (feeds["hostile_items"], "page_retries_exhausted") in letters
        # hostile items: every http(s)-only url, capped title, cut text, honoured charset
        items = by_source[feeds["hostile_items"]]
        assert all(r.get("url") is None or r["url"].startswith(("http://127.0.0.", "https://")) for r in items), items
        assert "javascript:" not in orjson.dumps(raw).decode()
        assert all(len(r.get("title") or "") <= 1000 for r in items) and len(items) == 6
        assert any("text cut from" in (r.get("extraction_note") or "") for r in items)
        assert any("Москва" in r["text"] for r in items)
        assert all(len(orjson.dumps(r)) <= 200_000 for r in raw)
        # past the item cap and a shared GUID: all sent over the two polls, none twice
        assert len(by_source[feeds["many"]]) == len(ARTICLES + ENGLISH) == len({r["id"] for r in raw if
                                                                                r["source"] == feeds["many"]})
        states = {s["feed"]: s for s in topic_records(stack, "feed-state")}
        assert states[feeds["retry_after"]]["next_poll_at"] - states[feeds["retry_after"]]["polled_at"] <= 600
        assert states[feeds["moved_offsite"]]["url"] == feeds["moved_offsite"]
        assert "feed_timeout" in first.stderr and feeds["drip"] in first.stderr
        assert "items left for the next poll" in first.stdout

        # the default settings: the loopback site itself is refused, in every spelling, as a counted outcome
        port = site.base.rsplit(":", 1)[1]
        default_env = {k: v for k, v in env.items() if k != "NEWSFEED_FEEDS_ALLOW_NETWORKS"}
        before = sum(site.hits.values())
        refused = newsfeed(default_env, "feeds", site.url("/healthy.rss?default"),
                           f"http://2130706433:{port}/healthy.rss", "--once")
        assert refused.returncode == 0 and "failed 2" in refused.stdout, refused.stdout + refused.stderr[-2000:]
        assert sum(site.hits.values()) == before and refused.stderr.count("feed_refused") >= 2
        refusals = [d for d in topic_records(stack, "deadletter") if d["error"]["kind"] == "feed_refused"]
        assert {d["source"]["topic"] for d in refusals} >= {site.url("/healthy.rss?default"),
                                                             f"http://2130706433:{port}/healthy.rss"}

        # SIGTERM ends --once promptly: the stalled poll is abandoned, nothing of it stored, exit 143
        stall = site.add("/stall", Route(b"late", delay=60))

        def terminate_when_fetching(proc):
            deadline = time.monotonic() + 90
            while site.hits["/stall"] == 0 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            terminate_when_fetching.sent = time.monotonic()

        stopped = newsfeed({**env, "NEWSFEED_FEEDS_TIMEOUT": "120"}, "feeds", stall, "--once",
                           on_start=terminate_when_fetching)
        assert stopped.returncode == 143, stopped.stderr[-2000:]
        assert time.monotonic() - terminate_when_fetching.sent < 10
        assert stall not in {s["feed"] for s in topic_records(stack, "feed-state")}


def test_run_with_a_hostile_feed_next_to_a_healthy_one(tmp_path):
    """`newsfeed run HEALTHY HOSTILE...`: the embedded broker, a worker, one poll; the healthy articles reach
    enriched, the hostile feeds are dead letters, and the run exits 0."""
    with FeedSite() as site, FeedSite(host="127.0.0.2") as internal:
        feeds, marker = hostile_site(site, internal, tmp_path)
        env = {**os.environ, **HOSTILE_ENV, "HOSTILE_LOGS": str(tmp_path), "NEWSFEED_OUTPUT_DIR": str(tmp_path / "out"),
               "NEWSFEED_NER_MODELS": NO_NER}
        env.pop("NEWSFEED_BROKER", None)
        run = newsfeed(env, "run", feeds["healthy"], feeds["local_file"], feeds["mistyped_json"], feeds["inside"],
                       timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    enriched = [orjson.loads(line) for line in (tmp_path / "out" / "enriched.jsonl").read_bytes().splitlines()]
    sources = [r["source"] for r in enriched]
    assert sources.count(feeds["healthy"]) == 2 and not {feeds["local_file"], feeds["inside"]} & set(sources)
    written = b"".join(p.read_bytes() for p in (tmp_path / "out").glob("*.jsonl")).decode()
    assert marker not in written and "INTERNAL-SECRET" not in written and sum(internal.hits.values()) == 0
