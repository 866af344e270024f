"""Do Kafka transactions isolate on the embedded broker? (They decide at-least-once vs exactly-once.)

    .venv/bin/python bench/tansu_transactions.py

Measured on Tansu 0.6.0 (2026-11-21): init/commit/abort are all accepted, but a read_committed consumer
still sees the aborted record, so newsfeed does not build on transactions (README, "Reliability").
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402

from pipeline.kafka.engines.tansu import EmbeddedBroker  # noqa: E402


def main() -> None:
    with EmbeddedBroker() as broker:
        KafkaAdminClient(bootstrap_servers=broker.address).create_topics([NewTopic("tx-probe", 1, 1)])
        producer = KafkaProducer(bootstrap_servers=broker.address, transactional_id="tx-probe",
                                 enable_idempotence=True, acks="all")
        producer.init_transactions()
        producer.begin_transaction()
        producer.send("tx-probe", b"committed")
        producer.commit_transaction()
        producer.begin_transaction()
        producer.send("tx-probe", b"aborted")
        producer.flush()
        producer.abort_transaction()
        producer.close()
        consumer = KafkaConsumer(bootstrap_servers=broker.address, isolation_level="read_committed",
                                 consumer_timeout_ms=3000)
        tp = TopicPartition("tx-probe", 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        seen = [m.value for m in consumer]
        consumer.close()
    print(f"read_committed consumer sees: {seen}")
    print("transactions isolate" if seen == [b"committed"] else "transactions do NOT isolate on this broker")


if __name__ == "__main__":
    main()
