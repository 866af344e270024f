"""`newsfeed stories`: the stories now — which articles cover the same event — from the `stories` topic."""

from __future__ import annotations

import sys
import time

import orjson
import typer
from rich.live import Live
from rich.table import Table

from .common import cli, out, require_broker, settings_or_exit, with_broker


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" if n > 1 else name for name, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def rows(found: list[dict], limit: int) -> list[tuple[str, ...]]:
    from pipeline.kafka.stories_view import age

    return [(story["headline"], _counts(story["languages"]), _counts(story["sources"]), str(story["articles"]),
             age(story["first_seen"]), story["id"]) for story in found[:limit]]


COLUMNS = ("headline", "languages", "sources", "articles", "age", "id")


def stories_table(found: list[dict], limit: int) -> Table:
    table = Table(title=f"{len(found)} stories, most recently active first", title_justify="left")
    table.add_column("headline", overflow="ellipsis", no_wrap=True, max_width=70)
    for column in ("languages", "sources"):
        table.add_column(column, overflow="ellipsis", no_wrap=True, max_width=24)
    table.add_column("articles", justify="right")
    table.add_column("age", justify="right", no_wrap=True)
    table.add_column("id", no_wrap=True)
    for row in rows(found, limit):
        table.add_row(*row)
    return table


@cli.command()
def stories(watch: bool = typer.Option(False, "--watch", help="refresh live until Ctrl-C"),
            as_json: bool = typer.Option(False, "--json", help="the summaries as JSON lines, for scripts"),
            limit: int = typer.Option(30, "--limit", min=1, help="show at most N stories"),
            closed: bool = typer.Option(False, "--closed", help="also stories that went idle and took no more "
                                        "articles (NEWSFEED_STORY_IDLE_HOURS)"),
            interval: float = typer.Option(2.0, "--interval", min=0.2, help="seconds between refreshes")) -> None:
    """The stories now: headline, languages, sources, size and age of each group of articles on one event."""
    from pipeline.kafka.stories_view import current_stories

    settings = settings_or_exit()
    address = require_broker(settings)
    read = lambda: with_broker("stories", lambda: current_stories(settings, address, closed), settings)  # noqa: E731
    if as_json:
        for story in read()[:limit]:
            sys.stdout.buffer.write(orjson.dumps(story) + b"\n")
        return
    if not watch:
        found = read()
        if sys.stdout.isatty():
            out.print(stories_table(found, limit))
        else:   # a log, a pipe, CI: one tab-separated line a story, never wrapped into columns
            print(f"# {len(found)} stories, most recently active first")
            print("\t".join(COLUMNS))
            for row in rows(found, limit):
                print("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row))
        return
    try:
        with Live(console=out, auto_refresh=False) as live:
            while True:
                live.update(stories_table(read(), limit), refresh=True)
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
