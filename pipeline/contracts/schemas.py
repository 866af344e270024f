"""Loading and applying the JSON Schemas in schemas/ (the contract other services code against)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

# The repository's schemas/ (a checkout or an editable install), else ./schemas (the Docker image's /app).
SCHEMA_DIR = next((d for d in (Path(__file__).resolve().parents[2] / "schemas", Path.cwd() / "schemas")
                   if d.is_dir()), Path("schemas"))
SCHEMAS = {
    "raw": "raw-article.v1.json",
    "enriched": "enriched-article.v2.json",
    "enriched.v1": "enriched-article.v1.json",
    "duplicate": "duplicate.v1.json",
    "deadletter": "dead-letter.v1.json",
    "story": "story.v1.json",
}


@lru_cache(maxsize=None)
def _registry() -> Registry:
    resources = []
    for path in SCHEMA_DIR.glob("*.json"):
        contents = json.loads(path.read_text("utf-8"))
        resource = Resource.from_contents(contents)
        # register under both the $id and the bare file name so relative $refs resolve
        resources += [(contents["$id"], resource), (path.name, resource)]
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def validator(kind: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / SCHEMAS[kind]).read_text("utf-8"))
    return Draft202012Validator(schema, registry=_registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(kind: str, record: Any) -> list[str]:
    """Every way `record` breaks schema `kind`, as readable strings (empty when valid)."""
    found = sorted(validator(kind).iter_errors(record), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<record>'}: {e.message}" for e in found]


def validate(kind: str, record: Any) -> None:
    problems = errors(kind, record)
    if problems:
        raise ValueError(f"{kind} record does not match its schema: " + "; ".join(problems[:5]))
