"""`newsfeed run`: the main job on one machine, with its summary table."""

from __future__ import annotations

import os
import statistics
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
        timeout: float = typer.Option(600, help="give up when articles have no outcome after this many seconds")) -> None:
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
        finally:
            stop_workers([proc], grace=20)
    elapsed = time.monotonic() - started
    _summary(result, outcomes, elapsed, output, startup)
    raise typer.Exit(1 if result.failed else 0)


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


def _summary(result, outcomes, elapsed: float, output: Path, startup: _StartupWatch | None = None) -> None:
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
    table.add_row("elapsed (incl. start-up)", f"{elapsed:.1f} s")
    if startup and startup.seen:
        marks = ", ".join(f"{name} {at:.1f}s" for name, at in sorted(startup.seen.items(), key=lambda kv: kv[1]))
        table.add_row("start-up timeline (since launch)", marks)
    table.add_row("throughput", f"{result.sent / elapsed:.2f} docs/s")
    out.print(table)
    for kind in ("enriched", "duplicates", "deadletter"):
        path = output / f"{kind}.jsonl"
        if path.exists():
            out.print(f"{kind:10} -> {path}", highlight=False)
