"""The JSONL side of the sink: append-only, one JSON object per line, idempotent by record id.

Each line is one os.write() on an O_APPEND descriptor, so a record is written whole or not at all
even when the process is killed, and several worker processes can share one file. Before each write
the file's new lines (from any process) are read, so a record re-delivered after a crash or a
rebalance is recognised and not written twice.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, Callable

import orjson

from pipeline.contracts import codec


class JsonlSink:
    def __init__(self, path: Path | str, key: Callable[[dict[str, Any]], str | None] = lambda r: r.get("id")):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.seen: set[str] = set()
        self._read_offset = 0
        self._repair_torn_tail()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._catch_up()

    def _repair_torn_tail(self) -> None:
        """A line cut short by a crash predating single-write appends: drop it so the file stays valid."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb+") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) == b"\n":
                return
            f.seek(0)
            data = f.read()
            f.truncate(data.rfind(b"\n") + 1)

    def _catch_up(self) -> None:
        if os.fstat(self._fd).st_size == self._read_offset:
            return  # nobody appended since we last looked: no need to open and parse anything
        with open(self.path, "rb") as f:
            f.seek(self._read_offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._read_offset += len(complete)
        for line in complete.splitlines():
            if line.strip():
                value = self.key(orjson.loads(line))
                if value is not None:
                    self.seen.add(value)

    def write(self, record: dict[str, Any]) -> bool:
        """Append the record unless its id is already in the file. True when written."""
        self._catch_up()
        record_id = self.key(record)
        if record_id is not None and record_id in self.seen:
            return False
        line = codec.encode_line(record)
        written = os.write(self._fd, line)
        if written != len(line):
            self._take_back(written)
            raise OSError(errno.ENOSPC, f"short write to {self.path} ({written} of {len(line)} bytes): "
                                        "no space left on device")
        if record_id is not None:
            self.seen.add(record_id)
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


class JsonlFiles:
    """The output directory's JSONL files by name, each opened on first use and again after a failure
    closed it (the directory may have been replaced meanwhile, e.g. a volume re-mounted)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._open: dict[str, JsonlSink] = {}

    def write(self, name: str, record: dict[str, Any],
              key: Callable[[dict[str, Any]], str | None] | None = None) -> bool:
        """Append unless the record's key is in the file already. True when written."""
        if name not in self._open:
            self._open[name] = JsonlSink(self.directory / name, **({"key": key} if key else {}))
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
