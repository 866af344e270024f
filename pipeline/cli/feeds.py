"""`newsfeed feeds SOURCE...`: poll news feeds, send their new articles to the raw topic."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import List, Optional

import typer

from pipeline.kafka.acls import FEEDS_TOPICS
from pipeline.kafka.authorization import Needs, check_topics

from .common import cli, console, create_topics, needs_acls, out, require_broker, settings_or_exit


def feed_settings_or_exit(interval: float | None = None):
    import dataclasses

    from pipeline.feeds.config import FeedSettings

    try:
        fs = FeedSettings()
    except ValueError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2)
    return dataclasses.replace(fs, interval=interval) if interval is not None else fs


def feed_urls_or_exit(sources: list[str]) -> list[str]:
    from pipeline.feeds.sources import SourceError, expand_sources

    try:
        urls = expand_sources(sources)
    except (SourceError, OSError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2)
    if not urls:
        console.print("[red]no feed URL in the sources given[/red]")
        raise typer.Exit(2)
    return urls


def declared_homes(sources: list[str]) -> dict[str, str]:
    from pipeline.feeds.sources import declared_homes as declared

    return declared(sources)   # the sources were checked by feed_urls_or_exit


def poll_once(urls: list[str], address: str, settings, fs, homes: dict[str, str] | None = None):
    """One poll of every due feed, acknowledged; the summary."""
    from pipeline.runtime.feed_poller import FeedPoller

    poller = FeedPoller(urls, address, settings, fs, homes)
    try:
        poller.start()
        return poller.poll_once(slack=fs.due_slack)
    finally:
        poller.close()


def print_summary(summary, settings) -> None:
    polled = ", ".join(f"{k} {v}" for k, v in sorted(summary.polled.items())) or "none"
    out.print(f"feeds polled: {sum(summary.polled.values())} ({polled}); not due yet: {summary.not_due}",
              highlight=False, soft_wrap=True)
    out.print(f"new articles sent to {settings.topic('raw')}: {len(summary.sent)}; pages fetched: {summary.pages}; "
              f"text from the feed instead of the page: {summary.fallbacks}", highlight=False, soft_wrap=True)
    out.print(f"dead letters: {summary.letters}; items left for the next poll: {summary.deferred}", highlight=False, soft_wrap=True)
    if summary.interrupted:
        out.print(f"polls abandoned by the shutdown: {summary.interrupted} (their feeds are polled again next time)",
                  highlight=False, soft_wrap=True)
    for error in summary.errors[:20]:
        console.print(f"[yellow]{error}[/yellow]", highlight=False, soft_wrap=True)


@cli.command()
def feeds(sources: List[str] = typer.Argument(..., help="feed URLs (RSS, Atom, JSON Feed), text files of URLs, OPML files"),
          once: bool = typer.Option(False, "--once", help="poll each due feed once, wait for the broker's "
                                    "acknowledgement, print a summary and exit"),
          interval: Optional[float] = typer.Option(None, "--interval", min=0,
                                                   help="seconds between polls of a feed (default: NEWSFEED_FEEDS_INTERVAL, 900)")) -> None:
    """Poll news feeds and send each new article (its page's main text) to the raw topic."""
    from pipeline.runtime.feed_poller import FeedPoller
    from pipeline.runtime.health import Readiness
    from pipeline.runtime.http import bind, serve_in_thread

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)   # its connection chatter (~100 lines a start)
    settings, fs = settings_or_exit(), feed_settings_or_exit(interval)
    needs_acls(settings, Needs("newsfeed feeds", ops={"topic": "Write"}, topic_ops={"feed-state": "Read and Write"}))
    urls = feed_urls_or_exit(sources)
    address = require_broker(settings)
    create_topics(settings, address, needed=tuple(FEEDS_TOPICS))
    check_topics(address, settings, [settings.topic("feed-state")])   # its state is read before anything else
    ready = Readiness(("state", "feed state not read from the broker yet"))
    stop_http = serve_in_thread(bind(settings.http_host, fs.http_port), ready) if fs.http_port else None
    stop, signals = threading.Event(), []
    poller = FeedPoller(urls, address, settings, fs, declared_homes(sources))

    def on_signal(signum, _frame):   # requests in flight are abandoned at once, not waited for
        signals.append(signum)
        stop.set()
        poller.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        poller.start()
        ready.ok("state")
        if once:
            summary = poller.poll_once(slack=fs.due_slack) if not stop.is_set() else None
            if summary is not None:
                print_summary(summary, settings)
            if signals:   # --once stopped by a signal: 128 + its number (143 for SIGTERM, 130 for Ctrl-C)
                console.print(f"[yellow]newsfeed feeds: stopped by {signal.Signals(signals[0]).name}; what was "
                              "acknowledged is kept, the rest is polled next time[/yellow]")
                raise typer.Exit(128 + signals[0])
            raise typer.Exit(1 if any(e.startswith("produce:") for e in summary.errors) else 0)
        poller.run(stop)
    finally:
        poller.close()
        if stop_http:
            stop_http()
