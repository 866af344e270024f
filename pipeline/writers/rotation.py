"""Rotation of a JSONL output: the current file (`enriched.jsonl`, the name every reader knows) is closed
by renaming it to `enriched-000042-20261204T225012Z.jsonl` (a sequence number first, so names sort in
write order whatever the clocks say), optionally gzipped, and the oldest closed files beyond a count deleted.

Several processes append to one current file. A lock file beside it (`.enriched.jsonl.lock`) is held around
each check-and-append and around a rotation, so no line lands in a file after it was closed and two processes
cannot both append one id (an uncontended flock costs microseconds).
The lock file also records when the current file was started (for rotation by age).
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from pipeline.atomic_files import written_whole


@dataclass(frozen=True)
class RotationPolicy:
    max_bytes: int = 64 * 1024 * 1024  # close the current file once it holds this much
    max_seconds: float = 0.0           # ... or once it is this old (0: no rotation by age)
    keep: int = 0                      # closed files kept per output (0: all)
    compress: bool = False             # gzip closed files (not a taken-over file far above max_bytes)

    @classmethod
    def from_settings(cls, settings) -> "RotationPolicy":
        return cls(max_bytes=int(settings.output_rotate_mb * 1024 * 1024),
                   max_seconds=settings.output_rotate_minutes * 60, keep=settings.output_keep,
                   compress=settings.output_gzip)


def _pattern(current: Path) -> re.Pattern:
    stem, suffix = current.name.rsplit(".", 1) if "." in current.name else (current.name, "")
    dot = re.escape(f".{suffix}") if suffix else ""
    return re.compile(rf"^{re.escape(stem)}-(\d{{6,}})-\d{{8}}T\d{{6}}Z{dot}(\.gz)?$")


def closed_files(current: Path) -> list[Path]:
    """The closed files of an output, oldest first (a file being gzipped counts once, as its plain name)."""
    pattern, found = _pattern(current), {}
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(current.parent):
            match = pattern.match(entry.name)
            if match:
                plain = entry.name[:-3] if match.group(2) else entry.name
                if not match.group(2) or plain not in found:
                    found[plain] = (int(match.group(1)), current.parent / entry.name)
    return [path for _seq, path in sorted(found.values())]


def all_files(current: Path) -> list[Path]:
    """Every file of an output in write order: the closed ones, then the current one (when it exists)."""
    return closed_files(current) + ([current] if current.exists() else [])


def _closed_name(current: Path, seq: int) -> Path:
    stem, _, suffix = current.name.rpartition(".") if "." in current.name else (current.name, "", "")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return current.parent / (f"{stem}-{seq:06d}-{stamp}.{suffix}" if suffix else f"{current.name}-{seq:06d}-{stamp}")


class RotationLock:
    """The lock file of one output (flock: released by the kernel when a process dies)."""

    def __init__(self, current: Path):
        self.path = current.parent / f".{current.name}.lock"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)

    @contextlib.contextmanager
    def held(self, exclusive: bool = False) -> Iterator[None]:
        fcntl.flock(self._fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def started_at(self) -> float:
        """When the current file was started (recorded at each rotation); now when never recorded."""
        raw = os.pread(self._fd, 64, 0).strip()
        try:
            return float(raw)
        except ValueError:
            return time.time()

    def recorded(self) -> bool:
        return bool(os.pread(self._fd, 64, 0).strip())

    def record_start(self, when: float) -> None:
        """Under the exclusive lock: the current file was started at `when`."""
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{when:.3f}\n".encode(), 0)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def close_current(current: Path, policy: RotationPolicy) -> Path:
    """Under the exclusive lock: rename the current file to the next closed name and apply the retention
    count. The caller creates the next current file. Returns the closed file's path."""
    existing = closed_files(current)
    seq = int(_pattern(current).match(existing[-1].name).group(1)) + 1 if existing else 1
    closed = _closed_name(current, seq)
    os.rename(current, closed)
    if policy.keep > 0:
        for old in (existing + [closed])[:-policy.keep]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
    return closed


def compress_later(closed: Path, policy: RotationPolicy) -> threading.Thread | None:
    """Gzip a closed file in a background thread (the worker goes on writing meanwhile). A file far above
    max_bytes (an old single output taken over) stays plain, so a start reads its tail by seeking."""
    if not policy.compress or closed.stat().st_size > 2 * policy.max_bytes:
        return None
    thread = threading.Thread(target=_gzip, args=(closed,), name=f"gzip {closed.name}", daemon=True)
    thread.start()
    return thread


def _gzip(closed: Path) -> None:
    target = closed.with_name(closed.name + ".gz")
    try:
        with written_whole(target, hidden=True) as partial:   # readers see the plain file until the .gz is whole
            with open(closed, "rb") as src, gzip.open(partial, "wb", compresslevel=3) as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        closed.unlink()
    except FileNotFoundError:         # deleted by the retention count meanwhile
        pass


def tail_lines(path: Path, limit: int) -> Iterator[bytes]:
    """The whole lines in about the last `limit` bytes of a closed file, streamed (gzip: decompressed on the
    fly, skipping to the tail by the size its trailer records). The file is opened before this returns, so a
    file gone meanwhile raises FileNotFoundError here, not halfway through the lines."""
    if path.name.endswith(".gz"):
        with open(path, "rb") as raw:
            raw.seek(-4, os.SEEK_END)
            size = int.from_bytes(raw.read(4), "little")  # mod 2**32: closed .gz files stay far below
        opener = gzip.open
    else:
        size, opener = path.stat().st_size, open
    f = opener(path, "rb")
    start = max(0, size - limit)
    if start:
        f.seek(start - 1)   # gzip seeks forward by decompressing, in bounded chunks
        f.readline()        # the rest of the line the tail begins in (or the newline just before it)
    return _lines_then_close(f)


def _lines_then_close(f) -> Iterator[bytes]:
    with f:
        yield from f
