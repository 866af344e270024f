"""Record construction: raw articles, ids and timestamps. Records are plain dicts (the schemas define them)."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timezone
from typing import Any

SCHEMA_VERSION = 1


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    """Parse a (possibly reduced-precision) ISO 8601 timestamp; None when absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    for candidate in (text, text + "-01", text + "-01-01"):
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


# the schemas' partial_datetime pattern: a date-time, or a date of reduced precision
_DATE_SHAPE = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
                         r"(Z|[+-][0-9]{2}:?[0-9]{2})?)?)?)?$")


def check_dates(record: dict[str, Any]) -> list[str]:
    """Dates that are not dates (2025-13-45, 2025-02-30, 0000-00-00, hour 25) must not reach consumers,
    whose date parsers would fail, and must not cost the article either. So: `published_at` becomes null,
    `ingested_at` becomes now (when we saw it); the original is kept in `<field>_raw` and a note in `notes`.
    Applied by replay's readers and again at ingest. Returns the notes added."""
    added = []
    for name, replacement in (("published_at", None), ("ingested_at", utc_now())):
        value = record.get(name)
        if value is None:
            if name == "ingested_at":
                record[name] = replacement  # a producer that does not say when it sent: when we read it
            continue
        if isinstance(value, str) and _DATE_SHAPE.match(value.strip()) and parse_time(value) and (
                name == "published_at" or len(value.strip()) > 10):  # ingested_at: a full date-time
            continue
        record[f"{name}_raw"] = value
        record[name] = replacement
        added.append(f"{name}: {value!r} is not a valid date; set to {replacement or 'null'}, original in {name}_raw")
    if added:
        record["notes"] = [*record.get("notes", []), *added]
    return added


def content_id(source: str, text: str) -> str:
    """A stable id for an article that arrives without one."""
    return hashlib.sha1(f"{source}\0{text}".encode("utf-8")).hexdigest()[:16]


def raw_article(*, id: str, source: str, text: str, title: str | None = None, url: str | None = None,
                published_at: str | None = None, lang_hint: str | None = None,
                ingested_at: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "id": id, "source": source, "text": text}
    for key, value in (("title", title), ("url", url), ("published_at", published_at), ("lang_hint", lang_hint)):
        if value:
            record[key] = value
    record["ingested_at"] = ingested_at or utc_now()
    return record


def record_time(record: dict[str, Any]) -> float:
    """An article's time, epoch seconds: published_at, else ingested_at, else now (dedup retention and
    story idle time are both measured on it)."""
    when = parse_time(record.get("published_at")) or parse_time(record.get("ingested_at"))
    return when.timestamp() if when else time.time()
