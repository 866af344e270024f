"""`newsfeed replay`: article files, synthetic load or dead letters to the raw topic."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import orjson
import typer

from pipeline.kafka.authorization import Needs

from .common import (LIMIT, PATHS, RATE, REPEAT, cli, console, create_topics, needs_acls, out, require_broker,
                     settings_or_exit)


@cli.command()
def replay(paths: Optional[List[Path]] = PATHS, repeat: int = REPEAT, limit: Optional[int] = LIMIT,
           rate: Optional[float] = RATE,
           synthesize: Optional[int] = typer.Option(None, "--synthesize", min=1,
                                                    help="send N synthetic articles built from the seed texts"),
           mix: str = typer.Option("unique=0.8,exact=0.1,near=0.1", help="with --synthesize: share of each kind"),
           seed: int = typer.Option(0, help="with --synthesize: random seed (same seed, same articles)"),
           truth: Path = typer.Option(Path("out/truth.jsonl"), help="with --synthesize: where the ground truth goes"),
           from_deadletter: Optional[Path] = typer.Option(
               None, "--from-deadletter", help="re-send the original payloads of a deadletter.jsonl (after a fix)")) -> None:
    """Send article files (or synthetic articles, or dead letters) to the raw topic."""
    from pipeline.kafka import replay as rp

    settings = settings_or_exit()
    needs_acls(settings, Needs("newsfeed replay", ops={"topic": "Write"}))
    syn = _synthetic_or_exit(synthesize, mix, seed, paths) if synthesize else None   # before any broker wait
    address = require_broker(settings)
    create_topics(settings, address, needed=("raw",))
    if syn:
        result = _replay_synthetic(syn, truth, rate, address, settings)
    elif from_deadletter:
        source = rp.from_deadletter(from_deadletter)
        result = rp.replay(source, address, settings, rate=rate, total=len(source), progress=sys.stderr.isatty())
    else:
        result = _replay(rp, paths, repeat, limit, rate, address, settings)
    out.print(f"sent {result.sent}, failed {result.failed}, {result.rate:.1f} msg/s")
    if result.refused:   # one line naming the topic and the ACL (pipeline/cli/__init__.py), exit 2
        raise result.refused
    for error in result.errors[:10]:
        console.print(f"[red]{error}[/red]")
    raise typer.Exit(1 if result.failed else 0)


def _synthetic_or_exit(n, mix, seed, paths):
    from pipeline.tools.synth import synthesize

    try:
        return synthesize(n, (paths or [Path("seeds")])[0], mix=mix, seed=seed)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2)


def _replay_synthetic(syn, truth, rate, address, settings):
    from pipeline.kafka.replay import Item, replay as send

    n = len(syn.articles)
    truth.parent.mkdir(parents=True, exist_ok=True)
    truth.write_bytes(b"".join(orjson.dumps({"id": k, **v}) + b"\n" for k, v in syn.truth.items()))
    console.print(f"ground truth -> {truth}")
    return send([Item(key=a["id"], article=a) for a in syn.articles], address, settings, rate=rate,
                total=n, progress=sys.stderr.isatty())


def _replay(rp, paths, repeat, limit, rate, address, settings):
    try:
        source = list(rp.items(paths or [Path("seeds")], repeat=repeat, limit=limit))
    except (FileNotFoundError, OSError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2)
    return rp.replay(source, address, settings, rate=rate, total=len(source), progress=sys.stderr.isatty())
