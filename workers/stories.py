"""stories: tagged -> story assignment -> enriched topic + enriched.jsonl; duplicates -> their original's story.

Features (words, entities, embedding) are computed in parallel by the entities stage; assignment is
serialised here: `tagged` and `story-log` have one partition, so one process at a time owns the open stories.
Each assignment is logged to `story-log` before the article is written anywhere, so an article processed
again after a crash or a rebalance finds its story in the rebuilt index and keeps it."""

from __future__ import annotations

import asyncio
import time

import orjson

from pipeline.contracts import codec
from pipeline.contracts.records import utc_now
from pipeline.kafka.state import load_story_index, written_ids
from pipeline.runtime import metrics
from pipeline.runtime.outputs import delivered_all
from pipeline.runtime.health import readiness
from pipeline.runtime.supervision import crash_stops_worker
from pipeline.stages.stories import codec as story_codec
from pipeline.stages.stories import features as story_features
from pipeline.stages.stories.index import StoryIndex
from workers.common import PartitionState, app, dead, delivered, in_thread, log, out, settings, topic
from workers.enriched_sink import sink

tagged_topic, story_log_topic = topic("tagged", partitions=1), topic("story-log", partitions=1)
stories_topic, duplicates_topic = topic("stories"), topic("duplicates")
# articles assigned, then logged in one write, at a time: up to this many, or what came within this many seconds
STORY_BATCH, STORY_BATCH_WAIT = 64, 0.05


def _rebuild(_partition: int) -> tuple[StoryIndex, dict[str, set[str]]]:
    """The open stories from their log, and the ids the two topics this stage writes already hold (a record
    read again after a crash is not written twice)."""
    started = time.monotonic()
    index, events = load_story_index(settings)
    written = {kind: written_ids(settings, kind) for kind in ("enriched", "duplicates")}
    changed.update(index.stories)   # the previous owner may have left some summaries unpublished
    log.info("stories rebuilt from %s log events in %.1fs: %s open", events, time.monotonic() - started,
             len(index.stories))
    return index, written


def _features_of_bare(records: list[dict]) -> dict[str, story_features.StoryFeatures]:
    """One embedding call for the batch's records that carry no features (copies that overtook their
    original skip NER); should it fail, `_assign` computes them one by one and dead-letters the failing one."""
    try:
        return {r["id"]: f for r, f in zip(records, story_features.features_batch(records))}
    except Exception:  # noqa: BLE001
        log.exception("story features of %s records", len(records))
        return {}


async def _assign(index: StoryIndex, record: dict, computed: dict) -> dict:
    """The article's story: from the index when it has one already, else assigned now (its log events wait
    in the index for the batch's one write, before any of its articles is written anywhere). A copy takes
    its original's story, assigned in the original's name if the copy overtook it (copies skip NER); the
    original then keeps that story and adds its entities to it."""
    carried = record.pop("story_features", None)
    original = record["dedup"].get("duplicate_of")
    if original and index.knows(original):   # the usual case: no features needed
        return index.assign(original, None)
    features = (story_codec.from_json(carried) if carried else computed.get(record["id"])
                or await in_thread(story_features.features, record))
    horizon = features.when - index.idle_seconds
    if any(index.stories[s].last_seen < horizon for s in changed if s in index.stories):
        # this article's time closes a story whose last summary is not out yet: the batch's assignments so far
        # are logged first, so a summary never counts an article the log does not hold
        await _log(index)
        await _publish_changed()
    if original:
        return index.assign_from_copy(original, features)
    ref = index.assign(record["id"], features)
    index.refine(record["id"], features)
    return ref


async def _log(index: StoryIndex) -> None:
    """The batch's assignments to `story-log`, sent together and all acknowledged (one round trip)."""
    pending = [{"key": e["article"].encode(), "value": orjson.dumps(e)} for e in index.drain_events()]
    if pending:
        await out("story-log topic", delivered_all, story_log_topic, pending)


