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
from pipeline.kafka.state import load_story_index
from pipeline.runtime import metrics
from pipeline.runtime.health import readiness
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
    index, events = load_story_index(settings)
    on_enriched = ids_on_enriched()
    changed.update(index.stories)   # the previous owner may have left some summaries unpublished
    log.info("stories rebuilt from %s log events in %.1fs: %s open", events, time.monotonic() - started,
             len(index.stories))
    return index, on_enriched


async def _assign(index: StoryIndex, record: dict) -> dict:
    """The article's story: from the index when it has one already, else assigned now; logged first.
    A copy takes its original's story, assigned in the original's name if the copy overtook it (copies
    skip NER); the original then keeps that story and adds its entities to it."""
    carried = record.pop("story_features", None)
    original = record["dedup"].get("duplicate_of")
    if original and index.knows(original):   # the usual case: no features needed
        return index.assign(original, None)
    features = (story_codec.from_json(carried) if carried
                else await in_thread(story_features.features, record))
    horizon = features.when - index.idle_seconds
    if any(index.stories[s].last_seen < horizon for s in changed if s in index.stories):
        await _publish_changed()   # this article's time closes a story whose last summary is not out yet
    if original:
        ref = index.assign_from_copy(original, features)
    else:
        ref = index.assign(record["id"], features)
        index.refine(record["id"], features)
    for event in index.drain_events():
        await out("story-log topic", delivered, story_log_topic, key=event["article"].encode(),
                  value=orjson.dumps(event))
    return ref


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


if "stories" in settings.stages:
    state = PartitionState("tagged", _rebuild, eager=False)
    app.timer(interval=1.0)(_publish_changed)

    @app.agent(tagged_topic, name="stories")
    @crash_stops_worker
    async def stories_agent(stream):
        meter, sink_meter = metrics.stage("stories"), metrics.stage("sink")
        if settings.stories:   # for copies that overtook their original (their features are computed here);
            # loaded once per process: with the entities stage here too, this waits for its load
            await in_thread(story_features.load, sorted(settings.ner_model_map()))
            readiness.done("models", "stories")
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
                changed.add(ref["id"])
