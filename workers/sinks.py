"""sink: duplicates and dead letters -> their JSONL files."""

from __future__ import annotations

from pipeline.contracts import codec
from pipeline.contracts.deadletter import letter_key
from pipeline.runtime import metrics
from pipeline.runtime.supervision import crash_stops_worker
from workers.common import app, deadletter_topic, out, settings, topic
from workers.enriched_sink import files

duplicates_topic = topic("duplicates")

if "sink" in settings.stages:
    @app.agent(duplicates_topic, name="duplicates-sink")
    @crash_stops_worker
    async def duplicates_sink(stream):
        meter = metrics.stage("duplicates-sink")
        async for value in stream:
            started = meter.start()
            await out("duplicates.jsonl", files.write, "duplicates.jsonl", codec.decode(value))
            meter.done("written", started)

    @app.agent(deadletter_topic, name="deadletter-sink")
    @crash_stops_worker
    async def deadletter_sink(stream):
        meter = metrics.stage("deadletter-sink")
        async for value in stream:
            started = meter.start()
            await out("deadletter.jsonl", files.write, "deadletter.jsonl", codec.decode(value), key=letter_key)
            meter.done("written", started)
