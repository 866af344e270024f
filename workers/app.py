"""The Faust app: one agent per stage (entities also writes the enriched outputs), wiring topics to
`pipeline` logic and nothing more.

Start with `newsfeed worker` (starts an embedded broker when NEWSFEED_BROKER is unset) or
`faust -A workers.app worker` (needs NEWSFEED_BROKER). NEWSFEED_STAGES picks the agents a process runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from typing import Any

import faust
import orjson

from pipeline.contracts import codec, schemas
from pipeline.stages import steps
from pipeline.config import load
from pipeline.contracts.deadletter import dead_letter, describe, error_headers, letter_key, record_id_of
from pipeline.stages.dedup import DedupIndex
from pipeline.stages.entities import EntityTagger, ProcessTagger
from pipeline.kafka.io import read_partition
from pipeline.stages.language import LanguageDetector
from pipeline.contracts.records import utc_now
from pipeline.runtime import http, metrics, outputs
from pipeline.runtime.faust_app import make_app
from pipeline.runtime.health import readiness
from pipeline.runtime.supervision import BrokerWatchdog, crash_stops_worker
from pipeline.writers.jsonl import JsonlFiles

log = logging.getLogger("newsfeed.worker")
WORKER = f"{socket.gethostname()}:{os.getpid()}"  # recorded per stage in `trace`: which process did what
settings = load()
if not settings.broker:
    raise SystemExit("NEWSFEED_BROKER is not set: run `newsfeed worker` (which starts an embedded broker) "
                     "or point NEWSFEED_BROKER at a Kafka broker, e.g. the address `newsfeed broker` prints.")

app = make_app(settings)
http.serve(app, settings.http_host, settings.http_port, settings.stages)  # /health, /ready, /metrics


async def _out(what: str, fn, *args, **kwargs):
    """Every output goes through here: retried while it fails, so no offset is committed past it."""
    return await outputs.write(what, fn, *args, wait=settings.output_wait, **kwargs)


async def _delivered(topic: faust.TopicT, **kwargs) -> None:
    """Send and wait for the broker's acknowledgement (final outputs: the sink must know it is written)."""
    await outputs.delivered(topic, **kwargs)


def _topic(name: str) -> faust.TopicT:
    return app.topic(settings.topic(name), key_type=bytes, value_type=bytes, partitions=settings.partitions)


raw_topic, languaged_topic, unique_topic = map(_topic, ("raw", "languaged", "unique"))
enriched_topic, duplicates_topic, deadletter_topic, index_topic = map(
    _topic, ("enriched", "duplicates", "deadletter", "dedup-index"))


async def _dead(event: faust.EventT, stage: str, exc: BaseException, record_id: str | None = None) -> None:
    msg, (kind, message) = event.message, describe(exc)
    letter = dead_letter(payload=msg.value, kind=kind, message=message, stage=stage, topic=msg.topic,
                         partition=msg.partition, offset=msg.offset, key=msg.key,
                         record_id=record_id or record_id_of(msg.value))
    log.warning("dead letter: %s at %s %s[%s]@%s: %s", kind, stage, msg.topic, msg.partition, msg.offset, message)
    metrics.dead_letter(stage, kind)
    await _out("deadletter topic", _delivered, deadletter_topic, key=msg.key, value=codec.encode(letter),
               headers=error_headers(letter, exc, msg.headers))


def _rebuild(cache: dict[int, Any], partition: int, load) -> asyncio.Future:
    """State kept per input partition, rebuilt from its log once this process owns it (started on
    assignment, so it is ready before the first record; again after a revocation drops it)."""
    if partition not in cache:  # a future: concurrent actors share one load
        cache[partition] = asyncio.ensure_future(_in_thread(load, partition))
    return cache[partition]


async def _partition_state(cache: dict[int, Any], partition: int, load) -> Any:
    return await _rebuild(cache, partition, load)


def _in_thread(fn, *args):
    """CPU-heavy work runs in a thread so the event loop keeps heartbeating and committing."""
    return asyncio.get_running_loop().run_in_executor(None, fn, *args)


_joining = asyncio.Event()

# --- language: raw -> languaged (keyed by language, so dedup candidates meet in one partition) ---------
detector = LanguageDetector.from_settings(settings)

