"""entities: unique -> NER (batched into one nlp.pipe call) + story features -> tagged (the story stage).

NER runs in a thread (NEWSFEED_NER_PROCESSES=0) or in child processes, story features (an embedding) in a
thread; either way the loop stays free, and with more workers both scale out: only story assignment, which
is cheap, is serialised (workers/stories.py).

NEWSFEED_NER_LANGUAGES splits languages across workers: each language set is its own consumer group reading
every unique article; a worker tags the articles whose NER language (pipeline/stages/entities/fallback.py, over
every installed model) it serves and passes over the others, which the group serving them tags. Models load
on a language's first article (NEWSFEED_NER_PRELOAD at start), so a language a worker never sees costs
nothing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust

from pipeline.contracts import codec
from pipeline.runtime import metrics
from pipeline.runtime.health import readiness
from pipeline.runtime.supervision import crash_stops_worker
from pipeline.kafka.state import load_source_homes
from pipeline.stages import steps
from pipeline.stages.places import forms as place_forms, gazetteer
from pipeline.stages.entities import fallback as ner_fallback
from pipeline.stages.entities import models as ner_models
from pipeline.stages.entities.tagging import EntityTagger, ProcessTagger
from pipeline.stages.places.source_home import SourceHomes
from pipeline.stages.stories import codec as story_codec
from pipeline.stages.stories import features as story_features
from workers.common import WORKER, app, dead, in_thread, log, out, settings, topic

unique_topic, tagged_topic = topic("unique"), topic("tagged", partitions=1)
models = settings.ner_model_map()
preload = settings.ner_preload_languages()
preload = tuple(lang for lang in (models if preload is None else preload) if settings.ner_serves(lang))
tagger = (ProcessTagger(models, settings.ner_batch_size, settings.ner_processes, settings.ner_cpus, preload)
          if settings.ner_processes > 0 and "entities" in settings.stages
          else EntityTagger(models=models, batch_size=settings.ner_batch_size, preload=preload))
modelled = {lang for lang, package in models.items() if ner_models.is_installed(package)}


def served(record: dict[str, Any]) -> bool:
    """Is the record's NER language (the one steps.tag_entities will pick) one this worker serves?"""
    lang, _why = ner_fallback.choose(record["language"], record["text"], modelled, record.get("lang_hint"))
    return settings.ner_serves(lang)
if isinstance(tagger, ProcessTagger):
    # before lingua's warm-up holds the GIL: the child loads spaCy meanwhile
    tagger.start_loading(parent_nice=settings.loop_nice)


def _open_places() -> None:
    """The places index, opened (built the first time on this machine: ~27 s) and its tables read."""
    place_forms.warm_up(gazetteer.shared(), preload)


homes = SourceHomes()   # every source's home, learned from the records as they pass (and rebuilt on start)


def _rebuild_homes() -> None:
    started = time.monotonic()
    try:
        read = load_source_homes(settings, homes)
    except Exception:  # noqa: BLE001 - a prior, not data: the worker starts without it and learns again
        log.exception("source homes not rebuilt from the enriched topic; learning them from new records")
        return
    log.info("source homes rebuilt from %s enriched records in %.1fs: %s sources", read,
             time.monotonic() - started, len(homes.countries))


async def _tag(batch: list[tuple[faust.EventT, dict[str, Any]]]) -> list[tuple[faust.EventT, dict[str, Any]]]:
    """NER on the batch; if the batch fails, one by one so only the failing record is dead-lettered."""
    try:
        return list(zip([e for e, _ in batch], await in_thread(steps.tag_entities, [r for _, r in batch], tagger, homes)))
    except Exception:
        tagged = []
        for event, record in batch:
            try:
                tagged += [(event, r) for r in await in_thread(steps.tag_entities, [record], tagger, homes)]
            except Exception as one:
                await dead(event, "entities", one, record.get("id"))
        return tagged


def _with_story_features(records: list[dict[str, Any]]) -> None:
    """One embedding call for the batch; should it fail, the story stage computes them again, one by one,
    and dead-letters the record that fails there."""
    try:
        for record, features in zip(records, story_features.features_batch(records)):
            record["story_features"] = story_codec.to_json(features)
    except Exception:  # noqa: BLE001
        log.exception("story features of a batch of %s", len(records))


if "entities" in settings.stages:
    # two actors per NER child: while the child tags one batch, the next is already queued for it, so it
    # never idles while this (niced, busy) loop hands back results and gathers more. Faust commits acked
    # offsets in order, so out-of-order completion is safe.
    @app.agent(unique_topic, name="entities", concurrency=max(1, 2 * settings.ner_processes))
    @crash_stops_worker
    async def entities_agent(stream):
        started = time.monotonic()
        # models load once, before the first message (overlaps the group join); the places index is opened
        # once too, its tables read
        await asyncio.gather(in_thread(tagger.load), in_thread(_open_places), in_thread(_rebuild_homes),
                             *([in_thread(story_features.load, sorted(settings.ner_model_map()))]
                               if settings.stories else []))
        log.info("newsfeed: NER and story models loaded in %.1fs", time.monotonic() - started)
        readiness.done("models", "entities")
        meter = metrics.stage("entities")
        async for events in stream.take_events(settings.ner_batch_size, within=settings.ner_batch_wait):
            got_batch, started = time.monotonic(), meter.start(len(events))
            batch = []
            for event in events:
                try:
                    record = codec.decode(event.value)
                    if served(record):  # else another language group's worker tags it
                        batch.append((event, record))
                except Exception as exc:
                    if settings.ner_serves("und"):  # one language group dead-letters what no one can read
                        await dead(event, "entities", exc)
            tagged = await _tag(batch) if batch else []
            meter.ner(len(batch), time.monotonic() - got_batch)
            meter.done("tagged", started, len(tagged))
            if settings.stories:
                await in_thread(_with_story_features, [record for _, record in tagged])
            for event, record in tagged:
                record.setdefault("trace", {})["entities"] = WORKER
                await out("tagged topic", tagged_topic.send, key=record["id"].encode(), value=codec.encode(record))


def shutdown() -> None:
    """Stop NER child processes (when NEWSFEED_NER_PROCESSES > 0)."""
    if isinstance(tagger, ProcessTagger):
        tagger.close()
