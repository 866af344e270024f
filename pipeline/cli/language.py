"""Language commands: the supported languages, and detection on stdin."""

from __future__ import annotations

import sys

import orjson

from .common import cli, out, console, settings_or_exit


@cli.command()
def languages() -> None:
    """List the languages the detector supports (ISO 639-1, or 639-3 where there is no 639-1 code)."""
    from pipeline.stages.language import LanguageDetector

    supported = LanguageDetector.supported()
    for lang in supported:
        out.print(f"{lang['code']}\t{lang['name']}", highlight=False)
    console.print(f"{len(supported)} languages")


@cli.command()
def detect() -> None:
    """Detect the language of each line on stdin; print one JSON result per line."""
    from pipeline.stages.language import LanguageDetector

    settings = settings_or_exit()
    detector = LanguageDetector.from_settings(settings)
    for line in sys.stdin:
        sys.stdout.buffer.write(orjson.dumps(detector.detect(line.rstrip("\n"))) + b"\n")
    sys.stdout.flush()
