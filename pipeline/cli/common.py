"""What every command shares: the Typer app, consoles, common options, settings and topic creation."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import typer
from rich.console import Console

from pipeline import config as config_mod
from pipeline.kafka.io import with_broker_retry
from pipeline.kafka.security import BrokerRefused, check_broker
from pipeline.kafka.topics import create_topics as _create_topics
from pipeline.runtime.preflight import PreflightError, check_output_dir

T = TypeVar("T")
cli = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="newsfeed: stream news articles through language detection, deduplication and NER.")
console = Console(stderr=True)
out = Console()

PATHS = typer.Argument(None, help="files or directories (.txt, .jsonl, RSS/Atom); default: seeds/")
REPEAT = typer.Option(1, "--repeat", min=1, help="send everything N times; copies get new ids, same content")
LIMIT = typer.Option(None, "--limit", min=1, help="send at most N messages")
RATE = typer.Option(None, "--rate", min=0.1, help="messages per second (default: as fast as possible)")


def settings_or_exit() -> config_mod.Settings:
    try:
        return config_mod.load()
    except ValueError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2)


def with_broker(what: str, fn: Callable[[], T], settings: config_mod.Settings) -> T:
    """fn() retried while the broker is unreachable; after NEWSFEED_BROKER_WAIT a clear error and exit 3."""
    try:
        return with_broker_retry(what, fn, settings.broker_wait, log=lambda m: console.print(f"[yellow]{m}[/yellow]"))
    except ConnectionError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(3)
    except BrokerRefused as exc:   # a wrong password or an untrusted certificate: no retry cures it
        console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2)


_checked: set[str] = set()


def connect(settings: config_mod.Settings, address: str) -> str:
    """Every command's first contact with the broker: its TLS certificate and our credentials are checked
    once, so a refusal is a clear message and exit 2 at once instead of clients retrying until a timeout."""
    if address not in _checked:
        with_broker("connect", lambda: check_broker(settings, address), settings)
        _checked.add(address)
    return address


def create_topics(settings: config_mod.Settings, address: str) -> list[str]:
    connect(settings, address)
    denied: list[str] = []
    created = with_broker("topics", lambda: _create_topics(settings, address, denied), settings)
    if denied:
        console.print(f"[yellow]topics this principal can neither see nor create, left to the cluster's admin "
                      f"(`newsfeed topics`): {', '.join(denied)}[/yellow]", highlight=False, soft_wrap=True)
    return created


def require_broker(settings: config_mod.Settings) -> str:
    if not settings.broker:
        console.print("[red]NEWSFEED_BROKER is not set.[/red] Start one with `newsfeed broker` and export the "
                      "address it prints, or point it at a Kafka cluster.")
        raise typer.Exit(2)
    return connect(settings, settings.broker)


def output_dir_or_exit(path: Path) -> Path:
    """Preflight: the output directory can be created and written, else exit 2 saying how to fix it."""
    try:
        return check_output_dir(path)
    except PreflightError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
