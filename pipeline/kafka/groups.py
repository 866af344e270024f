"""Switching layouts (all stages in one worker <-> stages split over several) without re-processing.

Each stage set has its own consumer group (`config.group_id`), so a worker of a new layout would start its
inputs from the beginning and run NER again on every article. Before it joins, a worker moves its group's
committed offsets forward to the furthest offset any other layout's group committed on the same input
partitions. That is safe: a group commits an offset only after the outputs of everything before it are
flushed (Faust), so the furthest commit is work done; the sinks skip ids they already wrote, so the overlap
of two layouts running at once for a moment is written once.
"""

from __future__ import annotations

import logging

from kafka import KafkaAdminClient, TopicPartition
from kafka.structs import OffsetAndMetadata

from pipeline.config import Settings, group_id, stages_of_group
from pipeline.kafka.topics import AGENT_INPUTS, stage_of_agent

log = logging.getLogger("newsfeed.groups")
ACTIVE = ("Stable", "PreparingRebalance", "CompletingRebalance")  # (the embedded broker says "Unknown")


def is_layout_group(app_id: str, name: str) -> bool:
    """`app_id` or `app_id-<stage>-<stage>...`: a worker group of this app (not a `tail` or other reader)."""
    return stages_of_group(app_id, name) is not None


def carry_over(settings: Settings, address: str) -> dict[TopicPartition, int]:
    """Move this worker's group forward to where other layouts got; return what was moved.
    A group with members is left alone: it is the running layout, and Kafka refuses to alter it."""
    mine = group_id(settings)
    inputs = {settings.topic(t) for agent, t in AGENT_INPUTS.items() if stage_of_agent(agent) in settings.stages}
    admin = KafkaAdminClient(bootstrap_servers=address, **settings.kafka_python_security())
    try:
        groups = {g["group_id"]: g.get("group_state", "") for g in admin.list_groups()}
        others = [g for g in groups if g != mine and is_layout_group(settings.app_id, g)]
        if not others or groups.get(mine) in ACTIVE:
            return {}
        # one group per request: brokers before OffsetFetch v8 (and the embedded one) take no more
        committed = {g: admin.list_group_offsets({g: None}).get(g, {}) for g in [mine, *others]}
        own = {tp: meta.offset for tp, meta in committed.get(mine, {}).items()}
        furthest: dict[TopicPartition, int] = {}
        for group in others:
            for tp, meta in committed.get(group, {}).items():
                if tp.topic in inputs and meta.offset > max(own.get(tp, -1), furthest.get(tp, -1)):
                    furthest[tp] = meta.offset
        if furthest:
            errors = admin.alter_group_offsets(mine, {tp: OffsetAndMetadata(o, "", -1) for tp, o in furthest.items()})
            failed = {tp: e for tp, e in errors.items() if e.__name__ != "NoError"}
            if failed:  # e.g. a member joined meanwhile: it then owns the offsets, nothing to fix
                log.warning("offsets of %s not carried over for %s", mine, failed)
            furthest = {tp: o for tp, o in furthest.items() if tp not in failed}
        return furthest
    finally:
        admin.close()
