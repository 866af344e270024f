"""Did every article end once in exactly one output? Read after the workers stopped, so every copy anyone
wrote is there: each partition of each output topic to its high watermark, and the JSONL files (rotated
ones included). Shared by the cluster fault tests and the soak (pipeline/tools/soak.py)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import orjson

from pipeline.config import Settings
from pipeline.kafka.io import read_partition
from pipeline.kafka.outcomes import OUTPUT_TOPICS, Outcomes, outcome_key
from pipeline.kafka.topics import partitions_of
from pipeline.writers.jsonl import read_output


@dataclass
class Exactness:
    outcomes: Outcomes
    sent: int
    lost: list[str] = field(default_factory=list)          # sent, with no outcome on any output topic
    in_two_outputs: int = 0                                 # outcomes beyond one per sent article
    twice_topic: dict[str, int] = field(default_factory=dict)   # second copies per output topic
    twice_files: dict[str, int] = field(default_factory=dict)   # second lines per JSONL file
    files_differ: dict[str, int] = field(default_factory=dict)  # keys on the topic xor in the file

    @property
    def counts(self) -> dict[str, int]:
        return {kind: len(records) for kind, records in self.outcomes.records.items()}

    @property
    def ok(self) -> bool:
        return not (self.lost or self.in_two_outputs or any(self.twice_topic.values())
                    or any(self.twice_files.values()) or any(self.files_differ.values()))

    def problems(self) -> str:
        return (f"lost {len(self.lost)} {self.lost[:10]}, in two outputs {self.in_two_outputs}, twice on a topic "
                f"{self.twice_topic}, twice in a file {self.twice_files}, topic and file differ {self.files_differ}")


def read_outputs(address: str, settings: Settings, timeout: float = 120) -> Outcomes:
    """Every record of the output topics, each partition read to its high watermark."""
    outcomes = Outcomes()
    for kind in OUTPUT_TOPICS:
        for partition in range(partitions_of(settings, kind)):
            for _offset, _key, value in read_partition(address, settings, settings.topic(kind), partition,
                                                       timeout=timeout):
                outcomes.add(kind, orjson.loads(value))
    return outcomes


def file_keys(output: Path, kind: str) -> Counter:
    return Counter(outcome_key(kind, record) for record in read_output(output / f"{kind}.jsonl"))


def check(address: str, settings: Settings, output: Path, keys: list[str]) -> Exactness:
    outcomes = read_outputs(address, settings)
    result = Exactness(outcomes, len(keys), lost=sorted(set(keys) - outcomes.seen()),
                       in_two_outputs=sum(len(r) for r in outcomes.records.values()) - len(set(keys)),
                       twice_topic=dict(outcomes.copies))
    for kind in OUTPUT_TOPICS:
        lines = file_keys(output, kind)
        result.twice_files[kind] = sum(lines.values()) - len(lines)
        result.files_differ[kind] = len(set(lines) ^ set(outcomes.records[kind]))
    return result


def wait_for_sinks(output: Path, total: int, timeout: float = 300,
                   alive: Callable[[], bool] = lambda: True) -> float:
    """Until the JSONL sinks hold an outcome for each of `total` articles (the topics are read once the workers
    stop: a kafka-python consumer polling through a leader change hung in its own wait, past its timeout).
    Returns when the last one came; TimeoutError or RuntimeError (`alive()` false) otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        written = sum(sum(file_keys(output, kind).values()) for kind in OUTPUT_TOPICS)
        if written >= total:
            return time.time()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{written} of {total} outcomes in the JSONL sinks after {timeout:.0f}s")
        if not alive():
            raise RuntimeError("a worker died")
        time.sleep(1)
