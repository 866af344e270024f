"""language: raw -> languaged, keyed by language so dedup candidates meet in one partition."""

from __future__ import annotations

import asyncio
import contextlib
import time

from pipeline.contracts import codec
from pipeline.runtime import metrics
from pipeline.runtime.health import readiness
from pipeline.runtime.supervision import crash_stops_worker
from pipeline.stages import steps
from pipeline.stages.language import LanguageDetector
from workers.common import WORKER, app, dead, in_thread, joining, log, out, settings, topic

raw_topic, languaged_topic = topic("raw"), topic("languaged")
detector = LanguageDetector.from_settings(settings)

if "language" in settings.stages:
    @app.agent(raw_topic, name="language")
    @crash_stops_worker
    async def language_agent(stream):
        # lingua's loading holds the GIL for 0.5-2.5 s: start it once the JoinGroup request is out (the revoke
        # callback comes just before the consumer thread sends it), so it fills the broker's join wait instead
        # of delaying the request (measured: two workers starting together joined 2-2.5 s later)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(joining.wait(), settings.session_timeout)
        await asyncio.sleep(0.5)
        started = time.monotonic()
        await in_thread(detector.warm_up)  # models load once, before the first message
        log.info("newsfeed: language models loaded in %.1fs", time.monotonic() - started)
        readiness.done("models", "language")
        meter = metrics.stage("language")
        async for event in stream.events():
            started = meter.start()
            try:
                record = steps.detect_language(steps.ingest(event.value, settings.max_message_bytes), detector)
                record["trace"] = {"language": WORKER}
            except Exception as exc:  # bad input, or a stage bug: the letter keeps the payload, the stream goes on
                await dead(event, "language", exc)
                continue
            await out("languaged topic", languaged_topic.send, key=record["language"]["code"].encode(),
                      value=codec.encode(record))
            meter.done("languaged", started)