if "language" in settings.stages:
    @app.agent(raw_topic, name="language")
    @crash_stops_worker
    async def language_agent(stream):
        # lingua's loading holds the GIL for 0.5-2.5 s: start it once the JoinGroup request is out (the revoke
        # callback comes just before the consumer thread sends it), so it fills the broker's join wait instead
        # of delaying the request (measured: two workers starting together joined 2-2.5 s later)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(_joining.wait(), settings.session_timeout)
        await asyncio.sleep(0.5)
        started = time.monotonic()
        await _in_thread(detector.warm_up)  # models load once, before the first message
        log.info("newsfeed: language models loaded in %.1fs", time.monotonic() - started)
        readiness.done("models", "language")
        meter = metrics.stage("language")
        async for event in stream.events():
            started = meter.start()
            try:
                record = steps.detect_language(steps.ingest(event.value, settings.max_message_bytes), detector)
                record["trace"] = {"language": WORKER}
            except Exception as exc:  # bad input, or a stage bug: the letter keeps the payload, the stream goes on
                await _dead(event, "language", exc)
                continue
            await _out("languaged topic", languaged_topic.send, key=record["language"]["code"].encode(),
                       value=codec.encode(record))
            meter.done("languaged", started)


# --- dedup: languaged -> unique | duplicates; state per partition, logged to dedup-index -------------
_indexes: dict[int, DedupIndex] = {}


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
    @app.agent(languaged_topic, name="dedup")
    @crash_stops_worker
    async def dedup_agent(stream):
        meter = metrics.stage("dedup")
        async for event in stream.events():
            partition = event.message.partition
            index = await _partition_state(_indexes, partition, _load_index)
            started = meter.start()
            try:
                record = codec.decode(event.value)
                verdict = steps.deduplicate(record, index)
                record.setdefault("trace", {})["dedup"] = WORKER
            except Exception as exc:
                await _dead(event, "dedup", exc)
                continue
            if verdict.status != "unique":
                await _out("duplicates topic", _delivered, duplicates_topic, key=record["id"].encode(),
                           value=codec.encode(record))
                meter.done(verdict.status, started)
                continue
            if verdict.entry is not None:
                # same partition as the input: the index partition belongs to whoever owns this one
                await _out("dedup-index topic", index_topic.send, key=event.message.key,
                           value=orjson.dumps(verdict.entry), partition=partition)
                index.add(verdict.entry)
            # partitioned by the id's key hash: every copy of an id (a raw record processed again after a
            # crash, a producer's retry) reaches the same `unique` and `enriched` partition, whose read-back
            # then skips it. (Spreading by dedup's input offset balanced NER exactly, but a copy re-read
            # from `raw` got a new `languaged` offset, another partition, and a second enriched record.)
            await _out("unique topic", unique_topic.send, key=record["id"].encode(), value=codec.encode(record))
            meter.done("unique", started)


# --- entities + sink: unique -> NER (batched into one nlp.pipe call) -> enriched topic + enriched.jsonl ---
# One agent, not two joined by a topic: a hop would cost a produce, a consume and a re-encode of the whole
# record per article on the loop that shares the cores with NER (issue 17). NER runs in a thread
# (NEWSFEED_NER_PROCESSES=0) or in child processes; either way the loop stays free.
tagger = (ProcessTagger(settings.ner_model_map(), settings.ner_batch_size, settings.ner_processes,
                        settings.ner_cpus)
          if settings.ner_processes > 0 and "entities" in settings.stages
          else EntityTagger(models=settings.ner_model_map(), batch_size=settings.ner_batch_size))
if isinstance(tagger, ProcessTagger):
    # before lingua's warm-up holds the GIL: the child loads spaCy meanwhile
    tagger.start_loading(parent_nice=settings.loop_nice)

# unique partition -> ids already on the enriched partition of the same number (the agent writes there)
_enriched_on_topic: dict[int, Any] = {}
_files = JsonlFiles(settings.output_dir)


def _ids_on_enriched(partition: int) -> set[str]:
    return {orjson.loads(value)["id"] for _o, _k, value in
            read_partition(settings.broker, settings, settings.topic("enriched"), partition)}


async def _tag(batch: list[tuple[faust.EventT, dict[str, Any]]]) -> list[tuple[faust.EventT, dict[str, Any]]]:
    """NER on the batch; if the batch fails, one by one so only the failing record is dead-lettered."""
    try:
        return list(zip([e for e, _ in batch], await _in_thread(steps.tag_entities, [r for _, r in batch], tagger)))
    except Exception:
        tagged = []
        for event, record in batch:
            try:
                tagged += [(event, r) for r in await _in_thread(steps.tag_entities, [record], tagger)]
            except Exception as one:
                await _dead(event, "entities", one, record.get("id"))
        return tagged


