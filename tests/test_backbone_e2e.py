"""The backbone end to end: seeds replayed through the embedded broker reach the sink exactly once."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections import Counter

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner
from kafka import KafkaConsumer

from pipeline.contracts import schemas
from pipeline.kafka.io import read_partition
from pipeline.writers.jsonl import read_jsonl

from conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow


def test_seeds_reach_enriched_jsonl_and_topic_exactly_once(running_stack):
    keys = running_stack.replay_paths([SEEDS])
    assert len(keys) == 5
    outcomes = running_stack.outcomes(keys)
    assert set(outcomes.records["enriched"]) == set(keys)

    lines = read_jsonl(running_stack.output / "enriched.jsonl")
    assert sorted(r["id"] for r in lines) == sorted(keys)  # each exactly once
    for record in lines:
        assert schemas.errors("enriched", record) == []
        assert record["language"]["code"] == "fr"
        assert record["dedup"]["status"] == "unique"
        assert record["ner"]["status"] == "ok" and record["entities"]

    # NER input is partitioned by the id's hash (as any Kafka producer would): every copy of an id meets one read-back
    settings = running_stack.settings
    def ids_by_partition(topic: str) -> dict[tuple[int, int], str]:
        return {(p, offset): orjson.loads(value)["id"] for p in range(settings.partitions)
                for offset, _key, value in read_partition(running_stack.address, settings, settings.topic(topic), p)}
    unique_partition = {record_id: p for (p, _offset), record_id in ids_by_partition("unique").items()}
    languaged = ids_by_partition("languaged")
    assert sorted(unique_partition) == sorted(languaged.values()) == sorted(keys)
    partitions = list(range(settings.partitions))
    assert all(unique_partition[record_id] == DefaultPartitioner()(record_id.encode(), partitions, partitions)
               for record_id in keys)
    # the enriched record lands in the unique partition's number: the read-back that keeps the sink exactly-once
    enriched_partition = {record_id: p for (p, _offset), record_id in ids_by_partition("enriched").items()}
    assert enriched_partition == unique_partition

    # an ordinary Kafka client in its own consumer group reads the enriched topic
    consumer = KafkaConsumer(running_stack.settings.topic("enriched"), bootstrap_servers=running_stack.address,
                             group_id=f"other-service-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest",
                             session_timeout_ms=6000, heartbeat_interval_ms=1000, consumer_timeout_ms=15000)
    seen = []
    for message in consumer:
        seen.append(orjson.loads(message.value))
        if len(seen) >= 5:
            break
    consumer.close()
    assert sorted(r["id"] for r in seen) == sorted(keys)
    for record in seen:
        assert schemas.errors("enriched", record) == []


def test_newsfeed_run_exits_0_and_writes_five_valid_records(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(SEEDS), "--output", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "NEWSFEED_BROKER": "", "COLUMNS": "250"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "enriched (unique)" in proc.stdout
    records = read_jsonl(out / "enriched.jsonl")
    assert len(records) == 5
    assert all(schemas.errors("enriched", r) == [] for r in records)
    # the first minute: the summary names the stories and the countries, and counts throughput from the worker
    sizes = Counter(r["story"]["id"] for r in records)
    countries = Counter(c["name"] for r in records for c in r["countries"] if c["focus"])
    rows = {cells[0]: cells[1] for line in proc.stdout.splitlines()
            if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 2}
    assert rows["stories"] == str(len(sizes))
    assert rows["largest story"].startswith(f"{sizes.most_common(1)[0][1]} articles: ")
    top = min(countries.items(), key=lambda item: (-item[1], item[0]))   # ties by name
    assert f"top countries: {top[0]} {top[1]}" in rows["places"]
    assert "throughput (worker ready → last outcome)" in rows
