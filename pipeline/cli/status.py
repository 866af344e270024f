"""`newsfeed status`: where the backlog sits, per stage and partition, read from the broker
(like `kafka-consumer-groups --describe`, for newsfeed's topology)."""

from __future__ import annotations

import sys
import time

import orjson
import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table

from pipeline.kafka.authorization import Needs

from .common import cli, needs_acls, out, require_broker, settings_or_exit, with_broker


def report(settings, address: str, before: list, after: list, seconds: float) -> dict:
    from pipeline.kafka.lag import status_report

    return status_report(settings, address, before, after, seconds)


def stage_tables(status: dict) -> list[Table]:
    tables = []
    for name, stage in status["stages"].items():
        table = Table(title=f"{name} — group {stage['group']}, topic {stage['topic']}", title_justify="left")
        for column in ("partition", "committed", "high watermark", "lag", "records/s"):
            table.add_column(column, justify="right")
        for p in stage["partitions"]:
            table.add_row(str(p["partition"]), str(p["committed"]), str(p["high_watermark"]), str(p["lag"]),
                          f"{p['records_per_s']:.1f}")
        tables.append(table)
    return tables


def summary_table(status: dict) -> Table:
    lat = status["latency_s"]
    latency = "—" if lat["p50"] is None else f"{lat['p50']:.2f} / {lat['p99']:.2f} s ({lat['records']} records)"
    table = Table(title=f"newsfeed — every {status['interval_s']} s; dead letters {status['dead_letters']}; "
                        f"produce→sink p50 / p99 {latency}", title_justify="left")
    for column in ("stage", "group", "lag", "records/s"):
        table.add_column(column, justify="right" if column in ("lag", "records/s") else "left")
    for name, stage in status["stages"].items():
        style = "bold red" if stage["lag"] and not stage["records_per_s"] else ("yellow" if stage["lag"] else "")
        table.add_row(name, stage["group"], str(stage["lag"]), f"{stage['records_per_s']:.1f}", style=style)
    return table


@cli.command()
def status(interval: float = typer.Option(2.0, "--interval", min=0.2, help="seconds between the two reads "
                                          "that give records/s (and between refreshes with --watch)"),
           watch: bool = typer.Option(False, "--watch", help="refresh live until Ctrl-C: per-stage rate, lag, "
                                      "dead letters, produce→sink latency"),
           as_json: bool = typer.Option(False, "--json", help="one JSON document, for scripts")) -> None:
    """Per stage: consumer group, partition, committed offset, high watermark (from a Fetch), lag, records/s."""
    from pipeline.kafka.lag import snapshot

    settings = settings_or_exit()
    needs_acls(settings, Needs("newsfeed status", ops={"topic": "Read", "group": "Describe"},
                               names={"group": settings.app_id},
                               hints={"group": f"grant Describe on the prefix '{settings.app_id}' "
                                               "(--resource-pattern-type prefixed): every worker layout's group"}))
    address = require_broker(settings)
    read = lambda: with_broker("status", lambda: snapshot(settings, address), settings)  # noqa: E731
    before, taken = read(), time.monotonic()
    if not watch:
        time.sleep(interval)
        after = read()
        status_now = report(settings, address, before, after, time.monotonic() - taken)
        if as_json:
            sys.stdout.buffer.write(orjson.dumps(status_now, option=orjson.OPT_INDENT_2) + b"\n")
        else:
            out.print(summary_table(status_now), *stage_tables(status_now))
        return
    try:
        with Live(console=out, auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                after, now = read(), time.monotonic()
                status_now = report(settings, address, before, after, now - taken)
                live.update(Group(summary_table(status_now), *stage_tables(status_now)), refresh=True)
                before, taken = after, now
    except KeyboardInterrupt:
        pass
