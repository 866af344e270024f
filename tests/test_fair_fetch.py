"""A worker's consumer serves every partition with fetched records in turn (pipeline/runtime/fair_fetch.py):
a big backlog on one stage's input must not hold back another stage's records."""

import asyncio

import aiokafka
import aiokafka.consumer.consumer
from aiokafka.structs import TopicPartition
from kafka import KafkaProducer

from pipeline.kafka.topics import create_topics
from pipeline.runtime.fair_fetch import RoundRobinFetcher, install_fair_fetch

from conftest import make_stack


async def _first_polls(address: str, partitions: list[TopicPartition]) -> tuple[list, list[set]]:
    """Buffer order of the partitions once both are fetched, and which partitions each of the first
    polls of 32 records (Faust's broker_max_poll_records) returned."""
    consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers=address, enable_auto_commit=False,
                                         max_partition_fetch_bytes=4 * 1024 * 1024, fetch_max_wait_ms=100)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        for _ in range(100):   # one fetch answers both partitions: wait until both are buffered
            if set(partitions) <= set(consumer._fetcher._records):
                break
            await asyncio.sleep(0.05)
        order = [tp for tp in consumer._fetcher._records if tp in partitions]
        polls = [set((await consumer.getmany(timeout_ms=1000, max_records=32))) for _ in range(3)]
        return order, polls
    finally:
        await consumer.stop()


def test_a_backlog_on_one_partition_does_not_hold_back_another(broker, tmp_path):
    stack = make_stack(broker, tmp_path)
    create_topics(stack.settings, broker.address)
    raw, unique = TopicPartition(stack.settings.topic("raw"), 0), TopicPartition(stack.settings.topic("unique"), 0)
    producer = KafkaProducer(bootstrap_servers=broker.address, acks="all", linger_ms=20)
    article = b"x" * 5000                       # a seed-length article
    for tp in (raw, unique):                    # a replayed backlog reaches both stages' inputs
        for i in range(400):
            producer.send(tp.topic, key=b"%d" % i, value=article, partition=tp.partition)
    producer.flush()
    producer.close()
    install_fair_fetch()
    assert aiokafka.consumer.consumer.Fetcher is RoundRobinFetcher
    order, polls = asyncio.run(_first_polls(broker.address, [raw, unique]))
    assert len(order) == 2, "both partitions should be buffered by one fetch"
    first, second = order
    # round-robin: the partition buffered second gets the second poll. aiokafka's own order handed out
    # all of the first partition's buffered fetch (~200 records, 6-7 polls of 32) before any of it.
    assert polls[0] == {first} and second in polls[1]
