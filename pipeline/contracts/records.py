"""Record construction: raw articles, ids and timestamps. Records are plain dicts (the schemas define them)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

SCHEMA_VERSION = 1


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    """Parse a (possibly reduced-precision) ISO 8601 timestamp; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    for candidate in (text, text + "-01", text + "-01-01"):
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


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
