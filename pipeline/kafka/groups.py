"""Switching layouts (all stages in one worker <-> stages split over several) without re-processing.

Each stage set has its own consumer group (`config.group_id`), so a worker of a new layout would start its
inputs from the beginning and run NER again on every article. Before it joins, a worker reads the furthest
offset any other layout's group committed on its input partitions; where that is further than its own
group's commit, its consumer starts there (pipeline/runtime/faust_consumer.py, `start_floors`) and commits
from there once it has processed something. That is safe: a group commits an offset only after the outputs
of everything before it are flushed, so the furthest commit is work done; the sinks skip ids they already
wrote, so the overlap of two layouts running at once for a moment is written once.

The offsets are not altered in the broker beforehand: Kafka refuses that while the group has members, and
the embedded broker counts a member that stopped without LeaveGroup (pipeline/runtime/group_leave.py) as
one until a request to that group notices its session ran out.
"""

from __future__ import annotations

from kafka import KafkaAdminClient, TopicPartition

from pipeline.config import NER_GROUP, Settings, group_id, stages_of_group
from pipeline.kafka.topics import AGENT_INPUTS, stage_of_agent

def is_layout_group(app_id: str, name: str) -> bool:
    """`app_id` or `app_id-<stage>-<stage>...`: a worker group of this app (not a `tail` or other reader)."""
    return stages_of_group(app_id, name) is not None


def start_floors(settings: Settings, address: str) -> dict[TopicPartition, int]:
    """Input partitions of this worker's stages where another layout's group got further than this one's:
    the offset to start at (a floor under this group's own committed offset)."""
    mine = group_id(settings)
    inputs = {settings.topic(t) for agent, t in AGENT_INPUTS.items() if stage_of_agent(agent) in settings.stages}
    admin = KafkaAdminClient(bootstrap_servers=address, **settings.kafka_python_security())
    try:
        # a group serving other languages' NER skipped what this one must tag: never a floor for it
        same_languages = lambda g: g.partition(NER_GROUP)[2] == mine.partition(NER_GROUP)[2]  # noqa: E731
        others = [g["group_id"] for g in admin.list_groups()
                  if g["group_id"] != mine and is_layout_group(settings.app_id, g["group_id"])
                  and same_languages(g["group_id"])]
        if not others:
            return {}
        # one group per request: brokers before OffsetFetch v8 (and the embedded one) take no more
        committed = {g: admin.list_group_offsets({g: None}).get(g, {}) for g in [mine, *others]}
        own = {tp: meta.offset for tp, meta in committed.get(mine, {}).items()}
        furthest: dict[TopicPartition, int] = {}
        for group in others:
            for tp, meta in committed.get(group, {}).items():
                if tp.topic in inputs and meta.offset > max(own.get(tp, -1), furthest.get(tp, -1)):
                    furthest[tp] = meta.offset
        return furthest
    finally:
        admin.close()