# Stories that took an article since their summary was last published: summaries go out once a second, not
# once an article (merging a big story's names costs milliseconds, and a burst of articles joins few stories)
changed: set[str] = set()


async def _publish_changed() -> None:
    loaded = state.cache.get(0) if "stories" in settings.stages else None
    if loaded is None or not loaded.done() or loaded.exception() is not None:
        return
    index, _ids = loaded.result()
    while changed:
        story_id = changed.pop()
        if story_id in index.stories:   # not closed meanwhile
            summary = {"schema_version": 1, **index.summary(story_id), "updated_at": utc_now()}
            await out("stories topic", stories_topic.send, key=story_id.encode(), value=orjson.dumps(summary))


async def _publish_before_stopping(_app, **_kwargs) -> None:
    """The last second's summaries, once the streams are empty and before the producer's last flush: a worker
    stopped right after its last article leaves no story counted short (the next owner would republish them
    all, but a `newsfeed run` has no next owner). Bounded: a broker that is gone must not hold the stop."""
    try:
        await asyncio.wait_for(_publish_changed(), timeout=min(10.0, settings.output_wait))
    except Exception as exc:  # noqa: BLE001 - the next owner republishes every open story's summary
        log.warning("stories: %s summaries not published at stop (%s); the next start publishes them", len(changed),
                    exc)


if "stories" in settings.stages:
    state = PartitionState("tagged", _rebuild, eager=False)
    app.timer(interval=1.0)(_publish_changed)
    app.on_before_shutdown.connect(_publish_before_stopping)

    @app.agent(tagged_topic, name="stories")
    @crash_stops_worker
    async def stories_agent(stream):
        meter, sink_meter = metrics.stage("stories"), metrics.stage("sink")
        if settings.stories:   # for copies that overtook their original (their features are computed here);
            # loaded once per process: with the entities stage here too, this waits for its load
            await in_thread(story_features.load, sorted(settings.ner_model_map()))
            readiness.done("models", "stories")
        async for events in stream.take_events(STORY_BATCH, within=STORY_BATCH_WAIT):
            index, written = await state.get(events[0].message.partition)
            batch = []
            for event in events:
                try:
                    batch.append((event, codec.decode(event.value), meter.start()))
                except Exception as exc:
                    await dead(event, "stories", exc)
            computed = {}
            if settings.stories:
                bare = [r for _e, r, _t in batch if "story_features" not in r
                          and not index.knows(r["dedup"].get("duplicate_of") or "")]
                computed = await in_thread(_features_of_bare, bare) if bare else {}
            assigned = []
            for event, record, started in batch:
                try:
                    ref = await _assign(index, record, computed) if settings.stories else None
                except Exception as exc:
                    await dead(event, "stories", exc)
                    continue
                assigned.append((event, record, ref, started))
                if ref is not None:   # at once: a later article of the batch may close its story
                    changed.add(ref["id"])
            await _log(index)   # before any article of the batch is written: a reprocessed one keeps its story
            for event, record, ref, started in assigned:
                await _write(event, record, ref, started, written, meter, sink_meter)


async def _write(event, record: dict, ref: dict | None, started: float, written: dict[str, set[str]], meter,
                 sink_meter):
    duplicate = bool(record["dedup"].get("duplicate_of"))
    if ref is not None:   # None with NEWSFEED_STORIES=0: outputs only
        record["story"] = {**ref, "new": False, "score": 1.0} if duplicate else ref
    if duplicate and record["id"] in written["duplicates"]:   # read again after a crash: written already
        meter.done("redelivered", started)
    elif duplicate:
        written["duplicates"].add(record["id"])
        await out("duplicates topic", delivered, duplicates_topic, key=record["id"].encode(),
                  value=codec.encode(record))
        meter.done("duplicate", started)
    else:
        meter.done("assigned", started)
        await sink(event, record, written["enriched"], sink_meter)
