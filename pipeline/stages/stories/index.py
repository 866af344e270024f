"""Stories: one id for every article about the same event, online, across outlets and languages.

Two halves, split for scale out:

1. Features, per article, pure and parallel: `pipeline.stages.stories.features.features(record)` (or
   `features_batch(records)`, faster per article) on an enriched record dict (`id`, `title`, `text`,
   `language.code`, `entity_summary`, `published_at`, `ingested_at`, `source`) -> `StoryFeatures`. Thread-
   and process-safe (the embedding model is a lazy per-process singleton); this is the costly half (~4 ms
   CPU per article in batches, mostly the embedding), so it runs in every worker, in parallel.
2. Assignment, serial: one `StoryIndex` sees every article in arrival order (a story spans outlets and
   languages, so it cannot be partitioned by article key). It costs well under a millisecond per article
   (~0.3 ms: a matrix product over open stories' centroids + exact scores on the best candidates), so one
   serial assigner keeps up with many feature workers. NOT thread-safe: one owner. Idempotence holds
   while the article's story is open; past that, keep the `story` already written on the record.

    index = StoryIndex(idle_hours=48)             # or NEWSFEED_STORY_IDLE_HOURS
    story = index.assign(record["id"], features(record))
    # -> {"id": "st-…", "first_seen": ISO, "size": n, "new": bool, "score": float}
    for event in index.drain_events(): ...        # append to the log (a topic keyed by article id)
    index.summary(story["id"])                    # -> the `stories` topic (compacted, keyed by story id)

Idempotent: an article id already assigned to an open story gets that story back (no event, no change).
Bounded memory: stories idle (no new article, in article time: `published_at` else `ingested_at`, the
index's clock being the latest time seen) for `idle_hours` close and are forgotten with their member ids;
state is one centroid per open story (embedding sum, top words, entities) plus the member ids.

Log event (one per assignment, JSON-able, v1): {"v": 1, "article", "story", "when", "new", "lang",
"source", "title", "words": {term: w}, "entities": {key: w}, "names": {key: [name, label, mentions]},
"emb": base64 float16}, about 4.5 KB of JSON. `StoryIndex.rebuild(events)` (or `apply(event)` one by one)
replays them without scoring, so a restarted assigner has the same open stories, the same ids and the same
idempotent answers. Keep the log for at least `idle_hours` of article time (older events only rebuild
stories that have closed since).

Summary (`summary(story_id)`): {"id", "headline", "languages": {code: n}, "sources": {name: n},
"articles", "first_seen", "last_seen" (ISO 8601 UTC), "entities": [{name, label, count}] (top 10, spelling
variants of one name merged: "Volodymyr Zelensky" = "Volodomyr Zelensky")}.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

import numpy as np

from pipeline.stages.stories.features import StoryFeatures, decode_vector, encode_vector
from pipeline.stages.stories.names import merge_names

STORY_WORDS = 150     # top words kept per story centroid
STORY_ENTITIES = 60
CANDIDATES = 16
RETIRED = 200_000     # article ids of closed stories remembered (~150 B each), newest first kept       # stories scored exactly, the best by embedding


@dataclass(frozen=True)
class Params:
    """Similarity = emb x cos(embeddings) + words x cos(words) + entities x cos(entities); an article joins
    the best open story at or above `threshold`, else starts one. Tuned on ECB+ topics 1-25 only."""
    emb: float = 0.5
    words: float = 0.6
    entities: float = 0.1
    threshold: float = 0.4
    # against a story with no article in the article's language, word overlap is mostly names and numbers:
    # this share of the words weight moves to the (multilingual) embedding
    cross: float = 0.25


def idle_hours_from_env(default: float = 48.0) -> float:
    return float(os.environ.get("NEWSFEED_STORY_IDLE_HOURS", default))


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sparse_cos(a: dict[str, float], b: dict[str, float], b_norm: float) -> float:
    if not a or not b_norm:
        return 0.0
    if len(a) > len(b):
        return sum(w * a.get(k, 0.0) for k, w in b.items()) / b_norm
    return sum(w * b.get(k, 0.0) for k, w in a.items()) / b_norm


def _add(total: dict[str, float], part: dict[str, float], top: int) -> float:
    """Adds `part` into `total`, prunes to the `top` heaviest; returns the new L2 norm."""
    for k, w in part.items():
        total[k] = total.get(k, 0.0) + w
    if len(total) > top:
        for k, _w in sorted(total.items(), key=lambda kv: kv[1])[:len(total) - top]:
            del total[k]
    return float(np.sqrt(sum(w * w for w in total.values())))


@dataclass
class Story:
    id: str
    first_seen: float
    last_seen: float
    slot: int
    size: int = 0
    emb_sum: np.ndarray | None = None
    words: dict[str, float] = field(default_factory=dict)
    words_norm: float = 0.0
    entities: dict[str, float] = field(default_factory=dict)
    entities_norm: float = 0.0
    names: Counter = field(default_factory=Counter)   # (display name, label) -> mentions in its articles
    languages: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)
    headline: str = ""
    members: list[str] = field(default_factory=list)

    def field(self, new: bool = False, score: float = 0.0) -> dict[str, Any]:
        return {"id": self.id, "first_seen": _iso(self.first_seen), "size": self.size, "new": new,
                "score": round(score, 4)}


class StoryIndex:
    def __init__(self, idle_hours: float | None = None, params: Params = Params(), dim: int = 512):
        self.idle_seconds = (idle_hours if idle_hours is not None else idle_hours_from_env()) * 3600
        self.params = params
        self.clock = float("-inf")
        self.stories: dict[str, Story] = {}
        self.article_story: dict[str, str] = {}
        self._events: list[dict[str, Any]] = []
        self.from_copy: set[str] = set()   # articles whose story a copy assigned in their name (see refine)
        # article id -> its story's field, for stories that closed: an article processed again, or a copy of
        # it, still gets that story (an old-dated article's story can close at the next article already)
        self.retired: dict[str, dict[str, Any]] = {}
        self._matrix = np.zeros((64, dim), dtype=np.float32)   # unit centroids by slot
        self._slot_story: list[str | None] = [None] * 64
        self._free = list(range(63, -1, -1))

    # ---- assignment -------------------------------------------------------------------------------
    def assign(self, article_id: str, f: StoryFeatures, when: float | None = None) -> dict[str, Any]:
        known = self.article_story.get(article_id)
        if known is not None:
            return self.stories[known].field()
        if article_id in self.retired:
            return dict(self.retired[article_id])
        when = f.when if when is None else when
        self._advance(when)
        story, score = self._best(f)
        new = story is None
        story_id = story.id if story else "st-" + hashlib.sha1(article_id.encode()).hexdigest()[:16]
        event = {"v": 1, "article": article_id, "story": story_id, "when": when, "new": new,
                 "lang": f.language, "source": f.source, "title": f.title, "words": f.words,
                 "entities": f.entities, "names": {k: list(v) for k, v in f.names.items()},
                 "emb": encode_vector(f.embedding)}
        self._events.append(event)
        return self._join(story_id, article_id, f, when).field(new, score)

    def drain_events(self) -> list[dict[str, Any]]:
        events, self._events = self._events, []
        return events

    def _best(self, f: StoryFeatures) -> tuple[Story | None, float]:
        if not self.stories:
            return None, 0.0
        p = self.params
        sims = self._matrix @ f.embedding
        live = [i for i in np.argsort(-sims)[:CANDIDATES + len(self._free)] if self._slot_story[i]][:CANDIDATES]
        best, best_score = None, p.threshold
        for slot in live:
            story = self.stories[self._slot_story[slot]]
            shift = p.words * p.cross if f.language not in story.languages else 0.0
            score = ((p.emb + shift) * float(sims[slot])
                     + (p.words - shift) * _sparse_cos(f.words, story.words, story.words_norm)
                     + p.entities * _sparse_cos(f.entities, story.entities, story.entities_norm))
            if score >= best_score:
                best, best_score = story, score
        return best, best_score

    def _join(self, story_id: str, article_id: str, f: StoryFeatures, when: float) -> Story:
        story = self.stories.get(story_id)
        if story is None:
            story = Story(story_id, when, when, self._take_slot(story_id), headline=f.title,
                          emb_sum=np.zeros_like(f.embedding))
            self.stories[story_id] = story
        story.size += 1
        story.first_seen, story.last_seen = min(story.first_seen, when), max(story.last_seen, when)
        story.emb_sum += f.embedding
        self._matrix[story.slot] = story.emb_sum / max(float(np.linalg.norm(story.emb_sum)), 1e-9)
        story.words_norm = _add(story.words, f.words, STORY_WORDS)
        story.entities_norm = _add(story.entities, f.entities, STORY_ENTITIES)
        for name, label, mentions in f.names.values():
            story.names[(name, label)] += mentions
        if len(story.names) > 2 * STORY_ENTITIES:   # bounded: the rarely named drop out
            story.names = Counter(dict(story.names.most_common(STORY_ENTITIES)))
        story.languages[f.language or "und"] += 1
        if f.source:
            story.sources[f.source] += 1
        if not story.headline and f.title:
            story.headline = f.title
        story.members.append(article_id)
        self.article_story[article_id] = story_id
        return story

    # ---- memory bound -----------------------------------------------------------------------------
    def _advance(self, when: float) -> None:
        if when <= self.clock:
            return
        self.clock = when
        horizon = when - self.idle_seconds
        for story in [s for s in self.stories.values() if s.last_seen < horizon]:
            self._close(story)

    def knows(self, article_id: str) -> bool:
        return article_id in self.article_story or article_id in self.retired

    def _retire(self, article_id: str, ref: dict[str, Any]) -> None:
        self.retired[article_id] = ref
        while len(self.retired) > RETIRED:
            del self.retired[next(iter(self.retired))]

    def _close(self, story: Story) -> None:
        del self.stories[story.id]
        ref = story.field()
        for article_id in story.members:
            self.article_story.pop(article_id, None)
            self.from_copy.discard(article_id)
            self._retire(article_id, ref)
        self._matrix[story.slot] = 0.0
        self._slot_story[story.slot] = None
        self._free.append(story.slot)

    def _take_slot(self, story_id: str) -> int:
        if not self._free:
            size = len(self._slot_story)
            self._matrix = np.vstack([self._matrix, np.zeros_like(self._matrix)])
            self._slot_story.extend([None] * size)
            self._free = list(range(2 * size - 1, size - 1, -1))
        slot = self._free.pop()
        self._slot_story[slot] = story_id
        return slot

    # ---- rebuild from the log ---------------------------------------------------------------------
    def apply(self, event: dict[str, Any]) -> None:
        """Replays one logged assignment (no scoring): the same story, whatever the params now are."""
        if event.get("refine"):
            self._refine(event["article"], event["entities"], event["names"])
            return
        if event.get("from_copy") and event["article"] not in self.article_story:
            self.from_copy.add(event["article"])
        if event["article"] in self.article_story:
            return
        self._advance(event["when"])
        if not event["new"] and event["story"] not in self.stories:
            # its story closed before this event's time: nothing open to rebuild, the article keeps its story
            self._retire(event["article"], {"id": event["story"], "first_seen": _iso(event["when"]), "size": 1,
                                            "new": False, "score": 0.0})
            return
        f = StoryFeatures(words=event["words"], entities=event["entities"],
                          names={k: tuple(v) for k, v in event["names"].items()},
                          embedding=decode_vector(event["emb"]), when=event["when"], language=event["lang"],
                          source=event["source"], title=event["title"])
        self._join(event["story"], event["article"], f, event["when"])

    # ---- a copy that overtook its original ----------------------------------------------------------
    # Copies skip NER, so one can reach the assigner before its original: it assigns the story in the
    # original's name from its own features (same words and embedding, no entities), and the original, when
    # it comes, keeps that story and adds what only it has: its entities.
    def assign_from_copy(self, original_id: str, f: StoryFeatures) -> dict[str, Any]:
        known = self.knows(original_id)
        ref = self.assign(original_id, f)
        if not known:
            self.from_copy.add(original_id)
            for event in self._events:
                event["from_copy"] = True
        return ref

    def refine(self, article_id: str, f: StoryFeatures) -> None:
        """The original of a copy that assigned its story: its entities join the story (logged as an event)."""
        if article_id in self.from_copy and article_id in self.article_story:
            self._events.append({"v": 1, "article": article_id, "story": self.article_story[article_id],
                                 "refine": True, "when": f.when, "entities": f.entities,
                                 "names": {k: list(v) for k, v in f.names.items()}})
            self._refine(article_id, f.entities, f.names)

    def _refine(self, article_id: str, entities: dict[str, float], names: dict[str, Any]) -> None:
        story = self.stories.get(self.article_story.get(article_id, ""))
        if story is None or article_id not in self.from_copy:
            return
        self.from_copy.discard(article_id)
        story.entities_norm = _add(story.entities, entities, STORY_ENTITIES)
        for name, label, *mentions in names.values():
            story.names[(name, label)] += mentions[0] if mentions else 1

    @classmethod
    def rebuild(cls, events: Iterable[dict[str, Any]], **kwargs) -> "StoryIndex":
        index = cls(**kwargs)
        for event in events:
            index.apply(event)
        return index

    # ---- for people and the stories topic -----------------------------------------------------------
    def summary(self, story_id: str) -> dict[str, Any]:
        story = self.stories[story_id]
        return {"id": story.id, "headline": story.headline, "languages": dict(story.languages.most_common()),
                "sources": dict(story.sources.most_common(10)), "articles": story.size,
                "first_seen": _iso(story.first_seen), "last_seen": _iso(story.last_seen),
                "entities": merge_names(story.names)[:10]}

    def summaries(self) -> list[dict[str, Any]]:
        return [self.summary(s) for s in sorted(self.stories, key=lambda s: -self.stories[s].last_seen)]
