"""The JSONL side of the sink: append-only, one JSON object per line, idempotent by record id, rotated.

Each line is one os.write() on an O_APPEND descriptor, so a record is written whole or not at all
even when the process is killed, and several worker processes can share one file. Before each write
the file's new lines (from any process) are read, so a record re-delivered after a crash or a
rebalance is recognised and not written twice.

The cost stays bounded by the rotation size, never by history (pipeline/writers/rotation.py): the current
file is closed once it reaches NEWSFEED_OUTPUT_ROTATE_MB, and idempotence looks back over the current file
plus the last NEWSFEED_OUTPUT_ROTATE_MB of closed output (re-deliveries are recent). A current file already
above the size when a sink opens it (one big file written before rotation existed) is closed at once, and
only its tail is read.
"""

from __future__ import annotations

import errno
import gzip
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

from pipeline.contracts import codec
from pipeline.writers import rotation
from pipeline.writers.rotation import RotationLock, RotationPolicy

CHUNK = 8 * 1024 * 1024  # catching up reads at most this much at a time


class JsonlSink:
    def __init__(self, path: Path | str, key: Callable[[dict[str, Any]], str | None] = lambda r: r.get("id"),
                 policy: RotationPolicy | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.policy = policy or RotationPolicy()
        self._lock = RotationLock(self.path)
        self._current: set[str] = set()  # ids in the current file
        self._recent: set[str] = set()   # ids in the last closed output (up to max_bytes of it)
        self._fd = -1
        with self._lock.held(exclusive=True):
            self._repair_torn_tail()
            if self.path.exists() and self.path.stat().st_size >= self.policy.max_bytes:
                self._close_current()    # taken over (or grown while nobody wrote): its tail is read below
            elif not self.path.exists() or not self._lock.recorded():
                self._lock.record_start(time.time())
            self._open()
            self._add(self._recent, self._closed_tail())
            self._catch_up()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        self._inode = os.fstat(self._fd).st_ino
        self._read_offset = 0
        self._started = self._lock.started_at()

    def _repair_torn_tail(self) -> None:
        """A line cut short by a crash predating single-write appends: drop it so the file stays valid."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb+") as f:
            end = f.seek(0, os.SEEK_END)
            f.seek(end - 1)
            if f.read(1) == b"\n":
                return
            position = end
            while position > 0:  # backwards in chunks: never the whole file in memory
                step = min(CHUNK, position)
                f.seek(position - step)
                cut = f.read(step).rfind(b"\n")
                if cut >= 0:
                    f.truncate(position - step + cut + 1)
                    return
                position -= step
            f.truncate(0)

    def _closed_tail(self) -> Iterator[bytes]:
        """The lines of the last max_bytes of closed output, newest file first."""
        budget = self.policy.max_bytes
        for closed in reversed(rotation.closed_files(self.path)):
            if budget <= 0:
                return
            for name in (closed, closed.with_name(closed.name + ".gz")):
                try:
                    lines = rotation.tail_lines(name, budget)
                except FileNotFoundError:  # gzipped meanwhile (read its .gz) or deleted by the retention count
                    continue
                for line in lines:
                    budget -= len(line)
                    yield line
                break

    def _add(self, ids: set[str], lines: Iterable[bytes]) -> None:
        for line in lines:
            if line.strip():
                value = self.key(orjson.loads(line))
                if value is not None:
                    ids.add(value)

    def _catch_up(self) -> None:
        """Read what any process appended to the current file since we last looked, in bounded chunks."""
        size = os.fstat(self._fd).st_size
        while self._read_offset < size:
            chunk = os.pread(self._fd, min(CHUNK, size - self._read_offset), self._read_offset)
            complete = chunk[: chunk.rfind(b"\n") + 1]
            if not complete:
                return  # a line still being appended (cannot happen with one write a line; be safe)
            self._read_offset += len(complete)
            self._add(self._current, complete.splitlines())

    def _follow_rotation(self) -> None:
        """Under the lock: when another process closed our current file, finish reading it and move on."""
        try:
            rotated = os.stat(self.path).st_ino != self._inode
        except FileNotFoundError:
            rotated = True
        if rotated:
            self._catch_up()   # nobody writes to a closed file: this is all it holds
            os.close(self._fd)
            self._recent, self._current = self._current, set()
            self._open()

    def _close_current(self) -> None:
        """Under the exclusive lock: close the current file and start the next one."""
        closed = rotation.close_current(self.path, self.policy)
        self._lock.record_start(time.time())
        rotation.compress_later(closed, self.policy)

    def _due(self) -> bool:
        size = os.fstat(self._fd).st_size
        return size >= self.policy.max_bytes or (
            size > 0 and 0 < self.policy.max_seconds <= time.time() - self._started)

    def _rotate(self) -> None:
        with self._lock.held(exclusive=True):
            self._follow_rotation()
            if self._due():   # still due: nobody else rotated it meanwhile
                self._close_current()
                self._follow_rotation()

    def write(self, record: dict[str, Any]) -> bool:
        """Append the record unless its id is in the look-back window. True when written."""
        if self._due():
            self._rotate()
        with self._lock.held(exclusive=True):  # check and append as one step, also across processes
            self._follow_rotation()
            self._catch_up()
            record_id = self.key(record)
            if record_id is not None and (record_id in self._current or record_id in self._recent):
                return False
            line = codec.encode_line(record)
            written = os.write(self._fd, line)
            if written != len(line):
                self._take_back(written)
                raise OSError(errno.ENOSPC, f"short write to {self.path} ({written} of {len(line)} bytes): "
                                            "no space left on device")
            if record_id is not None:
                self._current.add(record_id)
            if os.fstat(self._fd).st_size == self._read_offset + len(line):
                self._read_offset += len(line)  # only our line was added: skip re-reading it
        return True

    def _take_back(self, written: int) -> None:
        """A disk that fills mid-line leaves a partial line: cut it off so the file stays valid JSONL and
        the retry appends the whole line."""
        size = os.fstat(self._fd).st_size
        if written and size >= written:
            os.ftruncate(self._fd, size - written)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._lock.close()


class JsonlFiles:
    """The output directory's JSONL files by name, each opened on first use and again after a failure
    closed it (the directory may have been replaced meanwhile, e.g. a volume re-mounted)."""

    def __init__(self, directory: Path, policy: RotationPolicy | None = None):
        self.directory = directory
        self.policy = policy or RotationPolicy()   # callers pass RotationPolicy.from_settings(settings)
        self._open: dict[str, JsonlSink] = {}

    def write(self, name: str, record: dict[str, Any],
              key: Callable[[dict[str, Any]], str | None] | None = None) -> bool:
        """Append unless the record's key is in the file already. True when written."""
        if name not in self._open:
            self._open[name] = JsonlSink(self.directory / name, policy=self.policy,
                                         **({"key": key} if key else {}))
        try:
            return self._open[name].write(record)
        except OSError:
            self._open.pop(name).close()
            raise

    def close(self) -> None:
        for sink in self._open.values():
            sink.close()


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with (gzip.open if path.name.endswith(".gz") else open)(path, "rb") as f:
        yield from (orjson.loads(line) for line in f if line.strip())


def read_output(current: Path | str) -> Iterator[dict[str, Any]]:
    """Every record of an output in write order: its closed (rotated, maybe gzipped) files, then the
    current one. `read_output(out / "enriched.jsonl")` reads the whole history; read_jsonl the current file."""
    for path in rotation.all_files(Path(current)):
        try:
            yield from _records(path)
        except FileNotFoundError:   # gzipped meanwhile (opening fails before any line): the .gz holds them
            yield from _records(path.with_name(path.name + ".gz"))
