"""Dedup index snapshots on the `dedup-snapshot` topic: partition p holds snapshots of the index of `languaged`
partition p, each a run of chunk records written one after another by the partition's owner.

Every chunk's key says which snapshot it belongs to and what the snapshot covers: the `dedup-index` offset
it was cut at (every entry before it is in the snapshot, none after), when, its size and checksum, and the
chunk's place (i of n). A snapshot counts only when all n chunks are there in order with the checksum
right: a worker killed mid-snapshot leaves a partial run that readers step over, to the snapshot before
it (or, with none, to the entry log's window: the snapshot only saves time, never decides anything).

Finding the latest snapshot reads the partition's last record (the Fetch high watermark marks the end,
never ListOffsets, which Tansu answers short), then that snapshot's n chunks: the read is one snapshot,
not the topic's history. Nothing relies on compaction or retention having run (Tansu may run neither).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import orjson

from pipeline.config import Settings
from pipeline.kafka.io import read_partition

CHUNK_BYTES = 512 * 1024   # well under Kafka's default 1 MB message.max.bytes, headers and key included
FETCH_BYTES = 16 << 20     # a read of a snapshot takes ~32 chunks a fetch
HOPS = 4                   # partial runs stepped over before giving up on snapshots


@dataclass
class Snapshot:
    covers: int          # dedup-index offset: entries before it are in the blob, from it on they are not
    taken_at: float      # wall time it was cut
    blob: bytearray
    first: int           # offsets of its chunks on dedup-snapshot: [first, first + chunks)
    chunks: int


def chunk_records(blob: bytes, covers: int, taken_at: float) -> list[tuple[bytes, bytes]]:
    """The (key, value) records of one snapshot, in the order they must be written."""
    n = max(1, -(-len(blob) // CHUNK_BYTES))
    meta = {"snapshot": uuid.uuid4().hex, "chunks": n, "covers": covers, "at": taken_at, "bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest()}
    return [(orjson.dumps({**meta, "chunk": i}), blob[i * CHUNK_BYTES:(i + 1) * CHUNK_BYTES]) for i in range(n)]


def _meta(key: bytes | None) -> dict | None:
    try:
        meta = orjson.loads(key or b"")
        return meta if isinstance(meta, dict) and {"snapshot", "chunk", "chunks", "covers"} <= meta.keys() else None
    except orjson.JSONDecodeError:
        return None


def _record(bootstrap: str, settings: Settings, topic: str, partition: int, timeout: float,
            at: int | None = None) -> tuple[int, bytes | None] | None:
    """(offset, key) of one record: the partition's last, or the one at offset `at`."""
    where = {"last": 1} if at is None else {"start": at, "until": at + 1}
    for offset, key, _value in read_partition(bootstrap, settings, topic, partition, timeout=timeout,
                                              fetch_bytes=CHUNK_BYTES * 2, **where):
        return offset, key
    return None


def _whole(bootstrap: str, settings: Settings, topic: str, partition: int, first: int, meta: dict,
           timeout: float) -> Snapshot | None:
    """The snapshot whose chunks are at [first, first + n), or None when they are not all its own, in order."""
    blob, at = bytearray(meta["bytes"]), 0
    for expected, (_offset, key, value) in enumerate(read_partition(
            bootstrap, settings, topic, partition, timeout=timeout, start=first, until=first + meta["chunks"],
            fetch_bytes=FETCH_BYTES)):
        chunk = _meta(key)
        if chunk is None or chunk["snapshot"] != meta["snapshot"] or chunk["chunk"] != expected or \
                value is None or at + len(value) > len(blob):
            return None
        blob[at:at + len(value)] = value
        at += len(value)
    if at != len(blob) or hashlib.sha256(blob).hexdigest() != meta["sha256"]:
        return None
    return Snapshot(meta["covers"], meta["at"], blob, first, meta["chunks"])


def latest_snapshot(bootstrap: str, settings: Settings, partition: int, timeout: float = 60.0) -> Snapshot | None:
    """The newest complete snapshot of one partition's dedup index, or None. Reads the last record, then
    that snapshot's chunks; a partial run at the end (its writer died) is stepped over to the run before."""
    topic = settings.topic("dedup-snapshot")
    found = _record(bootstrap, settings, topic, partition, timeout)
    for _hop in range(HOPS):
        if found is None:
            return None
        offset, key = found
        meta = _meta(key)
        if meta is None:
            return None
        first = offset - meta["chunk"]   # where this run started, if nobody wrote in between
        if meta["chunk"] == meta["chunks"] - 1 and first >= 0:
            snapshot = _whole(bootstrap, settings, topic, partition, first, meta, timeout)
            if snapshot is not None:
                return snapshot
        if first <= 0:
            return None
        found = _record(bootstrap, settings, topic, partition, timeout, at=first - 1)
    return None
