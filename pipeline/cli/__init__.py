"""The `newsfeed` command. Each module adds its commands to the one Typer app."""

from __future__ import annotations

from . import bench, feeds, language, models, run, send, serve, status, stories  # noqa: F401  (registers the commands)
from .common import cli


def main() -> None:
    cli()
