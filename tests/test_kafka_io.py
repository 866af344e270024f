"""State recovery must not trust ListOffsets(latest), which the embedded broker answers wrongly."""

import os
import signal
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.kafka.engines.tansu import EmbeddedBroker

from pipeline.kafka.io import read_partition
from pipeline.kafka.topics import create_topics

from conftest import make_stack


def test_read_partition_reaches_the_true_end_when_list_offsets_is_short(broker, tmp_path):
    stack = make_stack(broker, tmp_path)
    topic = stack.settings.topic("dedup-index")
    producer = KafkaProducer(bootstrap_servers=broker.address, acks="all", linger_ms=50)
    for i in range(40):
        producer.send(topic, key=b"fr", value=b"first-%d" % i, partition=1)
    producer.flush()
    for i in range(9):                      # one last batch of several records
        producer.send(topic, key=b"fr", value=b"last-%d" % i, partition=1)
    producer.flush()
    producer.close()
    messages = list(read_partition(broker.address, stack.settings, topic, 1))
    assert [v for _o, _k, v in messages][-1] == b"last-8" and len(messages) == 49
    assert [o for o, _k, _v in messages] == list(range(49))
    consumer = KafkaConsumer(bootstrap_servers=broker.address)
    claimed_end = consumer.end_offsets([TopicPartition(topic, 1)])[TopicPartition(topic, 1)]
    consumer.close()
    # Documented Tansu fault: ListOffsets(latest) = last batch's base offset + 1. A reader that
    # trusted it would stop here and lose the last batch; read_partition does not.
    assert claimed_end <= 49


def test_read_partition_of_an_empty_partition_returns_nothing(broker, tmp_path):
    stack = make_stack(broker, tmp_path)
    create_topics(stack.settings, broker.address)
    assert list(read_partition(broker.address, stack.settings, stack.settings.topic("enriched"), 0)) == []


def _stamped(broker, topic: str, stamps_ms: list[int], pad: int = 0) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.address, acks="all", linger_ms=20)
    for n, stamp in enumerate(stamps_ms):
        producer.send(topic, value=b"%d" % n + b" " * pad, partition=0, timestamp_ms=stamp)
        if n % 100 == 99:
            producer.flush()   # several batches, as a long-lived log has
    producer.flush()
    producer.close()


def test_a_read_since_a_time_reads_only_the_records_stamped_after_it(broker, tmp_path):
    stack = make_stack(broker, tmp_path)
    create_topics(stack.settings, broker.address)
    topic = stack.settings.topic("dedup-index")
    now = int(time.time() * 1000)
    # 30 days of history, one record an hour... then the last hour, one a second
    _stamped(broker, topic, [now - (30 * 24 - h) * 3600_000 for h in range(30 * 24)] +
             [now - 3600_000 + s * 1000 for s in range(300)])
    read = list(read_partition(broker.address, stack.settings, topic, 0, since=now / 1000 - 7 * 86400))
    assert [int(v) for _o, _k, v in read] == list(range(23 * 24, 30 * 24 + 300))   # the last 7 days only
    assert list(read_partition(broker.address, stack.settings, topic, 0, since=now / 1000 + 60)) == []
    assert len(list(read_partition(broker.address, stack.settings, topic, 0, since=0))) == 30 * 24 + 300


def test_a_read_from_a_broker_that_stops_answering_fails_loudly_in_time(tmp_path):
    """kafka-python's poll can hang past its timeout (dpkp/kafka-python#3121): the read must not."""
    with EmbeddedBroker() as own:
        stack = make_stack(own, tmp_path)
        topic = stack.settings.topic("dedup-index")
        _stamped(own, topic, [int(time.time() * 1000)] * 2000, pad=10_000)   # 20 MB: more than is read ahead
        reader = read_partition(own.address, stack.settings, topic, 0, timeout=4)
        next(reader)
        os.kill(own.process.pid, signal.SIGSTOP)   # the broker hangs mid-read
        started = time.monotonic()
        try:
            with pytest.raises(TimeoutError, match="within 4s"):
                for _ in reader:
                    pass
        finally:
            os.kill(own.process.pid, signal.SIGCONT)
        assert time.monotonic() - started < 6


def test_a_state_read_back_is_read_again_once_a_stopped_broker_answers(tmp_path):
    """What a worker's partition state does (workers/common.py: PartitionState): a read that times out while the
    broker does not answer is started again, within NEWSFEED_BROKER_WAIT, instead of stopping the worker."""
    import threading

    from pipeline.kafka.io import with_broker_retry

    with EmbeddedBroker() as own:
        stack = make_stack(own, tmp_path)
        topic = stack.settings.topic("dedup-index")
        producer = KafkaProducer(bootstrap_servers=own.address, acks="all")
        for i in range(50):
            producer.send(topic, key=b"k", value=b"v-%d" % i, partition=0)
        producer.flush()
        producer.close()
        retries, result = [], {}
        os.kill(own.process.pid, signal.SIGSTOP)   # away: connections are accepted, nothing answers
        reader = threading.Thread(target=lambda: result.update(values=with_broker_retry(
            "state read back", lambda: [v for _o, _k, v in read_partition(own.address, stack.settings, topic, 0,
                                                                         timeout=2)],
            wait=40, log=retries.append)))
        reader.start()
        time.sleep(5)
        os.kill(own.process.pid, signal.SIGCONT)
        reader.join(60)
    assert not reader.is_alive()
    assert result["values"] == [b"v-%d" % i for i in range(50)]
    assert retries and all("retrying" in r for r in retries), retries
