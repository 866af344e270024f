"""Layout switches carry committed offsets over (pipeline/kafka/groups.py), through the real embedded broker."""

from __future__ import annotations

import os
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from pipeline.config import Settings
from pipeline.kafka.groups import carry_over, is_layout_group
from pipeline.kafka.topics import create_topics


def settings_for(prefix: str, app_id: str, stages: str) -> Settings:
    env = {"NEWSFEED_TOPIC_PREFIX": prefix, "NEWSFEED_APP_ID": app_id, "NEWSFEED_STAGES": stages}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return Settings()
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def commit(address: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = KafkaConsumer(bootstrap_servers=address, group_id=group, enable_auto_commit=False)
    consumer.assign(list(offsets))
    consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
    consumer.close()


def committed(address: str, group: str) -> dict[TopicPartition, int]:
    admin = KafkaAdminClient(bootstrap_servers=address)
    try:
        return {tp: m.offset for tp, m in admin.list_group_offsets({group: None}).get(group, {}).items()}
    finally:
        admin.close()


def test_layout_groups_are_the_app_and_its_stage_sets_only():
    assert is_layout_group("newsfeed", "newsfeed")
    assert is_layout_group("newsfeed", "newsfeed-entities")
    assert is_layout_group("newsfeed", "newsfeed-language-dedup-sink")
    assert not is_layout_group("newsfeed", "newsfeed-tail-1a2b3c4d")
    assert not is_layout_group("newsfeed", "other-entities")


def test_a_new_layout_starts_where_the_other_left_off_and_back(broker):
    prefix, app = f"groups-{uuid.uuid4().hex[:6]}.", f"app-{uuid.uuid4().hex[:6]}"
    whole, ner = settings_for(prefix, app, "all"), settings_for(prefix, app, "entities")
    create_topics(whole, broker.address)
    producer = KafkaProducer(bootstrap_servers=broker.address)
    for partition in (0, 1):
        for _ in range(10):
            producer.send(f"{prefix}unique", b"x", partition=partition)
    producer.flush()
    producer.close()
    unique = [TopicPartition(f"{prefix}unique", p) for p in (0, 1)]
    raw = TopicPartition(f"{prefix}raw", 0)
    # the all-stage layout got to 7 and 10 on `unique`; a tail reader's group is further but not a layout
    commit(broker.address, app, {unique[0]: 7, unique[1]: 10, raw: 3})
    commit(broker.address, f"{app}-tail-0000", {unique[0]: 10})

    moved = carry_over(ner, broker.address)
    assert moved == {unique[0]: 7, unique[1]: 10}  # only the NER stage's input, from the layout group
    assert committed(broker.address, f"{app}-entities") == {unique[0]: 7, unique[1]: 10}
    assert carry_over(ner, broker.address) == {}  # nothing further to move

    # the split layout goes on; switching back moves the all-stage group forward, never back
    commit(broker.address, f"{app}-entities", {unique[0]: 9})
    assert carry_over(whole, broker.address) == {unique[0]: 9}
    assert committed(broker.address, app) == {unique[0]: 9, unique[1]: 10, raw: 3}
