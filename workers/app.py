"""The Faust app: one agent per stage, wiring topics to `pipeline` logic and nothing more.

Start with `newsfeed worker` (starts an embedded broker when NEWSFEED_BROKER is unset) or
`faust -A workers.app worker` (needs NEWSFEED_BROKER). NEWSFEED_STAGES picks the agents a process runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import time
import tempfile
from pathlib import Path
from typing import Any

import aiokafka
import faust
import orjson

from pipeline import codec, schemas, stages
from pipeline.config import ALL_STAGES, load
from pipeline.deadletter import StageError, dead_letter, letter_key
from pipeline.dedup import DedupIndex
from pipeline.entities import EntityTagger, ProcessTagger
from pipeline.kafka_io import broker_reachable, read_partition
from pipeline.language import LanguageDetector
from pipeline.records import utc_now
from pipeline.sink import JsonlSink

log = logging.getLogger("newsfeed.worker")
WORKER = f"{socket.gethostname()}:{os.getpid()}"  # recorded per stage in `trace`: which process did what
settings = load()
if not settings.broker:
    raise SystemExit("NEWSFEED_BROKER is not set: run `newsfeed worker` (which starts an embedded broker) "
                     "or point NEWSFEED_BROKER at a Kafka broker, e.g. the address `newsfeed broker` prints.")

class _ShortFetchWaitConsumer(aiokafka.AIOKafkaConsumer):
    """Faust hard-codes fetch_max_wait_ms=1500. Tansu answers a waiting Fetch only when that wait ends,
    not when data arrives, so on a quiet stream every hop between stages would cost up to the whole wait
    (measured: ~0.45 s a hop at 1500 ms). Each wait also costs the broker CPU, so not too short either:
    NEWSFEED_FETCH_WAIT_MS (250 ms; idle 2-worker pipeline 0.038 cores, 0.075 at 100 ms)."""

    def __init__(self, *args, **kwargs):
        kwargs["fetch_max_wait_ms"] = settings.fetch_wait_ms
        super().__init__(*args, **kwargs)


aiokafka.AIOKafkaConsumer = _ShortFetchWaitConsumer  # Faust's driver looks it up on the module


def _credentials():
    """SASL/TLS for a real cluster, from the same settings the kafka-python clients use."""
    if settings.security_protocol == "PLAINTEXT":
        return None
    context = None
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        import ssl

        context = ssl.create_default_context(cafile=settings.ssl_cafile or None)
        if settings.security_protocol == "SSL":
            return faust.SSLCredentials(context)
    return faust.SASLCredentials(username=settings.sasl_username, password=settings.sasl_password,
                                 mechanism=settings.sasl_mechanism or "PLAIN", ssl_context=context)


# Workers running different stage sets must not share a consumer group: Faust assumes identical members.
_group = settings.app_id if settings.stages == ALL_STAGES else f"{settings.app_id}-{'-'.join(settings.stages)}"
_big = max(4 * 1024 * 1024, 2 * settings.max_message_bytes + 65536)

app = faust.App(
    _group,
    broker=[f"kafka://{b}" for b in settings.broker.split(",")],
    value_serializer="raw",
    key_serializer="raw",
    web_enabled=False,
    store="memory://",
    # all state lives in topics; keep Faust's scratch directory out of the working tree
    datadir=str(Path(tempfile.gettempdir()) / f"newsfeed-faust-{_group}"),
    topic_partitions=settings.partitions,
    topic_replication_factor=settings.replication,
    consumer_auto_offset_reset="earliest",
    # Tansu makes every join wait session_timeout/2: short timeouts keep start-up and rebalances quick.
    broker_session_timeout=settings.session_timeout,
    broker_heartbeat_interval=max(0.5, settings.session_timeout / 6),
    broker_rebalance_timeout=max(10.0, settings.session_timeout * 2),
    broker_commit_interval=1.0,
    producer_acks=-1,
    producer_max_request_size=_big,
    consumer_max_fetch_size=_big,
    broker_credentials=_credentials(),
    # bounded buffers: replaying far faster than NER keeps memory flat (the rest waits in Kafka).
    # Small polls matter too: Faust delivers a poll's records in order and waits while the NER stage's
    # buffer is full, so with 200-record polls the sink starved for seconds behind a backlog of NER input
    # (bench chart: 6 s gaps, then bursts); with 32 the stages interleave and outputs flow steadily.
    stream_buffer_maxsize=256,
    broker_max_poll_records=32,
)


def _topic(name: str) -> faust.TopicT:
    return app.topic(settings.topic(name), key_type=bytes, value_type=bytes, partitions=settings.partitions)


raw_topic, languaged_topic, unique_topic, tagged_topic = map(_topic, ("raw", "languaged", "unique", "tagged"))
enriched_topic, duplicates_topic, deadletter_topic, index_topic = map(
    _topic, ("enriched", "duplicates", "deadletter", "dedup-index"))


async def _dead(event: faust.EventT, stage: str, kind: str, message: str, record_id: str | None = None) -> None:
    msg = event.message
    if record_id is None:  # name the article when the payload says which one it is
        try:
            record_id = str(orjson.loads(msg.value).get("id") or "") or None
        except Exception:
            record_id = None
    letter = dead_letter(payload=msg.value, kind=kind, message=message, stage=stage, topic=msg.topic,
                         partition=msg.partition, offset=msg.offset, key=msg.key, record_id=record_id)
    log.warning("dead letter: %s at %s %s[%s]@%s: %s", kind, stage, msg.topic, msg.partition, msg.offset, message)
    await deadletter_topic.send(key=msg.key, value=codec.encode(letter))


async def _partition_state(cache: dict[int, Any], partition: int, load) -> Any:
    """State kept per input partition, rebuilt from its log the first time this process owns it
    (and again after a revocation drops it)."""
    if partition not in cache:
        cache[partition] = await _in_thread(load, partition)
    return cache[partition]


def _in_thread(fn, *args):
    """CPU-heavy work runs in a thread so the event loop keeps heartbeating and committing."""
    return asyncio.get_running_loop().run_in_executor(None, fn, *args)


# --- language: raw -> languaged (keyed by language, so dedup candidates meet in one partition) ---------
detector = LanguageDetector.from_settings(settings)

if "language" in settings.stages:
    @app.agent(raw_topic, name="language")
    async def language_agent(stream):
        started = time.monotonic()
        await _in_thread(detector.warm_up)  # models load once, before the first message
        log.info("newsfeed: language models loaded in %.1fs", time.monotonic() - started)
        async for event in stream.events():
            try:
                record = stages.detect_language(stages.ingest(event.value, settings.max_message_bytes), detector)
                record["trace"] = {"language": WORKER}
            except StageError as exc:
                await _dead(event, "language", exc.kind, str(exc))
                continue
            except Exception as exc:  # a stage bug must not stop the stream; the letter keeps the payload
                await _dead(event, "language", "stage_error", f"{type(exc).__name__}: {exc}")
                continue
            await languaged_topic.send(key=record["language"]["code"].encode(), value=codec.encode(record))


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
    async def dedup_agent(stream):
        async for event in stream.events():
            partition = event.message.partition
            index = await _partition_state(_indexes, partition, _load_index)
            try:
                record = codec.decode(event.value)
                verdict = stages.deduplicate(record, index)
                record.setdefault("trace", {})["dedup"] = WORKER
            except Exception as exc:
                await _dead(event, "dedup", "stage_error", f"{type(exc).__name__}: {exc}")
                continue
            if verdict.status != "unique":
                await duplicates_topic.send(key=record["id"].encode(), value=codec.encode(record))
                continue
            if verdict.entry is not None:
                # same partition as the input: the index partition belongs to whoever owns this one
                await index_topic.send(key=event.message.key, value=orjson.dumps(verdict.entry), partition=partition)
                index.add(verdict.entry)
            # spread by input offset, not by key hash: every NER partition gets the same number of articles,
            # so workers finish together (hashing 600 ids onto 2 partitions gave 249/222: a 6 % tail of
            # one worker alone). The offset is the same on re-delivery, so the choice is deterministic.
            await unique_topic.send(key=record["id"].encode(), value=codec.encode(record),
                                    partition=event.message.offset % settings.partitions)


# --- entities: unique -> tagged, batched into one nlp.pipe call ---------------------------------------
# NER runs in a thread (NEWSFEED_NER_PROCESSES=0) or in child processes; either way the loop stays free.
tagger = (ProcessTagger(settings.ner_model_map(), settings.ner_batch_size, settings.ner_processes,
                        settings.ner_cpus)
          if settings.ner_processes > 0 and "entities" in settings.stages
          else EntityTagger(models=settings.ner_model_map(), batch_size=settings.ner_batch_size))
if isinstance(tagger, ProcessTagger):
    # before lingua's warm-up holds the GIL: the child loads spaCy meanwhile
    tagger.start_loading(parent_nice=settings.loop_nice)

if "entities" in settings.stages:
    # two actors per NER child: while the child tags one batch, the next is already queued for it, so it
    # never idles while this (niced, busy) loop hands back results and gathers more. Faust commits acked
    # offsets in order, so out-of-order completion is safe.
    @app.agent(unique_topic, name="entities", concurrency=max(1, 2 * settings.ner_processes))
    async def entities_agent(stream):
        started = time.monotonic()
        await _in_thread(tagger.load)  # models load once, before the first message (overlaps the group join)
        log.info("newsfeed: NER models loaded in %.1fs", time.monotonic() - started)
        idle_since = time.monotonic()
        async for events in stream.take_events(settings.ner_batch_size, within=settings.ner_batch_wait):
            got_batch = time.monotonic()
            records = []
            for event in events:
                try:
                    records.append((event, codec.decode(event.value)))
                except Exception as exc:
                    await _dead(event, "entities", "stage_error", f"{type(exc).__name__}: {exc}")
            try:
                tagged = await _in_thread(stages.tag_entities, [r for _, r in records], tagger)
            except Exception:  # tag one by one so only the failing record is dead-lettered
                tagged = []
                for event, record in records:
                    try:
                        tagged += await _in_thread(stages.tag_entities, [record], tagger)
                    except Exception as one:
                        await _dead(event, "entities", "stage_error", f"{type(one).__name__}: {one}", record.get("id"))
            ner_done = time.monotonic()
            for record in tagged:
                record.setdefault("trace", {})["entities"] = WORKER
                await tagged_topic.send(key=record["id"].encode(), value=codec.encode(record))
            log.debug("ner batch %d: waited %.3fs, ner %.3fs, send %.3fs", len(events), got_batch - idle_since,
                      ner_done - got_batch, time.monotonic() - ner_done)
            idle_since = time.monotonic()


# --- sink: tagged -> enriched topic + enriched.jsonl; duplicates and dead letters -> their JSONL ------
_enriched_on_topic: dict[int, set[str]] = {}
_sinks: dict[str, JsonlSink] = {}


def _jsonl(name: str, key=None) -> JsonlSink:
    if name not in _sinks:
        _sinks[name] = JsonlSink(settings.output_dir / name, **({"key": key} if key else {}))
    return _sinks[name]


def _ids_on_enriched(partition: int) -> set[str]:
    return {orjson.loads(value)["id"] for _o, _k, value in
            read_partition(settings.broker, settings, settings.topic("enriched"), partition)}


if "sink" in settings.stages:
    @app.agent(tagged_topic, name="sink")
    async def sink_agent(stream):
        async for event in stream.events():
            partition = event.message.partition
            on_topic = await _partition_state(_enriched_on_topic, partition, _ids_on_enriched)
            try:
                record: dict[str, Any] = codec.decode(event.value)
                record["timings"]["sink_at"] = utc_now()
                record.setdefault("trace", {})["sink"] = WORKER
                if settings.validate_output:  # ~7 ms a record: off on the hot path unless asked for
                    schemas.validate("enriched", record)
            except Exception as exc:
                await _dead(event, "sink", "stage_error", f"{type(exc).__name__}: {exc}")
                continue
            # file first, then topic; both skip what they already hold, so re-delivery writes nothing twice
            _jsonl("enriched.jsonl").write(record)
            if record["id"] not in on_topic:
                await enriched_topic.send(key=record["id"].encode(), value=codec.encode(record), partition=partition)
                on_topic.add(record["id"])

    @app.agent(duplicates_topic, name="duplicates-sink")
    async def duplicates_sink(stream):
        async for value in stream:
            _jsonl("duplicates.jsonl").write(codec.decode(value))

    @app.agent(deadletter_topic, name="deadletter-sink")
    async def deadletter_sink(stream):
        async for value in stream:
            _jsonl("deadletter.jsonl", key=letter_key).write(codec.decode(value))


@app.timer(interval=1.0)
async def _broker_watchdog() -> None:
    """Log clearly while the broker is unreachable; exit with an error after NEWSFEED_BROKER_WAIT seconds.
    (aiokafka retries with backoff on its own; without this a worker would retry silently forever.)"""
    reachable = await _in_thread(broker_reachable, settings.broker)
    now = time.monotonic()
    if reachable:
        if _outage["since"] is not None:
            log.warning("broker %s is back after %.1fs", settings.broker, now - _outage["since"])
        _outage.update(since=None, logged=0.0)
        return
    if _outage["since"] is None:
        _outage["since"] = now
    down = now - _outage["since"]
    if now - _outage["logged"] >= 5:
        log.error("broker %s unreachable for %.0fs; retrying (giving up after %.0fs, NEWSFEED_BROKER_WAIT)",
                  settings.broker, down, settings.broker_wait)
        _outage["logged"] = now
    if down > settings.broker_wait:
        log.critical("broker %s unreachable for %.0fs: exiting", settings.broker, down)
        sys.stderr.flush()
        os._exit(3)


_outage: dict[str, Any] = {"since": None, "logged": 0.0}


@app.on_partitions_revoked.connect
async def _forget_revoked(app, revoked, **kwargs) -> None:
    """Whoever gets a partition next rebuilds its state from the log; ours would go stale."""
    for tp in revoked:
        if tp.topic == settings.topic("languaged"):
            _indexes.pop(tp.partition, None)
        elif tp.topic == settings.topic("tagged"):
            _enriched_on_topic.pop(tp.partition, None)




def shutdown_children() -> None:
    """Stop NER child processes (when NEWSFEED_NER_PROCESSES > 0) and close the JSONL files."""
    if isinstance(tagger, ProcessTagger):
        tagger.close()
    for sink in _sinks.values():
        sink.close()
