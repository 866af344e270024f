"""dedup: languaged -> unique | duplicates; state per partition, logged to dedup-index."""

from __future__ import annotations

import orjson

from pipeline.contracts import codec
from pipeline.kafka.io import read_partition
from pipeline.runtime import metrics
from pipeline.runtime.supervision import crash_stops_worker
from pipeline.stages import steps
from pipeline.stages.dedup import DedupIndex
from workers.common import WORKER, PartitionState, app, dead, delivered, log, out, settings, topic

languaged_topic, unique_topic = topic("languaged"), topic("unique")
tagged_topic, index_topic = topic("tagged", partitions=1), topic("dedup-index")


def _load_index(partition: int) -> DedupIndex:
    """Rebuild a partition's index from its log, read to the Fetch high watermark (never ListOffsets)."""
    index = DedupIndex(threshold=settings.dedup_threshold, shingle_size=settings.dedup_shingle,
                       retention_seconds=settings.dedup_retention_days * 86400,
                       grace_seconds=settings.dedup_grace_seconds)
    for _offset, _key, value in read_partition(settings.broker, settings, settings.topic("dedup-index"), partition):
        index.add(orjson.loads(value))
    log.info("dedup index for partition %s rebuilt: %s entries", partition, len(index))
    return index


if "dedup" in settings.stages:
    indexes = PartitionState("languaged", _load_index)

    @app.agent(languaged_topic, name="dedup")
    @crash_stops_worker
    async def dedup_agent(stream):
        meter = metrics.stage("dedup")
        async for event in stream.events():
            partition = event.message.partition
            index = await indexes.get(partition)
            started = meter.start()
            try:
                record = codec.decode(event.value)
                verdict = steps.deduplicate(record, index)
                record.setdefault("trace", {})["dedup"] = WORKER
            except Exception as exc:
                await dead(event, "dedup", exc)
                continue
            if verdict.status != "unique":   # to the story stage, which gives it its original's story
                await out("tagged topic", delivered, tagged_topic, key=record["id"].encode(),
                          value=codec.encode(record))
                meter.done(verdict.status, started)
                continue
            if verdict.entry is not None:
                # same partition as the input: the index partition belongs to whoever owns this one
                await out("dedup-index topic", index_topic.send, key=event.message.key,
                          value=orjson.dumps(verdict.entry), partition=partition)
                index.add(verdict.entry)
            # partitioned by the id's key hash: NER spreads over the partitions, and every copy of an id (a
            # raw record processed again after a crash, a producer's retry) lands on one partition
            await out("unique topic", unique_topic.send, key=record["id"].encode(), value=codec.encode(record))
            meter.done("unique", started)
