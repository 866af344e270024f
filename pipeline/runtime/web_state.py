"""What `newsfeed web` shows, kept in memory: the open stories with a few of their articles, the places of
recent articles, the dead letters by reason and the pipeline's status. Pure (no Kafka): the reader
(web_reader.py) feeds it records, the server (web_server.py) asks it for pages.

Bounded: per story at most `articles_per_story` articles and `places_per_story` places; at most
`max_stories` stories (the least recently active go first); a story idle for `idle_hours` of article time
(the story stage's own clock) is dropped with its articles, as the story stage drops it.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from pipeline.contracts.records import parse_time

PAGE_MAX = 500


def _when(iso: str | None) -> float:
    """Article time as the story stage reads it: a date of reduced precision ("2025-03") counts too."""
    when = parse_time(iso)
    return when.timestamp() if when else 0.0


@dataclass
class StoryEntry:
    summary: dict[str, Any] | None = None
    articles: deque = field(default_factory=deque)
    places: dict[int, dict[str, Any]] = field(default_factory=dict)
    countries: Counter = field(default_factory=Counter)
    last_seen: float = 0.0


def place_view(place: dict[str, Any]) -> dict[str, Any]:
    return {"id": place.get("geonameid"), "name": place.get("name"), "country": place.get("country_code"),
            "lat": place.get("lat"), "lon": place.get("lon")}


def article_view(record: dict[str, Any], places_kept: int = 50) -> dict[str, Any]:
    places = [place_view(p) for p in record.get("places") or [] if p.get("lat") is not None][:places_kept]
    return {"id": record.get("id"), "title": record.get("title") or (record.get("text") or "")[:120],
            "source": record.get("source"), "language": (record.get("language") or {}).get("code"),
            "url": record.get("url"), "published_at": record.get("published_at") or record.get("ingested_at"),
            "places": places}


class NewsState:
    def __init__(self, articles_per_story: int = 10, places_per_story: int = 50, max_stories: int = 20000,
                 recent_places: int = 1000, idle_hours: float = 48.0, errors_kept: int = 20):
        self.articles_per_story, self.places_per_story = articles_per_story, places_per_story
        self.max_stories, self.idle_seconds = max_stories, idle_hours * 3600
        self.entries: dict[str, StoryEntry] = {}
        self.recent_places: deque = deque(maxlen=recent_places)
        self.dead_letters: Counter = Counter()
        self.last_errors: deque = deque(maxlen=errors_kept)
        self.status: dict[str, Any] = {}
        self.articles_read = 0
        self.version = 0
        self.newest = self._swept = 0.0
        self._lock = threading.Lock()
        self._listing: tuple[int, list[StoryEntry]] = (-1, [])

    # -- fed by the reader -------------------------------------------------------------------------------
    def _entry(self, story_id: str) -> StoryEntry:
        entry = self.entries.get(story_id)
        if entry is None:
            entry = self.entries[story_id] = StoryEntry(articles=deque(maxlen=self.articles_per_story))
        return entry

    def add_story(self, story_id: str, summary: dict[str, Any] | None) -> None:
        with self._lock:
            self.version += 1
            if summary is None:   # a tombstone: the story was removed
                self.entries.pop(story_id, None)
                return
            entry = self._entry(story_id)
            entry.summary = summary
            entry.last_seen = max(entry.last_seen, _when(summary.get("last_seen")))
            self._after_update(entry.last_seen)

    def add_article(self, record: dict[str, Any]) -> None:
        story_id = (record.get("story") or {}).get("id")
        view = article_view(record)
        with self._lock:
            self.version += 1
            self.articles_read += 1
            for place in view["places"]:
                self.recent_places.append({**place, "story": story_id})
            if not story_id:
                return
            entry = self._entry(story_id)
            entry.articles.appendleft(view)
            for place in view["places"]:
                known = entry.places.get(place["id"])
                if known is not None:
                    known["count"] += 1
                elif len(entry.places) < self.places_per_story:
                    entry.places[place["id"]] = {**place, "count": 1}
            for country in record.get("countries") or []:
                if country.get("focus") and (country.get("code") in entry.countries
                                             or len(entry.countries) < self.places_per_story):
                    entry.countries[country["code"]] += 1
            entry.last_seen = max(entry.last_seen, _when(view["published_at"]))
            self._after_update(entry.last_seen)

    def add_dead_letter(self, letter: dict[str, Any]) -> None:
        error = letter.get("error") or {}
        with self._lock:
            self.version += 1
            self.dead_letters[f"{letter.get('stage', '?')}: {error.get('kind', '?')}"] += 1
            self.last_errors.appendleft({"at": letter.get("failed_at"), "stage": letter.get("stage"),
                                         "kind": error.get("kind"), "message": (error.get("message") or "")[:300],
                                         "id": letter.get("id")})

    def set_status(self, status: dict[str, Any]) -> None:
        with self._lock:
            self.status = status

    def _after_update(self, seen: float) -> None:
        """Drop the stories idle for the idle period of article time, then the least active past the cap."""
        self.newest = max(self.newest, seen)
        # swept when article time moved on by 1/48 of the idle period: not a full scan per article
        if self.newest - self._swept > self.idle_seconds / 48:
            self._swept, cutoff = self.newest, self.newest - self.idle_seconds
            for story_id in [s for s, e in self.entries.items() if e.last_seen and e.last_seen < cutoff]:
                del self.entries[story_id]
        if len(self.entries) > self.max_stories:   # down to 90 % at once: not a sort per new story
            ordered = sorted(self.entries, key=lambda s: self.entries[s].last_seen)
            for story_id in ordered[:len(self.entries) - int(self.max_stories * 0.9)]:
                del self.entries[story_id]

    # -- asked by the server -----------------------------------------------------------------------------
    def _open(self, entry: StoryEntry) -> bool:
        """Shown: a summary, and not idle in article time. Decided when asked, so what the page shows does not
        depend on the order the topics were read in (the sweep only frees memory)."""
        idle = entry.last_seen and entry.last_seen < self.newest - self.idle_seconds
        return entry.summary is not None and not idle

    def _sorted(self) -> list[StoryEntry]:
        if self._listing[0] != self.version:
            shown = [e for e in self.entries.values() if self._open(e)]
            shown.sort(key=lambda e: (e.summary["last_seen"], e.summary["articles"]), reverse=True)
            self._listing = (self.version, shown)
        return self._listing[1]

    def stories(self, offset: int = 0, limit: int = 100, language: str = "", country: str = "", source: str = "",
                entity: str = "", query: str = "") -> dict[str, Any]:
        entity, query = entity.casefold(), query.casefold()
        with self._lock:
            found = [e for e in self._sorted()
                     if (not language or language in e.summary["languages"])
                     and (not source or source in e.summary["sources"])
                     and (not country or country in e.countries)
                     and (not entity or any(entity in n["name"].casefold() for n in e.summary.get("entities", [])))
                     and (not query or query in e.summary["headline"].casefold())]
            page = found[offset:offset + min(limit, PAGE_MAX)]
            return {"version": self.version, "total": len(found), "open": len(self._sorted()), "offset": offset,
                    "stories": [self._row(e) for e in page]}

    @staticmethod
    def _row(entry: StoryEntry) -> dict[str, Any]:
        s = entry.summary
        return {"id": s["id"], "headline": s["headline"], "languages": s["languages"], "sources": s["sources"],
                "articles": s["articles"], "first_seen": s["first_seen"], "last_seen": s["last_seen"],
                "countries": [c for c, _ in entry.countries.most_common(5)]}

    def story(self, story_id: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self.entries.get(story_id)
            if entry is None or not self._open(entry):
                return None
            return {**self._row(entry), "entities": entry.summary.get("entities", []),
                    "articles_kept": list(entry.articles),
                    "places": sorted(entry.places.values(), key=lambda p: -p["count"])}

    def facets(self, top: int = 40) -> dict[str, list[tuple[str, int]]]:
        """The values the filters offer, most frequent first, over the open stories."""
        languages, sources, countries, entities = Counter(), Counter(), Counter(), Counter()
        with self._lock:
            for entry in self._sorted():
                languages.update(entry.summary["languages"].keys())
                sources.update(entry.summary["sources"].keys())
                countries.update(entry.countries.keys())
                entities.update(n["name"] for n in entry.summary.get("entities", []))
        return {name: counter.most_common(top) for name, counter in
                (("languages", languages), ("sources", sources), ("countries", countries), ("entities", entities))}

    def places(self, story_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if story_id:
                entry = self.entries.get(story_id)
                return sorted(entry.places.values(), key=lambda p: -p["count"]) if entry else []
            merged: dict[Any, dict[str, Any]] = {}
            for place in self.recent_places:
                known = merged.setdefault(place["id"], {**place, "count": 0})
                known["count"] += 1
            return list(merged.values())

    def pipeline(self) -> dict[str, Any]:
        with self._lock:
            return {"status": self.status, "dead_letters": self.dead_letters.most_common(),
                    "last_errors": list(self.last_errors), "articles_read": self.articles_read,
                    "open_stories": len(self._sorted())}
