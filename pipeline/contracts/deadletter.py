"""Dead letters: why a message could not be processed, with its original payload for replay."""

from __future__ import annotations

import base64
from typing import Any, Iterable, Mapping

import orjson

from pipeline.contracts.records import SCHEMA_VERSION, utc_now


class StageError(Exception):
    """A message a stage cannot process; `kind` is one of the dead-letter schema's error kinds."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def payload_field(payload: bytes | None) -> tuple[str, str]:
    """The original bytes as text when they are UTF-8, else base64, so nothing is lost."""
    payload = payload or b""
    try:
        return payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(payload).decode("ascii"), "base64"


def original_payload(letter: dict[str, Any]) -> bytes:
    if letter["payload_encoding"] == "base64":
        return base64.b64decode(letter["payload"])
    return letter["payload"].encode("utf-8")


def dead_letter(*, payload: bytes | None, kind: str, message: str, stage: str, topic: str,
                partition: int, offset: int, key: bytes | str | None, record_id: str | None = None) -> dict[str, Any]:
    text, encoding = payload_field(payload)
    if isinstance(key, bytes):
        key = key.decode("utf-8", errors="replace")
    return {
        "schema_version": SCHEMA_VERSION,
        "id": record_id,
        "error": {"kind": kind, "message": message[:2000]},
        "stage": stage,
        "source": {"topic": topic, "partition": partition, "offset": offset, "key": key},
        "payload": text,
        "payload_encoding": encoding,
        "failed_at": utc_now(),
    }


def describe(exc: BaseException) -> tuple[str, str]:
    """(error kind, message) of a failure: a StageError's own kind, any other exception a stage_error."""
    if isinstance(exc, StageError):
        return exc.kind, str(exc)
    return "stage_error", f"{type(exc).__name__}: {exc}"


def record_id_of(payload: bytes | None) -> str | None:
    """The article id when the payload still says which article it is."""
    try:
        return str(orjson.loads(payload).get("id") or "") or None
    except Exception:  # not JSON, not an object: no id to name
        return None


HEADER_PREFIX = "newsfeed.error."


def error_headers(letter: dict[str, Any], exc: BaseException,
                  original: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None = None) -> list[tuple[str, bytes]]:
    """Kafka headers of a dead letter, modelled on Kafka Connect's `__connect.errors.*`: the original
    record's headers kept, then where and why it failed, so a consumer can route or count dead letters
    without parsing the body (which carries the same facts and the original payload)."""
    source = letter["source"]
    cls = type(exc)
    facts = {"topic": source["topic"], "partition": source["partition"], "offset": source["offset"],
             "stage": letter["stage"], "kind": letter["error"]["kind"],
             "exception.class": f"{cls.__module__}.{cls.__qualname__}",
             "exception.message": str(exc)[:2000]}
    kept = list(original.items() if isinstance(original, Mapping) else original or ())
    return kept + [(HEADER_PREFIX + name, str(value).encode("utf-8")) for name, value in facts.items()]


def letter_key(letter: dict[str, Any]) -> str:
    """What identifies one failure: the stage and the message it failed on (stable across re-delivery)."""
    src = letter["source"]
    return f"{letter['stage']}:{src['topic']}:{src['partition']}:{src['offset']}"