async def _sink(event: faust.EventT, record: dict[str, Any], on_topic: set[str], meter) -> None:
    """File first, then topic; both skip what they already hold, so re-delivery writes nothing twice.
    The enriched partition is the unique partition's number: its read-back covers every id this
    partition can re-deliver."""
    started = meter.start()
    try:
        record["timings"]["sink_at"] = utc_now()
        record.setdefault("trace", {})["sink"] = WORKER
        if settings.validate_output:  # ~7 ms a record: off on the hot path unless asked for
            schemas.validate("enriched", record)
    except Exception as exc:
        await _dead(event, "sink", exc, record.get("id"))
        return
    if record["id"] in on_topic:  # a second copy on `unique` (dedup re-delivered), in flight in another actor
        meter.done("redelivered", started)
        return
    on_topic.add(record["id"])  # before the awaits: an output only fails by stopping the process
    await _out("enriched.jsonl", _files.write, "enriched.jsonl", record)
    await _out("enriched topic", _delivered, enriched_topic, key=record["id"].encode(), value=codec.encode(record),
               partition=event.message.partition)
    meter.done("enriched", started)


if "entities" in settings.stages:
    # two actors per NER child: while the child tags one batch, the next is already queued for it, so it
    # never idles while this (niced, busy) loop hands back results and gathers more. Faust commits acked
    # offsets in order, so out-of-order completion is safe.
    @app.agent(unique_topic, name="entities", concurrency=max(1, 2 * settings.ner_processes))
    @crash_stops_worker
    async def entities_agent(stream):
        started = time.monotonic()
        await _in_thread(tagger.load)  # models load once, before the first message (overlaps the group join)
        log.info("newsfeed: NER models loaded in %.1fs", time.monotonic() - started)
        readiness.done("models", "entities")
        meter, sink_meter = metrics.stage("entities"), metrics.stage("sink")
        async for events in stream.take_events(settings.ner_batch_size, within=settings.ner_batch_wait):
            got_batch, started = time.monotonic(), meter.start(len(events))
            batch = []
            for event in events:
                on_topic = await _partition_state(_enriched_on_topic, event.message.partition, _ids_on_enriched)
                try:
                    record = codec.decode(event.value)
                except Exception as exc:
                    await _dead(event, "entities", exc)
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
                on_topic = await _partition_state(_enriched_on_topic, event.message.partition, _ids_on_enriched)
                sinks.append(_sink(event, record, on_topic, sink_meter))
            # the batch's outputs wait for their broker acks together (one round trip a batch, not eight);
            # each _sink claims its id before its first await, so a repeated id is still written once
            await asyncio.gather(*sinks)


# --- sink: duplicates and dead letters -> their JSONL ------------------------------------------------
if "sink" in settings.stages:
    @app.agent(duplicates_topic, name="duplicates-sink")
    @crash_stops_worker
    async def duplicates_sink(stream):
        meter = metrics.stage("duplicates-sink")
        async for value in stream:
            started = meter.start()
            await _out("duplicates.jsonl", _files.write, "duplicates.jsonl", codec.decode(value))
            meter.done("written", started)

    @app.agent(deadletter_topic, name="deadletter-sink")
    @crash_stops_worker
    async def deadletter_sink(stream):
        meter = metrics.stage("deadletter-sink")
        async for value in stream:
            started = meter.start()
            await _out("deadletter.jsonl", _files.write, "deadletter.jsonl", codec.decode(value), key=letter_key)
            meter.done("written", started)


_watchdog = BrokerWatchdog(settings.broker, settings.broker_wait)
app.timer(interval=1.0)(_watchdog.check)


readiness.pending("models", {s for s in settings.stages if s in ("language", "entities")}, "models not loaded yet")


@app.on_partitions_assigned.connect
async def _joined(app, assigned, **kwargs) -> None:
    readiness.ok("assignment")
    for tp in assigned:
        if tp.topic == settings.topic("languaged") and "dedup" in settings.stages:
            _rebuild(_indexes, tp.partition, _load_index)
        elif tp.topic == settings.topic("unique") and "entities" in settings.stages:
            _rebuild(_enriched_on_topic, tp.partition, _ids_on_enriched)


@app.on_partitions_revoked.connect
async def _forget_revoked(app, revoked, **kwargs) -> None:
    """Whoever gets a partition next rebuilds its state from the log; ours would go stale."""
    readiness.fail("assignment", "rebalancing")
    _joining.set()  # the first call comes as the consumer starts joining the group
    for tp in revoked:
        if tp.topic == settings.topic("languaged"):
            _indexes.pop(tp.partition, None)
        elif tp.topic == settings.topic("unique"):
            _enriched_on_topic.pop(tp.partition, None)


def shutdown_children() -> None:
    """Stop NER child processes (when NEWSFEED_NER_PROCESSES > 0) and close the JSONL files."""
    if isinstance(tagger, ProcessTagger):
        tagger.close()
    _files.close()
