"""sink: duplicates and dead letters -> their JSONL files."""

from __future__ import annotations

from pipeline.contracts import codec
from pipeline.contracts.deadletter import letter_key
from pipeline.runtime import metrics
from pipeline.runtime.supervision import crash_stops_worker
from workers.common import app, deadletter_topic, out, settings, topic
from workers.enriched_sink import files


def file_sink(source, name: str, file: str, **write_options) -> None:
    """An agent writing every record of `source` to `file` (idempotent by the record's key)."""
    @app.agent(source, name=name)
    @crash_stops_worker
    async def sink(stream):
        meter = metrics.stage(name)
        async for value in stream:
            started = meter.start()
            await out(file, files.write, file, codec.decode(value), **write_options)
            meter.done("written", started)


if "sink" in settings.stages:
    file_sink(topic("duplicates"), "duplicates-sink", "duplicates.jsonl")
    file_sink(deadletter_topic, "deadletter-sink", "deadletter.jsonl", key=letter_key)
