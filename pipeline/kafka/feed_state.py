"""The poller's state in Kafka: the compacted `<prefix>feed-state` topic, one record per feed keyed by the
feed's URL, read back to the high watermark on start, so a restarted poller neither refetches nor re-sends.

Sharing: a feed belongs to state partition murmur2(feed URL) % partitions (Kafka's own key partitioner);
a poller with NEWSFEED_FEEDS_SHARD=i/n polls the feeds of the partitions p with p % n == i and reads only
those partitions' state. Pollers with different shards never poll the same feed.
"""

from __future__ import annotations

import orjson
from kafka.partitioner.default import murmur2

from pipeline.config import Settings
from pipeline.feeds.state import FeedState
from pipeline.kafka.io import read_partition

TOPIC = "feed-state"


def partition_of(feed: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives the key (so any client agrees)."""
    return (murmur2(feed.encode("utf-8")) & 0x7FFFFFFF) % partitions


def owned_partitions(partitions: int, shard: tuple[int, int]) -> list[int]:
    index, count = shard
    return [p for p in range(partitions) if p % count == index]


def state_partitions(bootstrap: str, settings: Settings) -> int:
    """How many partitions the (already created) state topic has; never a metadata request for a missing topic,
    which Tansu would answer by creating it with its own defaults."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **settings.kafka_python_security())
    try:
        (described,) = admin.describe_topics([settings.topic(TOPIC)])
        return len(described["partitions"])
    finally:
        admin.close()


def load_states(bootstrap: str, settings: Settings, partitions: list[int], timeout: float = 60) -> dict[str, FeedState]:
    """The latest state of every feed in `partitions` (a null value deletes a feed's state)."""
    states: dict[str, FeedState] = {}
    for partition in partitions:
        for _offset, key, value in read_partition(bootstrap, settings, settings.topic(TOPIC), partition, timeout):
            if key is None:
                continue
            feed = key.decode("utf-8")
            if value is None:
                states.pop(feed, None)
                continue
            try:
                states[feed] = FeedState.from_dict(orjson.loads(value))
            except (orjson.JSONDecodeError, TypeError):  # unreadable state costs a refetch, never the poller
                continue
    return states


def encode_state(state: FeedState) -> bytes:
    return orjson.dumps(state.to_dict())
