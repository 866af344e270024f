"""What every command shares: the Typer app, consoles, common options, settings and topic creation."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import typer
from rich.console import Console

from pipeline import config as config_mod
from pipeline.kafka.authorization import Needs, check_topics, explain, find_refusal
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
_needs: list[tuple[Needs, config_mod.Settings]] = []


def needs_acls(settings: config_mod.Settings, needs: Needs) -> None:
    """What the running command does on topics and groups, so a refusal says which ACL it lacks (`main`)."""
    _needs[:] = [(needs, settings)]


def refusal_line(exc: BaseException) -> str | None:
    """The one line an authorisation refusal anywhere in the running command ends with; None for other errors."""
    refused = find_refusal(exc)
    if refused is None:
        return None
    needs, settings = _needs[0] if _needs else (Needs("newsfeed"), config_mod.load())
    return str(explain(refused, settings, needs))


def connect(settings: config_mod.Settings, address: str) -> str:
    """Every command's first contact with the broker: its TLS certificate and our credentials are checked
    once, so a refusal is a clear message and exit 2 at once instead of clients retrying until a timeout."""
    if address not in _checked:
        with_broker("connect", lambda: check_broker(settings, address), settings)
        _checked.add(address)
    return address


def create_topics(settings: config_mod.Settings, address: str, needed: tuple[str, ...] | None = None) -> list[str]:
    """Create every newsfeed topic this principal may create and that does not exist yet. `needed`: the topics
    (names without the prefix) the command uses; of those, any it can neither see nor create gets a note (the
    others are not its business: a worker has no ACL on feed-state). None: `newsfeed topics`, for which a
    refusal is an error naming the ACL."""
    connect(settings, address)
    denied: list[str] = []
    created = with_broker("topics", lambda: _create_topics(settings, address, denied), settings)
    if needed is None and denied:
        from kafka.errors import TopicAuthorizationFailedError

        needs_acls(settings, Needs("newsfeed topics", ops={"topic": "Create"}, hints={
            "topic": f"or grant Create on the prefix '{settings.topic_prefix}' (--resource-pattern-type prefixed), "
                     "or run it as a super user"}))
        raise TopicAuthorizationFailedError(denied)
    missing = [t for t in denied if t.removeprefix(settings.topic_prefix) in (needed or ())]
    if missing:   # invisible: no ACL on them (a refusal, one line naming the ACL), or not created yet
        check_topics(address, settings, missing)
        console.print(f"[yellow]{', '.join(missing)}: not on the cluster yet, and this principal may not create "
                      "them: an admin creates them (`newsfeed topics`)[/yellow]", highlight=False, soft_wrap=True)
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
