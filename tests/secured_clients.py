"""Clients of other stacks on the secured cluster (tests/test_secured_kafka_e2e.py): clients/java with a client
properties file, and librdkafka through confluent-kafka."""

from __future__ import annotations

import subprocess
import time
import uuid

import orjson
import pytest

from conftest import ROOT
from tools_required import require_tools


def java_reader(ns, user: str, with_properties: bool) -> subprocess.CompletedProcess:
    """clients/java's consumer as `user`, with a client properties file (SASL_SSL, SCRAM, the PEM CA) or none."""
    require_tools("java", "mvn")
    from test_other_languages_e2e import java_classpath

    args = []
    if with_properties:
        config = ns.tmp / f"{user}-client.properties"
        config.write_text("security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
                          "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                          f'username="{user}" password="{ns.passwords[user]}";\n'
                          f"ssl.truststore.type=PEM\nssl.truststore.location={ns.certs.ca}\n")
        config.chmod(0o600)
        args = [str(config)]
    return subprocess.run(["java", "-cp", java_classpath(), "newsfeed.EnrichedConsumer", ns.cluster.address,
                           ns.settings.topic("enriched"), str(ROOT / "schemas"), "5", f"java-{uuid.uuid4().hex[:6]}",
                           *args], capture_output=True, text=True, timeout=120)


def librdkafka_read(ns, user: str, group: str, count: int) -> list[dict]:
    """The enriched topic read by librdkafka (confluent-kafka) as `user` over SASL_SSL + SCRAM-SHA-512."""
    confluent_kafka = pytest.importorskip("confluent_kafka")
    version = tuple(int(x) for x in confluent_kafka.libversion()[0].split(".")[:3])
    assert version >= (2, 6, 1), f"librdkafka {version}: SCRAM against Kafka 4.1 needs 2.6.1 (librdkafka#4895)"
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": ns.cluster.address, "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": user, "sasl.password": ns.passwords[user], "ssl.ca.location": str(ns.certs.ca),
        "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False})
    records, deadline = [], time.monotonic() + 60
    try:
        consumer.subscribe([ns.settings.topic("enriched")])
        while len(records) < count and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None:
                assert message.error() is None, message.error()
                records.append(orjson.loads(message.value()))
    finally:
        consumer.close()
    return records
