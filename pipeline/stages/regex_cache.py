"""Compiled-regex cache on disk for the few huge patterns spaCy builds while a model loads.

`spacy.lang.fr` compiles one 1.45 MB case-insensitive pattern (its tokenizer's hyphenated-word matcher):
2.7 s of a French NER worker's ~5 s start-up, every start, in every NER process. Python cannot pickle a
compiled pattern, but what `re` hands to its C engine is plain data (flags, an int code list, groups), so
that is kept, as JSON, per Python build and regex engine version, and handed to the engine directly on
the next start (~0.03 s). Anything unexpected (another Python, a damaged file, a directory not ours) falls
back to an ordinary `re.compile`: the cache can make loading faster, never different.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pipeline.atomic_files import written_whole

log = logging.getLogger("newsfeed.regex_cache")
BIG = 20_000   # chars: below this compiling costs milliseconds, not worth a file


def default_directory() -> Path:
    return Path(os.environ.get("NEWSFEED_CACHE_DIR") or Path(tempfile.gettempdir()) / f"newsfeed-cache-{os.getuid()}")


def _private(directory: Path) -> bool:
    """Ours alone (0700, our uid): a file someone else could write is never fed to the regex engine."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO)


def _engine_data(pattern: str, flags: int) -> list:
    """What re.compile passes to the C engine, as JSON-able data (CPython 3.11-3.13 re._compiler.compile)."""
    from re import _compiler, _parser

    parsed = _parser.parse(pattern, flags)
    code = _compiler._code(parsed, flags)
    index = parsed.state.groupdict
    names: list[str | None] = [None] * parsed.state.groups
    for name, i in index.items():
        names[i] = name
    return [flags | parsed.state.flags, code, parsed.state.groups - 1, index, names]


def _from_data(pattern: str, data: list) -> re.Pattern:
    import _sre

    flags, code, groups, index, names = data
    return _sre.compile(pattern, flags, code, groups, index, tuple(names))


def compile_cached(pattern: str, flags: int, directory: Path, compile=re.compile) -> re.Pattern:
    import _sre

    key = hashlib.sha256(f"{sys.version}|{_sre.MAGIC}|{int(flags)}|".encode()
                         + pattern.encode("utf-8", "surrogatepass")).hexdigest()
    path = directory / f"{key}.json"
    try:
        if path.exists():
            return _from_data(pattern, json.loads(path.read_bytes()))
        data = _engine_data(pattern, flags)
        compiled = _from_data(pattern, data)
        with written_whole(path) as partial:   # two NER children may write it at once
            partial.write_text(json.dumps(data))
        return compiled
    except Exception as exc:  # noqa: BLE001 - any surprise: compile the ordinary way
        log.debug("regex cache not used for a %d-char pattern: %s", len(pattern), exc)
        return compile(pattern, flags)


@contextlib.contextmanager
def big_patterns_cached(directory: Path | None = None) -> Iterator[None]:
    """While active, re.compile of a pattern longer than BIG goes through the cache in `directory`."""
    directory = directory or default_directory()
    if not _private(directory):
        log.info("regex cache directory %s is not private to this user: not used", directory)
        yield
        return
    original = re.compile

    def compile(pattern, flags=0):
        if isinstance(pattern, str) and len(pattern) > BIG and isinstance(flags, int):
            return compile_cached(pattern, flags, directory, original)
        return original(pattern, flags)

    re.compile = compile
    try:
        yield
    finally:
        re.compile = original
