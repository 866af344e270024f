"""Consumers of the enriched topic in other languages, on a real Apache Kafka: the Java consumer of
clients/java (kafka-clients 4.1.1, every record validated against schemas/enriched-article.v1.json by
networknt's json-schema-validator), built by Maven, and kcat. A record that does not validate fails the
test with the validator's instance and schema paths."""

from __future__ import annotations

import subprocess
import uuid

import orjson
import pytest

from pipeline.contracts import schemas
from pipeline.kafka.replay import items

from conftest import ROOT, SEEDS, make_stack, wait_for_workers
from tools_required import require_tools

pytestmark = pytest.mark.slow
JAVA = ROOT / "clients" / "java"


@pytest.fixture(scope="module")
def kafka():
    require_tools("java", "mvn")
    from pipeline.kafka.engines.apache_kafka import KafkaCluster

    cluster = KafkaCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def enriched(kafka, tmp_path_factory):
    """The seeds through a worker on Kafka; the stack, once its 5 articles are on the enriched topic."""
    stack = make_stack(kafka, tmp_path_factory.mktemp("enriched"))
    stack.start_worker()
    try:
        wait_for_workers(stack, settle=0)
        keys = stack.replay_paths([SEEDS])
        assert len(stack.outcomes(keys).records["enriched"]) == 5
        yield stack
    finally:
        stack.stop()


def java_classpath() -> str:
    """Compile clients/java with Maven (offline once its dependencies are in ~/.m2) and return the classpath."""
    goals = ["compile", "dependency:build-classpath", "-Dmdep.outputFile=target/classpath.txt"]
    built = subprocess.run(["mvn", "-q", "-B", "-o", *goals], cwd=JAVA, capture_output=True, text=True)
    if built.returncode != 0:   # first run: fetch from Maven Central
        built = subprocess.run(["mvn", "-q", "-B", *goals], cwd=JAVA, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    return f"{JAVA / 'target' / 'classes'}:{(JAVA / 'target' / 'classpath.txt').read_text().strip()}"


def java_consumer(address: str, topic: str, count: int) -> subprocess.CompletedProcess:
    return subprocess.run(["java", "-cp", java_classpath(), "newsfeed.EnrichedConsumer", address, topic,
                           str(ROOT / "schemas"), str(count), f"java-{uuid.uuid4().hex[:8]}"],
                          capture_output=True, text=True, timeout=180)


def test_java_consumer_validates_every_enriched_record(enriched):
    done = java_consumer(enriched.address, enriched.settings.topic("enriched"), 5)
    assert done.returncode == 0, f"a record failed the schema in Java:\n{done.stdout}{done.stderr}"
    valid = [line.split() for line in done.stdout.splitlines()]
    assert sorted(words[1] for words in valid) == sorted(item.key for item in items([SEEDS]))
    assert {words[2] for words in valid} == {"fr"}
    # v2: every record carries its story, the same id the Python side reads
    written = [orjson.loads(line) for line in (enriched.output / "enriched.jsonl").read_text().splitlines()]
    assert {words[1]: words[3] for words in valid} == {r["id"]: r["story"]["id"] for r in written}
    # and its focus countries (the seeds are about Ukraine, Russia, the US…), as the pipeline wrote them
    focus = {r["id"]: ",".join(c["code"] for c in r["countries"] if c["focus"]) or "-" for r in written}
    assert {words[1]: words[4] for words in valid} == focus
    assert set(",".join(focus.values()).split(",")) - {"-"}


def test_java_consumer_rejects_a_record_off_the_schema_naming_the_path(kafka, tmp_path):
    from kafka import KafkaProducer

    stack = make_stack(kafka, tmp_path)
    record = {"schema_version": 1, "id": "bad", "language": {"code": 12}}   # code must be a string
    producer = KafkaProducer(bootstrap_servers=kafka.address)
    producer.send(stack.settings.topic("enriched"), key=b"bad", value=orjson.dumps(record)).get(30)
    producer.close()
    done = java_consumer(kafka.address, stack.settings.topic("enriched"), 1)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("INVALID bad at ") and "(schema path https://newsfeed.example/schemas/" in done.stdout


def test_kcat_reads_the_enriched_topic(enriched):
    require_tools("kcat")
    done = subprocess.run(["kcat", "-b", enriched.address, "-t", enriched.settings.topic("enriched"), "-C",
                           "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t", 1) for line in done.stdout.splitlines() if line]
    assert sorted(key for key, _ in rows) == sorted(item.key for item in items([SEEDS]))
    for key, value in rows:
        record = orjson.loads(value)
        problems = schemas.errors("enriched", record)
        assert not problems, f"{key}: {problems}"
        assert record["id"] == key
