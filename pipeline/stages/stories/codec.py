"""Story features as JSON, to travel with the record from the workers that compute them (the entities
stage, in parallel) to the one that assigns stories (over the `tagged` topic)."""

from __future__ import annotations

from typing import Any

from pipeline.stages.stories.features import StoryFeatures, decode_vector, encode_vector


def to_json(f: StoryFeatures) -> dict[str, Any]:
    return {"words": f.words, "entities": f.entities, "names": {k: list(v) for k, v in f.names.items()},
            "emb": encode_vector(f.embedding), "when": f.when, "lang": f.language, "source": f.source,
            "title": f.title}


def from_json(d: dict[str, Any]) -> StoryFeatures:
    return StoryFeatures(words=d["words"], entities=d["entities"], names={k: tuple(v) for k, v in d["names"].items()},
                         embedding=decode_vector(d["emb"]), when=d["when"], language=d["lang"], source=d["source"],
                         title=d["title"])
