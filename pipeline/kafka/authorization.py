"""A broker's authorisation refusal as one line: who was refused, on which resource (topic, group, cluster), and
the ACL that would allow it. kafka-python and aiokafka raise these errors with the resource names as arguments;
each command says which operation it needs on each kind of resource (`Needs`), since the error does not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.config import Settings

# the error class names of kafka-python (…Error) and aiokafka (with or without it), by the resource refused
KINDS = {"TopicAuthorizationFailed": "topic", "GroupAuthorizationFailed": "group",
         "ClusterAuthorizationFailed": "cluster", "TransactionalIdAuthorizationFailed": "transactional-id"}


@dataclass
class Needs:
    """What a command does on each kind of resource: `ops` kind -> ACL operation(s) ("Read", "Write"...);
    `names` kind -> the resource it used, for errors that do not carry it; `topic_ops` a topic's own operations
    where they differ from ops["topic"]; `hints` kind -> another way out (e.g. `--group`)."""
    command: str
    ops: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    topic_ops: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)


class NotAuthorised(Exception):
    """An authorisation refusal, explained (str: the one line the CLI prints before exiting 2)."""


def refused_kind(exc: BaseException) -> str | None:
    """'topic', 'group', 'cluster' or 'transactional-id' when `exc` is a broker's authorisation refusal."""
    return KINDS.get(type(exc).__name__.removesuffix("Error"))


def find_refusal(exc: BaseException | None) -> BaseException | None:
    """The authorisation error in `exc` or its causes and contexts (a client may wrap it), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if refused_kind(exc):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def principal(settings: "Settings") -> str:
    sec = settings.security
    if sec.sasl:
        return f"User:{sec.username}"
    if sec.certfile:
        return f"the principal of {sec.certfile} (User:CN=…)"
    return "User:ANONYMOUS"


def _names(exc: BaseException) -> list[str]:
    args = [a for a in exc.args if a not in (None, "")]
    if len(args) == 1 and isinstance(args[0], (set, list, tuple, frozenset)):
        return sorted(str(a) for a in args[0])
    return [str(a) for a in args if isinstance(a, str) and " " not in a.strip()]


def explain(exc: BaseException, settings: "Settings", needs: Needs) -> NotAuthorised:
    """One line: `<command>: not authorised: <principal> needs <operation> on <kind> '<name>' (<error>); <hint>`."""
    kind = refused_kind(exc) or "resource"
    names = _names(exc) or [needs.names.get(kind, "?")]
    who = principal(settings)
    grants = []
    for name in names:
        short = name.removeprefix(settings.topic_prefix) if kind == "topic" else name
        op = (needs.topic_ops.get(short) if kind == "topic" else None) or needs.ops.get(kind, "Describe")
        target = "the cluster" if kind == "cluster" else f"{kind} '{name}'"
        grants.append(f"{op} on {target}")
    hint = f"; {needs.hints[kind]}" if kind in needs.hints else ""
    return NotAuthorised(f"{needs.command}: not authorised: {who} needs an ALLOW ACL for {', '.join(grants)} "
                         f"({type(exc).__name__}){hint}")


def check_topics(bootstrap: str, settings: "Settings", names: list[str]) -> None:
    """Raise TopicAuthorizationFailedError naming the topics of `names` this principal may not even describe:
    a kafka-python consumer subscribed to one only logs the refusal and waits forever."""
    from kafka import KafkaAdminClient
    from kafka.errors import TopicAuthorizationFailedError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **settings.kafka_python_security())
    try:
        refused = {t["name"] for t in admin.describe_topics(names)
                   if t.get("error_code") == TopicAuthorizationFailedError.errno}
    finally:
        admin.close()
    if refused:
        raise TopicAuthorizationFailedError(refused)


def check_group(bootstrap: str, settings: "Settings", group: str) -> None:
    """Raise GroupAuthorizationFailedError when this principal may not even describe consumer group `group`
    (Read implies Describe): a Faust worker would otherwise fail deep in its start-up, or wait."""
    from kafka import KafkaAdminClient
    from kafka.errors import GroupAuthorizationFailedError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **settings.kafka_python_security())
    try:
        described = admin.describe_groups([group])
    except GroupAuthorizationFailedError:
        raise GroupAuthorizationFailedError(group) from None
    finally:
        admin.close()
    if "GroupAuthorizationFailed" in str((described.get(group) or {}).get("error") or ""):
        raise GroupAuthorizationFailedError(group)
