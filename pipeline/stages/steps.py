"""The stages as pure functions on records: ingest (decode, validate, clean), language, dedup, entities.
Workers call these; nothing here knows about Kafka or Faust."""

from __future__ import annotations

import time
from typing import Any, Sequence

from pipeline.contracts import codec, schemas
from pipeline.stages.dedup.index import DedupIndex, Verdict
from pipeline.contracts.deadletter import StageError
from pipeline.stages.entities import fallback as ner_fallback
from pipeline.stages.entities import models as ner_models
from pipeline.stages.entities.tagging import EntityTagger
from pipeline.stages.language import LanguageDetector
from pipeline.stages.places.resolution import add_places
from pipeline.stages.places.source_home import SourceHomes, declared_home, source_key
from pipeline.contracts.records import check_dates, parse_time, record_time
from pipeline.stages.text import clean


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def ingest(payload: bytes, max_bytes: int) -> dict[str, Any]:
    """Bytes from the raw topic -> a valid raw record with cleaned text, or StageError."""
    if payload is not None and len(payload) > max_bytes:
        raise StageError("too_large", f"message is {len(payload)} bytes, over the {max_bytes}-byte limit "
                                      "(NEWSFEED_MAX_MESSAGE_BYTES)")
    try:
        record = codec.decode(payload)
    except codec.DecodeError as exc:
        raise StageError(exc.kind, str(exc)) from None
    if isinstance(record, dict):
        check_dates(record)  # before validation: an impossible date is corrected and noted, not fatal
    problems = schemas.errors("raw", record)
    if problems:
        raise StageError("invalid_record", "; ".join(problems[:5]))
    cleaned = clean(record["text"])
    if not cleaned.text:
        raise StageError("empty_text", "text is empty after removing page noise"
                         if record["text"].strip() else "text is empty")
    record["text"] = cleaned.text
    record["cleaning"] = {"removed_lines": cleaned.removed_lines, "removed_chars": cleaned.removed_chars}
    if not record.get("published_at") and parse_time(cleaned.published_at):
        record["published_at"] = cleaned.published_at
    record.setdefault("timings", {})
    return record


def detect_language(record: dict[str, Any], detector: LanguageDetector) -> dict[str, Any]:
    started = time.perf_counter()
    # the title is part of the evidence: a short body with a clear headline is still decidable
    text = record["text"] if not record.get("title") else f"{record['title']}\n{record['text']}"
    record["language"] = detector.detect(text)
    record["timings"]["language_ms"] = _ms(started)
    return record


def deduplicate(record: dict[str, Any], index: DedupIndex) -> Verdict:
    """Judge the record and set its `dedup` field; the caller logs and adds `verdict.entry` if any."""
    started = time.perf_counter()
    verdict = index.check(record["id"], record["text"], record_time(record))
    record["dedup"] = verdict.as_field()
    record["timings"]["dedup_ms"] = _ms(started)
    return verdict


def tag_entities(records: Sequence[dict[str, Any]], tagger: EntityTagger,
                 homes: SourceHomes | None = None) -> list[dict[str, Any]]:
    """Tag a batch in one `nlp.pipe` call per language (per-record time is the batch's share), then resolve
    its places (pipeline/stages/places/resolution.py), in every language, with the source's home as a prior (learned
    from the records as they pass: pipeline/stages/places/source_home.py)."""
    started = time.perf_counter()
    modelled = {lang for lang, package in tagger.models.items() if ner_models.is_installed(package)}
    chosen = [ner_fallback.choose(r["language"], r["text"], modelled, r.get("lang_hint")) for r in records]
    results = tagger.tag([(lang, r["text"]) for (lang, _why), r in zip(chosen, records)])
    share = _ms(started) / max(1, len(records))
    for record, result, (lang, why) in zip(records, results, chosen):
        if why:  # tagged by another language's model: say which and why (pipeline/stages/entities/fallback.py)
            result["ner"] = {**result["ner"], "language": lang, "fallback": why}
        located, cpu = time.perf_counter(), time.thread_time()  # places in the language it was tagged in
        home = declared_home(record) or (homes.home(source_key(record)) if homes is not None else None)
        record.update(add_places(lang, record["text"], result, home=home))
        if homes is not None:
            homes.learn_record(record)
        record["timings"]["entities_ms"] = round(share, 3)
        record["timings"]["places_ms"] = _ms(located)
        # its CPU too: in a busy worker the wall time also counts waits for the GIL
        record["timings"]["places_cpu_ms"] = round(1000 * (time.thread_time() - cpu), 3)
    return list(records)
