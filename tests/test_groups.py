"""Layout switches start where the other layout left off (pipeline/kafka/groups.py), through the real embedded
broker."""

from __future__ import annotations

import os
import signal
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from pipeline.config import Settings
from pipeline.kafka.broker import free_port
from pipeline.kafka.groups import is_layout_group, start_floors
from pipeline.kafka.replay import Item
from pipeline.kafka.topics import create_topics
from pipeline.tools.processes import wait_workers_ready
from pipeline.tools.synth import synthesize

from conftest import NO_NER, SEEDS
from http_helpers import scrape, value


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
    unique = [TopicPartition(f"{prefix}unique", p) for p in (0, 1)]
    raw = TopicPartition(f"{prefix}raw", 0)
    # the all-stage layout got to 7 and 10 on `unique`; a tail reader's group is further but not a layout
    commit(broker.address, app, {unique[0]: 7, unique[1]: 10, raw: 3})
    commit(broker.address, f"{app}-tail-0000", {unique[0]: 10})

    assert start_floors(ner, broker.address) == {unique[0]: 7, unique[1]: 10}  # only NER's input, from a layout
    assert committed(broker.address, f"{app}-entities") == {}   # nothing written to the broker for it

    # the split layout goes on; switching back starts the all-stage group further, never back
    commit(broker.address, f"{app}-entities", {unique[0]: 9, unique[1]: 10})
    assert start_floors(ner, broker.address) == {}   # its own commits are as far as anyone's
    assert start_floors(whole, broker.address) == {unique[0]: 9}


def test_switching_layouts_back_and_forth_runs_ner_once_per_article(stack_factory):
    """The README's layout switch with `newsfeed worker`s on the embedded broker: all stages in one worker,
    then language+dedup+stories+sink and entities apart, then back; each layout's workers stop with SIGTERM right
    before the next starts (the group leader without LeaveGroup, pipeline/runtime/group_leave.py). A new
    layout runs NER on no article the previous one enriched, and on every new one once."""
    stack = stack_factory(NEWSFEED_PARTITIONS=4, NEWSFEED_NER_MODELS=NO_NER, NEWSFEED_NER_PROCESSES=0)
    syn = synthesize(60, SEEDS, mix="unique=1.0", seed=7).articles
    sent: set[str] = set()
    for step, layouts in enumerate(([{}], [{"NEWSFEED_STAGES": "language,dedup,stories,sink"},
                                           {"NEWSFEED_STAGES": "entities"}], [{}])):
        first = len(stack.workers)
        ports = [free_port() for _ in layouts]
        procs = [stack.start_worker(NEWSFEED_HTTP_PORT=port, **env) for port, env in zip(ports, layouts)]
        logs = [stack.output / f"worker-{i}.log" for i in range(first, len(stack.workers))]
        wait_workers_ready(logs, procs, timeout=120)
        taggers = [port for port, env in zip(ports, layouts) if "dedup" not in env.get("NEWSFEED_STAGES", "entities")]
        if step:
            assert all("starts where the other layout left off" in log.read_text() for log in logs)
            assert sum(tagged(port) for port in taggers) == 0   # nothing enriched before is tagged again
        batch = syn[20 * step:20 * (step + 1)]
        sent |= set(stack.replay_items([Item(a["id"], article=dict(a)) for a in batch]))
        outcomes = stack.outcomes(sent, timeout=120)
        assert set(outcomes.records["enriched"]) == sent and outcomes.copies["enriched"] == 0
        assert sum(tagged(port) for port in taggers) == len(batch)   # the new articles, once
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        assert [proc.wait(60) for proc in procs] == [0] * len(procs)


def tagged(port: int) -> float:
    """The worker's count of records NER tagged (its /metrics)."""
    return value(scrape(f"http://127.0.0.1:{port}/metrics"), "newsfeed_records_out_total",
                 stage="entities", outcome="tagged")


def test_a_language_group_starts_where_groups_serving_its_languages_got():
    """NEWSFEED_NER_LANGUAGES layouts: a group never starts past articles it must tag that another group
    skipped (they serve other languages); language groups that together cover all start the plain one."""
    from collections import namedtuple

    from kafka import TopicPartition

    from pipeline.kafka.groups import ner_floors

    at, tp, models = namedtuple("At", "offset"), TopicPartition("unique", 0), {"en", "fr", "ru", "ja"}
    rest, lang = "nf-entities-ner-not.ja.ru", "nf-entities-ner-ja.ru"
    # back to one group for all: where both language groups got (the less advanced)
    assert ner_floors("nf", {rest: {tp: at(50)}, lang: {tp: at(40)}}, models) == {tp: 40}
    # ru,ja after all-languages and all-but-ru,ja groups: only the all-languages group's offset counts
    assert ner_floors(lang, {"nf": {tp: at(10)}, rest: {tp: at(50)}}, models) == {tp: 10}
    # one language group alone covers nothing for the plain group
    assert ner_floors("nf", {lang: {tp: at(40)}}, models) == {}
