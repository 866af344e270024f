"""The ACLs each newsfeed principal needs on a cluster with an authorizer (README: "Your own Kafka cluster").

Derived from what the secured end-to-end tests needed (tests/test_secured_kafka_e2e.py grants exactly these
and nothing more). Each grant is (resource type, name, pattern type, operation), with kafka-python's enum
member names; READ and WRITE imply DESCRIBE in Kafka, so it is not listed.
"""

from __future__ import annotations

from pipeline.config import Settings

Grant = tuple[str, str, str, str]

# topic -> what a worker does on it: raw is only read; the read-back of enriched (on assignment) and of
# dedup-index and dedup-snapshot (state rebuild) needs READ on the topics it writes too
WORKER_TOPICS = {
    "raw": ("READ",),
    "languaged": ("READ", "WRITE"),
    "unique": ("READ", "WRITE"),
    "enriched": ("READ", "WRITE"),
    "duplicates": ("READ", "WRITE"),
    "deadletter": ("READ", "WRITE"),
    "dedup-index": ("READ", "WRITE"),
    "dedup-snapshot": ("READ", "WRITE"),
    "tagged": ("READ", "WRITE"),
    "story-log": ("READ", "WRITE"),
    "stories": ("READ", "WRITE"),
}


def worker_acls(settings: Settings) -> list[Grant]:
    """A worker of any stage layout: its topics, and the consumer groups named after NEWSFEED_APP_ID (its
    own, and the other layouts' whose offsets it starts from: pipeline/kafka/groups.py)."""
    topics = [("TOPIC", settings.topic(name), "LITERAL", op) for name, ops in WORKER_TOPICS.items() for op in ops]
    return topics + [("GROUP", settings.app_id, "PREFIXED", "READ")]


# the feed poller (`newsfeed feeds`): sends articles and dead letters, reads back and writes its own state;
# it reads feed-state by partition (no consumer group)
FEEDS_TOPICS = {"raw": ("WRITE",), "deadletter": ("WRITE",), "feed-state": ("READ", "WRITE")}
# `newsfeed status`: one Fetch per input topic partition for its high watermark, the last enriched records for
# the latency, and the workers' committed offsets (Describe on their groups)
STATUS_TOPICS = ("raw", "languaged", "unique", "tagged", "duplicates", "deadletter", "enriched")


def feeds_acls(settings: Settings) -> list[Grant]:
    return [("TOPIC", settings.topic(name), "LITERAL", op) for name, ops in FEEDS_TOPICS.items() for op in ops]


def status_acls(settings: Settings) -> list[Grant]:
    return ([("TOPIC", settings.topic(name), "LITERAL", "READ") for name in STATUS_TOPICS]
            + [("GROUP", settings.app_id, "PREFIXED", "DESCRIBE")])


# `newsfeed web`: the status reads above, plus the story summaries, in its own group (never committed)
WEB_GROUP = "newsfeed-web"


def web_acls(settings: Settings, group: str = WEB_GROUP) -> list[Grant]:
    return status_acls(settings) + [("TOPIC", settings.topic("stories"), "LITERAL", "READ"),
                                    ("GROUP", group, "LITERAL", "READ")]


def producer_acls(settings: Settings) -> list[Grant]:
    """`newsfeed replay`, or any service sending raw articles."""
    return [("TOPIC", settings.topic("raw"), "LITERAL", "WRITE")]


def reader_acls(settings: Settings, group: str, pattern: str = "LITERAL") -> list[Grant]:
    """A service reading the enriched topic in consumer group `group` (`newsfeed tail` makes a new
    group named newsfeed-tail-<random> each time: PREFIXED newsfeed-tail-), and the story summaries
    (`newsfeed stories` reads them by partition, without a group)."""
    return [("TOPIC", settings.topic("enriched"), "LITERAL", "READ"), ("TOPIC", settings.topic("stories"), "LITERAL", "READ"),
            ("GROUP", group, pattern, "READ")]


def admin_acls(settings: Settings) -> list[Grant]:
    """`newsfeed topics` (topic creation) when not run as a super user."""
    return [("TOPIC", settings.topic_prefix, "PREFIXED", "CREATE")]


def kafka_acls_command(principal: str, grant: Grant, bootstrap: str = "$BOOTSTRAP") -> str:
    """The same grant as a `kafka-acls.sh` command line (Kafka's own tool), for the README."""
    kind, name, pattern, op = grant
    option = {"TOPIC": "--topic", "GROUP": "--group", "CLUSTER": "--cluster"}[kind]
    return (f"kafka-acls.sh --bootstrap-server {bootstrap} --command-config admin.properties --add "
            f"--allow-principal User:{principal} --operation {op.title()} {option} {name}"
            + (f" --resource-pattern-type {pattern.lower()}" if pattern != "LITERAL" else ""))
