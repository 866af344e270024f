"""Topic names and idempotent creation.

Topology: raw -> [language] -> languaged -> [dedup] -> unique -> [entities] -> tagged -> [stories + its sink]
-> enriched (+ JSONL). Dedup also writes its state log `dedup-index` (and snapshots of it to `dedup-snapshot`) and sends duplicates to `tagged` (they take
their original's story there); stories writes `duplicates`, its state log `story-log` and the summaries on
`stories`; every stage may write `deadletter`; the sink stage writes duplicates and dead letters to JSONL.
`tagged` and `story-log` have one partition: story assignment is serialised (pipeline/stages/stories/index.py).
"""

from __future__ import annotations

from pipeline.config import Settings

# name -> what travels on it (also the README's topic table)
TOPICS = {
    "raw": "raw articles from replay or any producer (schemas/raw-article)",
    "languaged": "articles with `language`, keyed by language so dedup candidates meet",
    "unique": "articles deduplication found unique, keyed by id",
    "tagged": "internal: articles with entities and story features, and duplicates, on their way to the story stage (one partition)",
    "enriched": "final enriched articles (schemas/enriched-article), keyed by id",
    "duplicates": "exact and near duplicates (schemas/duplicate), keyed by id",
    "deadletter": "messages that could not be processed (schemas/dead-letter)",
    "dedup-index": "internal: the dedup index log, replayed to rebuild dedup state",
    "dedup-snapshot": "internal: snapshots of each partition's dedup index (chunked), a rebuild's start point",
    "stories": "story summaries (schemas/story), compacted, keyed by story id: the latest record is the story now",
    "story-log": "internal: one story assignment per article, replayed to rebuild the open stories (one partition)",
    "feed-state": "internal: the feed poller's state per feed (validators, next poll, seen items), keyed by feed URL",
}
# topics whose latest record per key is all that matters (Kafka keeps at least that one)
TOPIC_CONFIGS = {"feed-state": {"cleanup.policy": "compact"}, "stories": {"cleanup.policy": "compact"}}
# topics that must keep one partition whatever NEWSFEED_PARTITIONS says: their consumer serialises its work
SINGLE_PARTITION = frozenset({"tagged", "story-log"})


def partitions_of(settings: Settings, name: str) -> int:
    """How many partitions newsfeed creates for topic `name` (without prefix)."""
    return 1 if name in SINGLE_PARTITION else settings.partitions


DAY = 86400


def dedup_window(settings: Settings) -> float:
    """Seconds of dedup-index a rebuild reads: the index's retention plus its grace (older entries would be
    evicted at once). The topic keeps a day more (Kafka deletes whole segments, never too early)."""
    return settings.dedup_retention_days * DAY + settings.dedup_grace_seconds


# dedup snapshots: one is cut at least this often while a partition takes entries, and at least daily
# while it takes none, so the topic's retention (a day more than the daily one) always keeps a recent one
SNAPSHOT_MAX_AGE, SNAPSHOT_IDLE_AGE, SNAPSHOT_RETENTION = 6 * 3600, DAY, 2 * DAY


def readback_window(settings: Settings) -> float:
    """Seconds of the enriched topic read back on assignment to recognise re-delivered records."""
    return settings.readback_hours * 3600


def story_window(settings: Settings) -> float:
    """Seconds of story-log a rebuild reads: twice the idle time, so every open story comes back with at least
    its last idle period of articles (a story that stays busy longer keeps its id and summary; its centroid
    is rebuilt from that recent part, which is the part new articles are compared with)."""
    return 2 * settings.story_idle_hours * 3600


def topic_configs(settings: Settings, name: str) -> dict[str, str]:
    if name == "dedup-index":
        return {"retention.ms": str(int((dedup_window(settings) + DAY) * 1000))}
    if name == "dedup-snapshot":   # small segments, so retention deletes superseded snapshots within hours
        return {"retention.ms": str(SNAPSHOT_RETENTION * 1000), "segment.ms": str(SNAPSHOT_MAX_AGE * 1000)}
    if name == "story-log":
        return {"retention.ms": str(int((story_window(settings) + DAY) * 1000))}
    return TOPIC_CONFIGS.get(name, {})


# each agent (as workers/app.py names it) and the topic it consumes, in pipeline order
AGENT_INPUTS = {"language": "raw", "dedup": "languaged", "entities": "unique", "stories": "tagged",
                "duplicates-sink": "duplicates", "deadletter-sink": "deadletter"}


def stage_of_agent(agent: str) -> str:
    """The NEWSFEED_STAGES stage that runs an agent: the sink stage also runs the duplicates and dead-letter sinks."""
    return "sink" if agent.endswith("-sink") else agent


def all_topics(settings: Settings) -> list[str]:
    return [settings.topic(name) for name in TOPICS]


def create_topics(settings: Settings, bootstrap: str, denied: list[str] | None = None) -> list[str]:
    """Create every newsfeed topic that does not exist yet; return the ones created. On a cluster with ACLs a
    principal may neither see nor create some topics (a producer has WRITE on raw only): those are appended
    to `denied` (when given) and skipped; the clients that need them fail on their own with the topic named."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import AuthorizationError, TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **settings.kafka_python_security())
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in all_topics(settings) if t not in existing]
        created = []
        for topic in wanted:
            try:
                name = topic[len(settings.topic_prefix):]
                admin.create_topics([NewTopic(topic, partitions_of(settings, name), settings.replication,
                                              topic_configs=topic_configs(settings, name))])
                created.append(topic)
            except TopicAlreadyExistsError:  # another process won the race: fine
                pass
            except AuthorizationError:
                if denied is None:
                    raise
                denied.append(topic)
        return created
    finally:
        admin.close()
