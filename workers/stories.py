"""stories: tagged -> story assignment -> enriched topic + enriched.jsonl; duplicates -> their original's story.

Features (words, entities, embedding) are computed in parallel by the entities stage; assignment is
serialised here: `tagged` and `story-log` have one partition, so one process at a time owns the open stories.
Each assignment is logged to `story-log` before the article is written anywhere, so an article processed
again after a crash or a rebalance finds its story in the rebuilt index and keeps it."""

from __future__ import annotations

import time

import orjson

from pipeline.contracts import codec
from pipeline.contracts.records import utc_now
from pipeline.kafka.io import read_partition
from pipeline.runtime import metrics
from pipeline.runtime.supervision import crash_stops_worker
from pipeline.stages import story_codec, story_features
from pipeline.stages.stories import StoryIndex
from workers.common import PartitionState, app, dead, delivered, in_thread, log, out, settings, topic
from workers.enriched_sink import ids_on_enriched, sink

tagged_topic, story_log_topic = topic("tagged", partitions=1), topic("story-log", partitions=1)
stories_topic, duplicates_topic = topic("stories"), topic("duplicates")


def _rebuild(_partition: int) -> tuple[StoryIndex, set[str]]:
    """The open stories from their log, and the ids the enriched topic already holds."""
    started = time.monotonic()
    index, events = StoryIndex(idle_hours=settings.story_idle_hours), 0
    for _offset, _key, value in read_partition(settings.broker, settings, settings.topic("story-log"), 0):
        index.apply(orjson.loads(value))
        events += 1
    on_enriched = ids_on_enriched()
    log.info("stories rebuilt from %s log events in %.1fs: %s open", events, time.monotonic() - started,
             len(index.stories))
    return index, on_enriched


async def _assign(index: StoryIndex, record: dict) -> dict:
    """The article's story: from the index when it has one already, else assigned now; logged first.
    A copy takes its original's story, assigned in the original's name if the copy overtook it (copies
    skip NER); the original then keeps that story and adds its entities to it."""
    carried = record.pop("story_features", None)
    features = (story_codec.from_json(carried) if carried
                else await in_thread(story_features.features, record))
    original = record["dedup"].get("duplicate_of")
    if original:
        ref = index.assign_from_copy(original, features)
    else:
        ref = index.assign(record["id"], features)
        index.refine(record["id"], features)
    for event in index.drain_events():
        await out("story-log topic", delivered, story_log_topic, key=event["article"].encode(),
                  value=orjson.dumps(event))
    return ref


async def _publish(index: StoryIndex, story_id: str) -> None:
    summary = {"schema_version": 1, **index.summary(story_id), "updated_at": utc_now()}
    await out("stories topic", stories_topic.send, key=story_id.encode(), value=orjson.dumps(summary))


if "stories" in settings.stages:
    state = PartitionState("tagged", _rebuild)

    @app.agent(tagged_topic, name="stories")
    @crash_stops_worker
    async def stories_agent(stream):
        meter, sink_meter = metrics.stage("stories"), metrics.stage("sink")
        async for event in stream.events():
            index, on_enriched = await state.get(event.message.partition)
            started = meter.start()
            try:
                record = codec.decode(event.value)
                ref = await _assign(index, record) if settings.stories else None
            except Exception as exc:
                await dead(event, "stories", exc)
                continue
            duplicate = bool(record["dedup"].get("duplicate_of"))
            if ref is not None:   # None with NEWSFEED_STORIES=0: outputs only
                record["story"] = {**ref, "new": False, "score": 1.0} if duplicate else ref
            if duplicate:
                await out("duplicates topic", delivered, duplicates_topic, key=record["id"].encode(),
                          value=codec.encode(record))
                meter.done("duplicate", started)
            else:
                meter.done("assigned", started)
                await sink(event, record, on_enriched, sink_meter)
            if ref is not None:
                await _publish(index, ref["id"])
