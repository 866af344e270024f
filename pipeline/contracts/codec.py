"""The one codec every topic and file uses: orjson, UTF-8, one JSON object per message/line."""

from __future__ import annotations

from typing import Any

import orjson


class DecodeError(ValueError):
    """A payload that is not a JSON object; `kind` is the dead-letter error kind."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def encode(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record)


def encode_line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def decode(payload: bytes) -> dict[str, Any]:
    """Decode one message; raise DecodeError with the reason it cannot be a record."""
    if payload is None:
        raise DecodeError("not_json", "empty message (null value)")
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("not_utf8", f"payload is not UTF-8: {exc}") from None
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("not_json", f"payload is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise DecodeError("not_object", f"payload is JSON {type(value).__name__}, not an object")
    return value
