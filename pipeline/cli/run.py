"""`newsfeed run`: the main job on one machine, with its summary table."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from pipeline.kafka.broker import broker_address
from pipeline.kafka.topics import TOPICS
from pipeline.runtime.health import READY_LINE

from .common import LIMIT, RATE, REPEAT, cli, console, create_topics, out, output_dir_or_exit, settings_or_exit
from .send import _replay


@cli.command()
def run(paths: Optional[List[str]] = typer.Argument(
            None, help="files or directories (.txt, .jsonl, RSS/Atom), and feed sources polled once (feed URLs, "
                       "text files of URLs, OPML files); default: seeds/"), repeat: int = REPEAT, limit: Optional[int] = LIMIT,
        rate: Optional[float] = RATE,
        output: Path = typer.Option(None, "--output", "-o", help="output directory (default: NEWSFEED_OUTPUT_DIR or out/)"),
        timeout: float = typer.Option(600, help="give up when articles have no outcome after this many seconds"),
        web: bool = typer.Option(False, "--web", help="after the run, keep the broker and the worker up and "
                                 "serve the page of `newsfeed web` on --web-port until Ctrl-C"),
        web_port: int = typer.Option(8080, "--web-port", min=0, max=65535, help="the page's port (loopback)")) -> None:
    """The main job: broker (embedded unless configured) + worker + replay, until every article has an outcome."""
    from pipeline.kafka import replay as rp
    from pipeline.kafka.outcomes import collect
    from pipeline.tools.processes import start_worker, stop_workers

    from pipeline.feeds.sources import is_feed_source

    started = time.monotonic()
    settings = settings_or_exit()
    feed_args = [p for p in paths or [] if is_feed_source(p)]
    file_args = [p for p in paths or [] if p not in feed_args]
    output = output or settings.output_dir
    output_dir_or_exit(output)
    _first_places_index()
    with broker_address(settings.broker) as address:
        create_topics(settings, address, needed=tuple(TOPICS))
        env = {**os.environ, "NEWSFEED_BROKER": address, "NEWSFEED_OUTPUT_DIR": str(output)}
        log_path = output / "worker.log"
        startup = _StartupWatch(log_path, time.monotonic())
        proc = start_worker(env, log_path)
        startup.start()
        try:
            result = _replay(rp, file_args, repeat, limit, rate, address, settings) if file_args or not feed_args \
                else rp.ReplayResult()
            if feed_args:
                result.keys += _poll_feeds(feed_args, address, settings)
                result.sent = len(result.keys)
            try:
                outcomes = collect(address, settings, set(result.keys), timeout, alive=lambda: proc.poll() is None)
            except (TimeoutError, RuntimeError) as exc:
                console.print(f"[red]{exc}[/red] (worker log: {log_path})")
                raise typer.Exit(1)
            finished = time.monotonic()
            stories = read_stories(settings, address, outcomes.records["enriched"].values())
            _summary(result, outcomes, finished - started, output, startup, stories, finished)
            if web:   # the worker keeps running: the page stays live, and a later article still gets enriched
                from .web import DEFAULT_GROUP, serve_web

                serve_web(settings, address, "127.0.0.1", web_port, 5000, DEFAULT_GROUP)
        finally:
            stop_workers([proc], grace=20)
    raise typer.Exit(1 if result.failed else 0)


def _first_places_index() -> None:
    """The places index's first build (once per machine) runs here, in a child process of its own, with its
    progress on the terminal: in the worker it would pass in silence, and this process keeps none of its memory."""
    from pipeline.stages.places.gazetteer import default_path

    if default_path().exists():
        return
    console.print("places: building the GeoNames index, once per machine")
    subprocess.run([sys.executable, "-m", "pipeline.stages.places.gazetteer"], stdout=subprocess.DEVNULL, check=False)


def _top(counts: dict[str, int], n: int) -> list[tuple[str, int]]:
    """The n most frequent, ties by name: the same summary whatever order the records arrived in."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]


def read_stories(settings, address: str, enriched, wait: float = 5.0) -> list[dict]:
    """The story summaries, for the summary's headline of the largest story. The story stage publishes them
    once a second: read until they count every enriched article (at most `wait` s; none if unreadable)."""
    from collections import Counter

    from pipeline.kafka.stories_view import current_stories

    want = Counter(r["story"]["id"] for r in enriched if r.get("story"))
    deadline = time.monotonic() + wait
    try:
        while True:
            found = current_stories(settings, address, include_closed=True)
            have = {s["id"]: s["articles"] for s in found}
            if all(have.get(story, 0) >= n for story, n in want.items()) or time.monotonic() > deadline:
                return found
            time.sleep(0.5)
    except Exception as exc:  # noqa: BLE001 - the summary says so and goes on
        console.print(f"[yellow]stories not read for the summary: {exc}[/yellow]")
        return []


