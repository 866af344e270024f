"""The `newsfeed` command. Each module adds its commands to the one Typer app."""

from __future__ import annotations

import logging
import sys

from . import bench, feeds, language, models, run, send, serve, status, stories, web  # noqa: F401  (registers the commands)
from .common import cli, console, refusal_line


def main() -> None:
    # kafka-python logs a refusal before raising it; the command's own one line says it (below)
    logging.getLogger("kafka").addHandler(logging.NullHandler())
    try:
        cli()
    except Exception as exc:
        line = refusal_line(exc)
        if line is None:
            raise
        console.print(line, markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
