"""The enriched sink: enriched.jsonl first, then the enriched topic; both skip ids they already hold, so a
record re-delivered after a crash or a rebalance is written once."""

from __future__ import annotations

from typing import Any

import faust

from pipeline.contracts import codec, schemas
from pipeline.contracts.records import utc_now
from pipeline.writers.jsonl import JsonlFiles
from pipeline.writers.rotation import RotationPolicy
from workers.common import WORKER, dead, delivered, out, settings, topic

enriched_topic = topic("enriched")
files = JsonlFiles(settings.output_dir, RotationPolicy.from_settings(settings))


async def sink(event: faust.EventT, record: dict[str, Any], on_topic: set[str], meter) -> None:
    """Partitioned by the id's key hash, as `unique` is. `on_topic`: the enriched topic's ids, read back by
    its one writer, the story stage, when it took over (pipeline/kafka/state.py)."""
    started = meter.start()
    try:
        record["schema_version"] = 2   # schemas/enriched-article.v2.json: v1 + `story`
        record["timings"]["sink_at"] = utc_now()
        record.setdefault("trace", {})["sink"] = WORKER
        if settings.validate_output:  # ~7 ms a record: off on the hot path unless asked for
            schemas.validate("enriched", record)
    except Exception as exc:
        await dead(event, "sink", exc, record.get("id"))
        return
    if record["id"] in on_topic:  # a second copy on the input (re-delivered), in flight in another actor
        meter.done("redelivered", started)
        return
    on_topic.add(record["id"])  # before the awaits: an output only fails by stopping the process
    await out("enriched.jsonl", files.write, "enriched.jsonl", record)
    await out("enriched topic", delivered, enriched_topic, key=record["id"].encode(), value=codec.encode(record))
    meter.done("enriched", started)
