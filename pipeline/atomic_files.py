"""Files written whole or not at all: caches that several worker processes may build at once, and closed
output files compressed beside their readers."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_whole(path: Path, hidden: bool = False) -> Iterator[Path]:
    """A temporary path beside `path`, this thread's own, to write. When the block ends without an error it
    replaces `path` in one rename: a reader, or another process building the same file at once, sees the
    whole file or none. Whatever happens the temporary file is gone afterwards (a full disk leaves no half
    file behind). `hidden`: its name starts with a dot, for a directory whose files readers list."""
    partial = path.with_name(f"{'.' if hidden else ''}{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
