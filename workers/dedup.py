"""dedup: languaged -> unique | duplicates; state per partition, logged to dedup-index, snapshotted to
dedup-snapshot (pipeline/runtime/dedup_snapshots.py), rebuilt from a snapshot and the entries after it."""

from __future__ import annotations

import time

import orjson

from pipeline.contracts import codec
from pipeline.kafka.state import load_dedup_index
from pipeline.runtime import metrics
from pipeline.runtime.dedup_snapshots import DedupPartition
from pipeline.runtime.supervision import crash_stops_worker
from pipeline.stages import steps
from workers.common import (WORKER, PartitionState, app, dead, delivered, in_thread, log, out, settings,
                            topic)

languaged_topic, unique_topic = topic("languaged"), topic("unique")
tagged_topic, index_topic = topic("tagged", partitions=1), topic("dedup-index")
snapshot_topic = topic("dedup-snapshot")


def _load_index(partition: int) -> DedupPartition:
    started = time.monotonic()
    rebuilt = load_dedup_index(settings, partition)   # a snapshot + its tail, or the window (pipeline/kafka/state.py)
    log.info("dedup index for partition %s rebuilt: %s (%.1fs)", partition, rebuilt.describe(),
             time.monotonic() - started)
    return DedupPartition(partition, rebuilt, settings.dedup_snapshot_entries)


async def _cut(part: DedupPartition) -> None:
    async def send(key: bytes, value: bytes) -> None:
        await delivered(snapshot_topic, key=key, value=value, partition=part.partition)

    await part.cut_if_due(send, in_thread)


if "dedup" in settings.stages:
    indexes = PartitionState("languaged", _load_index)

    @app.timer(interval=5.0)
    async def _snapshots() -> None:
        """Partitions that take few or no records get their snapshots too."""
        for loading in list(indexes.cache.values()):
            if loading.done() and loading.exception() is None:
                await _cut(loading.result())

    @app.agent(languaged_topic, name="dedup")
    @crash_stops_worker
    async def dedup_agent(stream):
        meter = metrics.stage("dedup")
        async for event in stream.events():
            partition = event.message.partition
            part = await indexes.get(partition)
            async with part.lock:
                await _judge(event, part, meter)
            await _cut(part)


async def _judge(event, part: DedupPartition, meter) -> None:
    started = meter.start()
    try:
        record = codec.decode(event.value)
        verdict = steps.deduplicate(record, part.index)
        record.setdefault("trace", {})["dedup"] = WORKER
    except Exception as exc:
        await dead(event, "dedup", exc)
        return
    if verdict.status != "unique":   # to the story stage, which gives it its original's story
        await out("tagged topic", delivered, tagged_topic, key=record["id"].encode(), value=codec.encode(record))
        meter.done(verdict.status, started)
        return
    if verdict.entry is not None:
        # same partition as the input: the index partition belongs to whoever owns this one
        sent = await out("dedup-index topic", index_topic.send, key=event.message.key,
                         value=orjson.dumps(verdict.entry), partition=event.message.partition)
        part.logged(sent)
        part.index.add(verdict.entry)
    # partitioned by the id's key hash: NER spreads over the partitions, and every copy of an id (a
    # raw record processed again after a crash, a producer's retry) lands on one partition
    await out("unique topic", unique_topic.send, key=record["id"].encode(), value=codec.encode(record))
    meter.done("unique", started)