def _poll_feeds(sources: list[str], address: str, settings) -> list[str]:
    """One poll of the feed sources (state kept in the broker's feed-state topic); the ids it sent."""
    from .feeds import declared_homes, feed_settings_or_exit, feed_urls_or_exit, poll_once, print_summary

    summary = poll_once(feed_urls_or_exit(sources), address, settings, feed_settings_or_exit(),
                        declared_homes(sources))
    print_summary(summary, settings)
    return summary.sent


class _StartupWatch:
    """Reads the worker log as it grows: when models were loaded and when the worker joined its group."""

    def __init__(self, log_path: Path, since: float):
        import threading

        self.log_path, self.since = log_path, since
        # the log is appended to: marks of an earlier run in the same output directory do not count
        self.offset = log_path.stat().st_size if log_path.exists() else 0
        self.seen: dict[str, float] = {}
        self._thread = threading.Thread(target=self._watch, daemon=True)

    MARKS = {"language models loaded": "language models", "NER models loaded": "NER models",
             "Joined group": "group joined", READY_LINE: "worker ready"}

    def start(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        deadline = time.monotonic() + 600
        while len(self.seen) < len(self.MARKS) and time.monotonic() < deadline:
            text = self.log_path.read_bytes()[self.offset:].decode(errors="replace") if self.log_path.exists() else ""
            for needle, name in self.MARKS.items():
                if needle in text and name not in self.seen:
                    self.seen[name] = time.monotonic() - self.since
            time.sleep(0.05)


def _summary(result, outcomes, elapsed: float, output: Path, startup: _StartupWatch | None = None,
             stories: list[dict] | None = None, finished: float | None = None) -> None:
    enriched = list(outcomes.records["enriched"].values())
    duplicates = list(outcomes.records["duplicates"].values())
    letters = list(outcomes.records["deadletter"].values())
    table = Table(title="newsfeed run")
    table.add_column("what")
    table.add_column("count / value", justify="right")
    table.add_row("articles in (replayed)", str(result.sent))
    if result.failed:
        table.add_row("[red]failed to send[/red]", str(result.failed))
    table.add_row("enriched (unique)", str(len(enriched)))
    exact = sum(1 for d in duplicates if d["dedup"]["status"] == "exact")
    table.add_row("duplicates: exact / near", f"{exact} / {len(duplicates) - exact}")
    table.add_row("dead letters", str(len(letters)))
    for stage in ("language", "dedup", "entities"):
        times = [r["timings"].get(f"{stage}_ms") for r in enriched + duplicates]
        times = [t for t in times if t is not None]
        if times:
            table.add_row(f"stage {stage}: median ms / article", f"{statistics.median(times):.2f}")
    languages = {}
    for r in enriched:
        languages[r["language"]["code"]] = languages.get(r["language"]["code"], 0) + 1
    table.add_row("languages", ", ".join(f"{k}={v}" for k, v in sorted(languages.items())) or "-")
    table.add_row("entities found", str(sum(len(r["entities"]) for r in enriched)))
    for what, value in stories_and_places(enriched, stories or []):
        table.add_row(what, value)
    table.add_row("elapsed (incl. start-up)", f"{elapsed:.1f} s")
    ready = startup.seen.get("worker ready") if startup else None
    if startup and startup.seen:
        marks = ", ".join(f"{name} {at:.1f}s" for name, at in sorted(startup.seen.items(), key=lambda kv: kv[1]))
        table.add_row("start-up timeline (since launch)", marks)
    if ready is not None and finished is not None and finished - startup.since > ready:
        # the articles wait in the raw topic while the worker starts: the rate counts from when it could take one
        window = finished - startup.since - ready
        table.add_row("throughput (worker ready → last outcome)", f"{result.sent / window:.2f} docs/s over {window:.1f} s")
    else:
        table.add_row("throughput (incl. start-up)", f"{result.sent / elapsed:.2f} docs/s")
    out.print(table)
    if stories:
        out.print("see them: `newsfeed run --web` keeps the page up after a run; `newsfeed web` on a running broker")
    for kind in ("enriched", "duplicates", "deadletter"):
        path = output / f"{kind}.jsonl"
        if path.exists():
            out.print(f"{kind:10} -> {path}", highlight=False)


def stories_and_places(enriched: list[dict], stories: list[dict]) -> list[tuple[str, str]]:
    """Summary rows: the stories of this run (count, the largest with its headline) and the countries its
    articles are about (focus countries, most articles first)."""
    from collections import Counter

    sizes = Counter(r["story"]["id"] for r in enriched if r.get("story"))
    rows = [("stories", str(len(sizes)))]
    if sizes:
        largest, size = sizes.most_common(1)[0]
        headline = next((s["headline"] for s in stories if s["id"] == largest), None) or \
            next((r.get("title") or r["text"][:80] for r in enriched if r["story"]["id"] == largest), "")
        rows.append(("largest story", f"{size} articles: {headline}"))
    places = {p["geonameid"] for r in enriched for p in r.get("places") or []}
    countries = Counter(c["name"] for r in enriched for c in r.get("countries") or [] if c.get("focus"))
    rows.append(("places", f"{len(places)} distinct; top countries: "
                 + (", ".join(f"{name} {n}" for name, n in _top(countries, 5)) or "-")))
    return rows
