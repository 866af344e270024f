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
        others = [g["group_id"] for g in admin.list_groups()
                  if g["group_id"] != mine and is_layout_group(settings.app_id, g["group_id"])]
        if not others:
            return {}
        # one group per request: brokers before OffsetFetch v8 (and the embedded one) take no more
        committed = {g: admin.list_group_offsets({g: None}).get(g, {}) for g in [mine, *others]}
        own = {tp: meta.offset for tp, meta in committed.get(mine, {}).items()}
        furthest: dict[TopicPartition, int] = {}
        unique = settings.topic("unique")
        for group in others:
            for tp, meta in committed.get(group, {}).items():
                if tp.topic in inputs and tp.topic != unique and meta.offset > max(own.get(tp, -1), furthest.get(tp, -1)):
                    furthest[tp] = meta.offset
        for tp, offset in ner_floors(mine, {g: committed.get(g, {}) for g in others}, set(settings.ner_model_map())).items():
            if tp.topic == unique and unique in inputs and offset > own.get(tp, -1):
                furthest[tp] = offset
        return furthest
    finally:
        admin.close()


def served_languages(group: str, universe: set[str]) -> set[str]:
    """The NER languages a layout group tags (NEWSFEED_NER_LANGUAGES, from its `-ner-` suffix), within
    `universe` (the modelled languages, `und` and `*`: any other)."""
    suffix = group.partition(NER_GROUP)[2]
    if not suffix:
        return set(universe)
    words = suffix.split(".")
    return set(universe) - set(words[1:]) if words[0] == "not" else set(words) & set(universe)


def ner_floors(mine: str, committed: dict[str, dict], modelled: set[str]) -> dict[TopicPartition, int]:
    """Where this group may start on `unique`: what other groups have tagged for every language it serves.
    A group serving all of its languages counts alone; language groups together only when their languages
    cover its own, at the least advanced of them (a group serving other languages skipped these)."""
    universe = set(modelled) | {"und", "*"}
    for group in (mine, *committed):   # a group's listed languages join the universe too
        universe |= set(group.partition(NER_GROUP)[2].split(".")) - {"not", ""}
    need = served_languages(mine, universe)
    floors: dict[TopicPartition, int] = {}
    split = {g: offsets for g, offsets in committed.items() if NER_GROUP in g}
    for group, offsets in committed.items():
        if served_languages(group, universe) >= need:
            for tp, meta in offsets.items():
                floors[tp] = max(floors.get(tp, -1), meta.offset)
    if split and set().union(*(served_languages(g, universe) for g in split)) >= need:
        common = set.intersection(*(set(offsets) for offsets in split.values()))
        for tp in common:
            floors[tp] = max(floors.get(tp, -1), min(split[g][tp].offset for g in split))
    return floors
