"""A worker's Prometheus metrics (served on /metrics by `pipeline.runtime.http`).

Names follow Prometheus conventions: `newsfeed_` prefix, seconds, `_total` counters (prometheus_client
adds the suffix). The hot path only bumps pre-bound counters (a lock and an add, ~1 µs); consumer lag is
computed at scrape time from what the consumer already knows, with no broker round trip.
With NEWSFEED_HTTP_PORT=0 nothing is recorded: `stage()` hands out a meter that does nothing.
"""

from __future__ import annotations

import time
from typing import Iterator

import faust
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from . import outputs
from .health import readiness

disable_created_metrics()  # the `_created` series double the output and no dashboard here uses them
RECORDS_IN = Counter("newsfeed_records_in", "Records a stage took from its input topic", ["stage"])
RECORDS_OUT = Counter("newsfeed_records_out", "Records a stage finished, by outcome (languaged, unique, exact, "
                      "near, tagged, enriched, written, dead_letter...)", ["stage", "outcome"])
STAGE_SECONDS = Histogram("newsfeed_stage_seconds", "Processing time per record (a batch's time shared by "
                          "its records), outputs included", ["stage"],
                          buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
NER_BATCH_SIZE = Histogram("newsfeed_ner_batch_size", "Articles per nlp.pipe batch",
                           buckets=(1, 2, 4, 8, 12, 16, 24, 32, 64))
NER_SECONDS = Histogram("newsfeed_ner_seconds_per_article", "NER time of a batch divided by its articles",
                        buckets=(.005, .01, .02, .03, .05, .075, .1, .15, .25, .5, 1))
DEAD_LETTERS = Counter("newsfeed_dead_letters", "Dead letters sent, by stage and error kind", ["stage", "kind"])
REBALANCES = Counter("newsfeed_rebalances", "Consumer group rebalances this worker went through")
LAST_PROCESSED = Gauge("newsfeed_last_processed_timestamp_seconds", "When a stage last finished a record "
                       "(Unix time)", ["stage"])
OUTPUT_ERRORS = Counter("newsfeed_output_write_errors", "Failed attempts to write an output (retried; see "
                        "NEWSFEED_OUTPUT_WAIT)", ["output"])
READY = Gauge("newsfeed_ready", "1 when /ready answers 200")
READY.set_function(lambda: float(readiness.ready))

_enabled = False

# Every label value the counters below can take, known before the first event: exported at 0 from the start
# (`.labels(...)` once), so rate() and alerts work on a fresh worker instead of seeing no series at all.
# NEWSFEED_STAGES stage -> {meter stage (the `stage` label): its outcomes}; the stories stage also sinks.
OUTCOMES = {
    "language": {"language": ("languaged", "dead_letter")},
    "dedup": {"dedup": ("unique", "exact", "near", "dead_letter")},
    "entities": {"entities": ("tagged", "dead_letter")},
    "stories": {"stories": ("assigned", "duplicate", "dead_letter"),
                "sink": ("enriched", "redelivered", "dead_letter")},
    "sink": {"duplicates-sink": ("written",), "deadletter-sink": ("written",)},
}
# NEWSFEED_STAGES stage -> the outputs its agents write (workers/app.py's `_out` names)
OUTPUTS = {
    "language": ("languaged topic", "deadletter topic"),
    "dedup": ("unique topic", "tagged topic", "dedup-index topic", "deadletter topic"),
    "entities": ("tagged topic", "deadletter topic"),
    "stories": ("story-log topic", "stories topic", "duplicates topic", "enriched topic", "enriched.jsonl",
                "deadletter topic"),
    "sink": ("duplicates.jsonl", "deadletter.jsonl"),
}


def dead_letter_kinds() -> tuple[str, ...]:
    """The error kinds of the dead-letter contract (schemas/dead-letter.v1.json)."""
    from pipeline.contracts.schemas import validator

    return tuple(validator("deadletter").schema["properties"]["error"]["properties"]["kind"]["enum"])


def export_zeros(stages) -> None:
    """Create every labelled series this worker's stages can bump, at 0."""
    kinds = dead_letter_kinds()
    for stage_name in stages:
        for meter_stage, outcomes in OUTCOMES[stage_name].items():
            RECORDS_IN.labels(meter_stage)
            for outcome in outcomes:
                RECORDS_OUT.labels(meter_stage, outcome)
                if outcome == "dead_letter":
                    for kind in kinds:
                        DEAD_LETTERS.labels(meter_stage, kind)
        for output in OUTPUTS[stage_name]:
            OUTPUT_ERRORS.labels(output)


class StageMeter:
    """Counts and times one stage's records. `started = meter.start(n)` when n records come in,
    `meter.done(outcome, started, n)` when n of them leave with `outcome`."""

    def __init__(self, stage: str):
        self.stage = stage
        self._in = RECORDS_IN.labels(stage)
        self._seconds = STAGE_SECONDS.labels(stage)
        self._last = LAST_PROCESSED.labels(stage)
        self._out: dict[str, Counter] = {}

    def start(self, n: int = 1) -> float:
        self._in.inc(n)
        return time.perf_counter()

    def done(self, outcome: str, started: float, n: int = 1) -> None:
        if not n:
            return
        each = (time.perf_counter() - started) / n
        for _ in range(n):
            self._seconds.observe(each)
        out = self._out.get(outcome) or self._out.setdefault(outcome, RECORDS_OUT.labels(self.stage, outcome))
        out.inc(n)
        self._last.set(time.time())

    def ner(self, batch: int, seconds: float) -> None:
        if batch:
            NER_BATCH_SIZE.observe(batch)
            NER_SECONDS.observe(seconds / batch)


class OffMeter(StageMeter):
    """What agents get with metrics off: the same calls, nothing recorded."""

    def __init__(self, stage: str):
        self.stage = stage

    def start(self, n: int = 1) -> float:
        return 0.0

    def done(self, outcome: str, started: float, n: int = 1) -> None:
        pass

    def ner(self, batch: int, seconds: float) -> None:
        pass


def stage(name: str) -> StageMeter:
    return StageMeter(name) if _enabled else OffMeter(name)


def dead_letter(stage_name: str, kind: str) -> None:
    if _enabled:
        DEAD_LETTERS.labels(stage_name, kind).inc()
        RECORDS_OUT.labels(stage_name, "dead_letter").inc()


class ConsumerLag(Collector):
    """newsfeed_consumer_lag{stage,topic,partition} = high watermark - committed offset, for the partitions
    this worker owns, read at scrape time. The high watermark is the one the last Fetch response carried
    (aiokafka keeps it per partition), never ListOffsets(latest), which the embedded broker answers short;
    committed is Faust's last commit (0 before the first one: the group starts from the earliest offset)."""

    def __init__(self, app: faust.App):
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["stage", "topic", "partition"]
        lag = GaugeMetricFamily("newsfeed_consumer_lag", "Records not yet committed by this worker's group, "
                                "per owned partition", labels=labels)
        high = GaugeMetricFamily("newsfeed_consumer_high_watermark", "High watermark from the last Fetch",
                                 labels=labels)
        committed = GaugeMetricFamily("newsfeed_consumer_committed_offset", "Last committed offset",
                                      labels=labels)
        for stage_name, tp, highwater, offset in self._partitions():
            values = [stage_name, tp.topic, str(tp.partition)]
            high.add_metric(values, highwater)
            committed.add_metric(values, offset)
            lag.add_metric(values, max(0, highwater - offset))
        yield from (lag, high, committed)

    def _partitions(self):
        stages = {topic: agent.name for agent in self.app.agents.values() for topic in agent.channel.topics}
        consumer = self.app.consumer
        try:
            assigned = sorted(consumer.assignment())
            commits = dict(consumer._committed_offset)  # Faust's record of its commits (no public accessor)
        except Exception:  # not started, or between generations: no partition to report
            return
        for tp in assigned:
            if tp.topic not in stages:
                continue
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # revoked meanwhile
                continue
            if highwater is not None:
                yield stages[tp.topic], tp, highwater, commits.get(tp) or 0


class RebalanceSensor(faust.Sensor):
    def on_rebalance_start(self, app):
        REBALANCES.inc()
        return super().on_rebalance_start(app)


def install(app: faust.App, stages=()) -> None:
    """Record metrics for this worker: stage meters, lag at scrape time, rebalances, output errors; the
    labelled counters of `stages` (NEWSFEED_STAGES) exported at 0 from the start."""
    global _enabled
    _enabled = True
    export_zeros(stages)
    REGISTRY.register(ConsumerLag(app))
    app.sensors.add(RebalanceSensor())
    outputs.on_error.append(lambda output, _exc: OUTPUT_ERRORS.labels(output).inc())
