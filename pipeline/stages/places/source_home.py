"""A source's home: where an outlet writes about, learned online from the places it resolves confidently,
and used as a prior when a name is ambiguous (issue 35: a small-town paper's "Paris", "Alexandria",
"Lebanon" are in its own state, not the famous ones).

Per source (the domain of the article's URL, else its `source`): counts of the countries and first-level
regions (country, admin1) of the places its articles decided on their own (not by the home; demonyms say who, not where). The
home is
- a region when at least HOME_SHARE of the source's confident places are in it (and MIN_EVIDENCE places
  were seen): a national outlet, with places all over its country, gets no region;
- else its country when HOME_SHARE of them are in it: an international outlet gets no home at all.
The prior adds HOME_WEIGHT to a candidate in the home region (half of it in the home country) when
several candidates compete: about as much as two orders of magnitude of population; a mention whose place the home changed gets `place_prior: "home"`.
State: the counts, learned from every record the stage sees and rebuilt on start from the enriched topic
(pipeline/kafka/state.py: `load_source_homes`), like the story index from its log.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import urlsplit

HOME_SHARE, MIN_EVIDENCE, HOME_WEIGHT = 0.6, 5, 2.0


@dataclass(frozen=True)
class Home:
    country: str
    admin1: str | None   # None: a national outlet (or one region is not enough of its places)

    def weight(self, country: str, admin1: str | None) -> float:
        if country != self.country:
            return 0.0
        return HOME_WEIGHT if self.admin1 and admin1 == self.admin1 else HOME_WEIGHT / 2


def declared_home(record: dict[str, Any]) -> Home | None:
    """The home a feed list declared for the record's source (`source_home`: "US-MO", "FR"): it wins over the
    learned one."""
    country, _, admin1 = str(record.get("source_home") or "").partition("-")
    return Home(country, admin1 or None) if country else None


def source_key(record: dict[str, Any]) -> str:
    url = record.get("url") or ""
    host = urlsplit(url).hostname if url.startswith(("http://", "https://")) else None
    return (host or "").removeprefix("www.") or str(record.get("source") or "")


@dataclass
class SourceHomes:
    """Learned homes of every source; thread-safe (the entity stage runs in threads)."""
    countries: dict[str, Counter] = field(default_factory=dict)
    regions: dict[str, Counter] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def learn(self, source: str, confident: Iterable[dict[str, Any]]) -> None:
        """Count the confident places (place fields) of one article of `source`."""
        with self._lock:
            countries = self.countries.setdefault(source, Counter())
            regions = self.regions.setdefault(source, Counter())
            for place in confident:
                if place.get("country_code"):
                    countries[place["country_code"]] += 1
                    if place.get("admin1"):
                        regions[(place["country_code"], place["admin1"])] += 1

    def learn_record(self, record: dict[str, Any]) -> None:
        """From an enriched record: the places its article decided on its own (not by the home prior; not
        a demonym, which says who, not where)."""
        self.learn(source_key(record), [e["place"] for e in record.get("entities", ()) if e.get("place")
                                        and "place_prior" not in e and e.get("place_form") != "demonym"])

    def home(self, source: str) -> Home | None:
        with self._lock:
            countries, regions = self.countries.get(source), self.regions.get(source)
            total = sum(countries.values()) if countries else 0
            if total < MIN_EVIDENCE:
                return None
            country, n = countries.most_common(1)[0]
            if n < HOME_SHARE * total:
                return None
            region_total = sum(v for (cc, _a), v in regions.items() if cc == country)
            best = max(((a, v) for (cc, a), v in regions.items() if cc == country), key=lambda av: av[1],
                       default=(None, 0))
            admin1 = best[0] if region_total >= MIN_EVIDENCE and best[1] >= HOME_SHARE * region_total else None
            return Home(country, admin1)
