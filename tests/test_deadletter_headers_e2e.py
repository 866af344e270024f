"""Dead letters carry newsfeed.error.* Kafka headers (after Kafka Connect's __connect.errors.*), keep the
original headers, and are counted on /metrics by stage and kind: one bad input per error kind, through the
real broker and a real worker."""

from __future__ import annotations

import time

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.contracts.deadletter import HEADER_PREFIX
from pipeline.kafka.broker import free_port

from http_helpers import scrape, value, wait_for
from test_reliability_e2e import MAX_BYTES, bad_inputs

pytestmark = pytest.mark.slow


def read_topic(address: str, topic: str, partitions: int, count: int, timeout: float = 240) -> list:
    """The first `count` messages of a topic, headers included."""
    consumer = KafkaConsumer(bootstrap_servers=address, group_id=None, enable_auto_commit=False,
                             fetch_max_wait_ms=200)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    found, deadline = [], time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        for messages in consumer.poll(timeout_ms=500).values():
            found.extend(messages)
    consumer.close()
    return found


def test_each_error_kind_has_its_headers_and_its_count(stack_factory):
    stack = stack_factory(NEWSFEED_MAX_MESSAGE_BYTES=MAX_BYTES)
    port = free_port()
    worker = stack.start_worker(NEWSFEED_HTTP_PORT=port)
    one_per_kind: dict[str, tuple[str, bytes | None]] = {}
    for key, payload, kind in bad_inputs():
        one_per_kind.setdefault(kind, (key, payload))
    expected = {key: ("language", kind, stack.settings.topic("raw")) for kind, (key, _p) in one_per_kind.items()}
    producer = KafkaProducer(bootstrap_servers=stack.address, acks="all", max_request_size=4 * MAX_BYTES)
    for key, payload in one_per_kind.values():
        producer.send(stack.settings.topic("raw"), key=key.encode(), value=payload,
                      headers=[("trace-id", f"trace-{key}".encode())])
    # a stage_error: a record the dedup stage cannot decode, sent straight to its input topic
    producer.send(stack.settings.topic("languaged"), key=b"bad-stage", value=b"{broken",
                  headers=[("trace-id", b"trace-bad-stage")])
    expected["bad-stage"] = ("dedup", "stage_error", stack.settings.topic("languaged"))
    producer.flush()
    producer.close()
    assert len(expected) == 7   # not_utf8 not_json not_object invalid_record empty_text too_large stage_error

    letters = read_topic(stack.address, stack.settings.topic("deadletter"), stack.settings.partitions, len(expected))
    assert sorted(m.key.decode() for m in letters) == sorted(expected)
    for message in letters:
        key = message.key.decode()
        stage, kind, topic = expected[key]
        headers = dict(message.headers)
        body = orjson.loads(message.value)   # the JSON body is the dead letter, as before
        assert headers["trace-id"] == f"trace-{key}".encode(), "the original headers are kept"
        error = {name[len(HEADER_PREFIX):]: v.decode() for name, v in headers.items() if name.startswith(HEADER_PREFIX)}
        assert error["stage"] == body["stage"] == stage
        assert error["kind"] == body["error"]["kind"] == kind
        assert error["topic"] == body["source"]["topic"] == topic
        assert int(error["partition"]) == body["source"]["partition"]
        assert int(error["offset"]) == body["source"]["offset"]
        assert error["exception.message"] and error["exception.message"] in body["error"]["message"]
        if kind == "stage_error":
            assert error["exception.class"] == "pipeline.contracts.codec.DecodeError"
        else:
            assert error["exception.class"] == "pipeline.contracts.deadletter.StageError"

    wait_for(f"http://127.0.0.1:{port}/ready", worker)
    samples = scrape(f"http://127.0.0.1:{port}/metrics")
    for stage, kind, _topic in expected.values():
        assert value(samples, "newsfeed_dead_letters_total", stage=stage, kind=kind) == 1, (stage, kind)
    assert value(samples, "newsfeed_records_out_total", stage="language", outcome="dead_letter") == 6
    assert value(samples, "newsfeed_records_out_total", stage="dedup", outcome="dead_letter") == 1
