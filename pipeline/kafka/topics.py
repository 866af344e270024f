"""Topic names and idempotent creation.

Topology: raw -> [language] -> languaged -> [dedup] -> unique -> [entities + its sink] -> enriched (+ JSONL).
Dedup also writes `duplicates` and its state log `dedup-index`; every stage may write `deadletter`; the
sink stage writes duplicates and dead letters to JSONL.
"""

from __future__ import annotations

from pipeline.config import Settings

# name -> what travels on it (also the README's topic table)
TOPICS = {
    "raw": "raw articles from replay or any producer (schemas/raw-article)",
    "languaged": "articles with `language`, keyed by language so dedup candidates meet",
    "unique": "articles deduplication found unique, keyed by id",
    "enriched": "final enriched articles (schemas/enriched-article), keyed by id, partition = unique's",
    "duplicates": "exact and near duplicates (schemas/duplicate), keyed by id",
    "deadletter": "messages that could not be processed (schemas/dead-letter)",
    "dedup-index": "internal: the dedup index log, replayed to rebuild dedup state",
    "feed-state": "internal: the feed poller's state per feed (validators, next poll, seen items), keyed by feed URL",
}
# topics whose latest record per key is all that matters (Kafka keeps at least that one)
TOPIC_CONFIGS = {"feed-state": {"cleanup.policy": "compact"}}
DAY = 86400


def dedup_window(settings: Settings) -> float:
    """Seconds of dedup-index a rebuild reads: the index's retention plus its grace (older entries would be
    evicted at once). The topic keeps a day more (Kafka deletes whole segments, never too early)."""
    return settings.dedup_retention_days * DAY + settings.dedup_grace_seconds


def readback_window(settings: Settings) -> float:
    """Seconds of the enriched topic read back on assignment to recognise re-delivered records."""
    return settings.readback_hours * 3600


def topic_configs(settings: Settings, name: str) -> dict[str, str]:
    if name == "dedup-index":
        return {"retention.ms": str(int((dedup_window(settings) + DAY) * 1000))}
    return TOPIC_CONFIGS.get(name, {})

# each agent (as workers/app.py names it) and the topic it consumes, in pipeline order
AGENT_INPUTS = {"language": "raw", "dedup": "languaged", "entities": "unique",
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
                admin.create_topics([NewTopic(topic, settings.partitions, settings.replication,
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
