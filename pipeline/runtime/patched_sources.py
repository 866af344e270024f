"""The library functions newsfeed's patches override or rely on, with a hash of the source each patch was
written against (patched_sources.json, next to the patches). tests/test_patched_sources.py fails, naming the
function and its patch, when an upgrade changes one: re-read the patch against the new source, then record
the new hashes with `python -m pipeline.runtime.patched_sources --write`."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import sys
from importlib.metadata import version
from pathlib import Path

RECORD = Path(__file__).with_name("patched_sources.json")

# patch module -> the "module:Qualified.name" functions it overrides or depends on
PATCHED = {
    "pipeline/runtime/faust_consumer.py": [
        "faust.transport.consumer:Consumer.getmany", "faust.transport.consumer:Consumer._drain_messages",
        "faust.transport.consumer:Consumer.ack", "faust.transport.consumer:Consumer._add_gap",
        "faust.transport.consumer:Consumer._new_offset", "faust.transport.consumer:Consumer._seek",
        "faust.transport.consumer:Consumer._filter_tps_with_pending_acks",
        "faust.transport.consumer:Consumer.seek_to_committed",
        "faust.transport.drivers.aiokafka:Consumer._new_consumer_thread",
        "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread._fetch_records",
        "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread.seek_to_committed",
        "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread._seek_wait",
        "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread.on_partitions_revoked",
        "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread.on_partitions_assigned",
        "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread.__post_init__",
    ],
    "pipeline/runtime/fair_fetch.py": ["aiokafka.consumer.fetcher:Fetcher.fetched_records"],
    "pipeline/runtime/group_leave.py": ["aiokafka.consumer.group_coordinator:GroupCoordinator._send_req",
                                       "aiokafka.consumer.group_coordinator:GroupCoordinator._maybe_leave_group"],
    "pipeline/runtime/faust_app.py": ["faust.tables.manager:TableManager.on_start"],
}
LIBRARIES = ("faust-streaming", "aiokafka")


def resolve(target: str):
    module, _, qualname = target.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def source_hash(target: str) -> str:
    return hashlib.sha256(inspect.getsource(resolve(target)).encode()).hexdigest()


def current() -> dict:
    return {"written_against": {lib: version(lib) for lib in LIBRARIES},
            "hashes": {patch: {t: source_hash(t) for t in targets} for patch, targets in PATCHED.items()}}


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m pipeline.runtime.patched_sources --write   (after re-reading the patches)")
    RECORD.write_text(json.dumps(current(), indent=1, sort_keys=True) + "\n")
    print(f"recorded {sum(map(len, PATCHED.values()))} source hashes in {RECORD}")
