"""entities + sink: unique -> NER (batched into one nlp.pipe call) -> enriched topic + enriched.jsonl.

One agent, not two joined by a topic: a hop would cost a produce, a consume and a re-encode of the whole
record per article on the loop that shares the cores with NER (issue 17). NER runs in a thread
(NEWSFEED_NER_PROCESSES=0) or in child processes; either way the loop stays free."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust

from pipeline.contracts import codec
from pipeline.runtime import metrics
from pipeline.runtime.health import readiness
from pipeline.runtime.supervision import crash_stops_worker
from pipeline.stages import gazetteer, steps
from pipeline.stages.entities import EntityTagger, ProcessTagger
from workers.common import WORKER, PartitionState, app, dead, in_thread, log, settings, topic
from workers.enriched_sink import ids_on_enriched, sink

unique_topic = topic("unique")
tagger = (ProcessTagger(settings.ner_model_map(), settings.ner_batch_size, settings.ner_processes,
                        settings.ner_cpus)
          if settings.ner_processes > 0 and "entities" in settings.stages
          else EntityTagger(models=settings.ner_model_map(), batch_size=settings.ner_batch_size))
if isinstance(tagger, ProcessTagger):
    # before lingua's warm-up holds the GIL: the child loads spaCy meanwhile
    tagger.start_loading(parent_nice=settings.loop_nice)


async def _tag(batch: list[tuple[faust.EventT, dict[str, Any]]]) -> list[tuple[faust.EventT, dict[str, Any]]]:
    """NER on the batch; if the batch fails, one by one so only the failing record is dead-lettered."""
    try:
        return list(zip([e for e, _ in batch], await in_thread(steps.tag_entities, [r for _, r in batch], tagger)))
    except Exception:
        tagged = []
        for event, record in batch:
            try:
                tagged += [(event, r) for r in await in_thread(steps.tag_entities, [record], tagger)]
            except Exception as one:
                await dead(event, "entities", one, record.get("id"))
        return tagged


if "entities" in settings.stages:
    # unique partition -> ids already on the enriched partition of the same number (the agent writes there)
    enriched_ids = PartitionState("unique", ids_on_enriched)

    # two actors per NER child: while the child tags one batch, the next is already queued for it, so it
    # never idles while this (niced, busy) loop hands back results and gathers more. Faust commits acked
    # offsets in order, so out-of-order completion is safe.
    @app.agent(unique_topic, name="entities", concurrency=max(1, 2 * settings.ner_processes))
    @crash_stops_worker
    async def entities_agent(stream):
        started = time.monotonic()
        await in_thread(tagger.load)  # models load once, before the first message (overlaps the group join)
        await in_thread(gazetteer.shared)  # opened once (built the first time on this machine: ~20 s)
        log.info("newsfeed: NER models loaded in %.1fs", time.monotonic() - started)
        readiness.done("models", "entities")
        meter, sink_meter = metrics.stage("entities"), metrics.stage("sink")
        async for events in stream.take_events(settings.ner_batch_size, within=settings.ner_batch_wait):
            got_batch, started = time.monotonic(), meter.start(len(events))
            batch = []
            for event in events:
                on_topic = await enriched_ids.get(event.message.partition)
                try:
                    record = codec.decode(event.value)
                except Exception as exc:
                    await dead(event, "entities", exc)
                    continue
                if record.get("id") in on_topic:  # re-delivered after a crash: enriched already, no NER again
                    meter.done("redelivered", started)
                    continue
                batch.append((event, record))
            tagged = await _tag(batch) if batch else []
            meter.ner(len(batch), time.monotonic() - got_batch)
            meter.done("tagged", started, len(tagged))
            sinks = []
            for event, record in tagged:
                record.setdefault("trace", {})["entities"] = WORKER
                on_topic = await enriched_ids.get(event.message.partition)
                sinks.append(sink(event, record, on_topic, sink_meter))
            # the batch's outputs wait for their broker acks together (one round trip a batch, not eight);
            # each sink claims its id before its first await, so a repeated id is still written once
            await asyncio.gather(*sinks)


def shutdown() -> None:
    """Stop NER child processes (when NEWSFEED_NER_PROCESSES > 0)."""
    if isinstance(tagger, ProcessTagger):
        tagger.close()
