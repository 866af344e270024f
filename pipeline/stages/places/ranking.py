"""Ranking a text's place mentions: each candidate scored by population, the kind of name (a country's name,
the place's own name before an alternate one), a "Paris, Texas" qualifier and capital status, then by the
countries and regions the rest of the article is about (a first pass on the mentions that need no
context), and the source's home where candidates compete.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from typing import Sequence

from pipeline.stages.places import forms as place_forms
from pipeline.stages.places.gazetteer import ALTERNATE, LOCALISED, Gazetteer, Place, name_key
from pipeline.stages.places.source_home import Home
from pipeline.stages.places.toponyms import MIN_POPULATION, Toponym

_QUALIFIER = re.compile(r",\s*((?:[A-Z]\.){2,}|[A-Z][\w.]*(?: [A-Z][\w.]*){0,2})")
CONTEXT_WEIGHT = 1.5  # a country's share of the other mentions, in orders of magnitude of population
REGION_WEIGHT = 1.0   # the same for a first-level region (Parkland among places of Florida)
BIG_CITY, REGION_OF_CITY_PENALTY = 1_000_000, 3.0
OTHER_NAME_PENALTY = 1.5
_US_STATE_CODE = re.compile(r"[A-Z]{2}")


def _qualifier(text: str, end: int, gazetteer: Gazetteer) -> set[tuple[str, str]]:
    """("US", "TX") / ("DE", "") pairs named right after a mention: "Paris, Texas", "Paris, TX", "Essen, Germany"."""
    match = _QUALIFIER.match(text, end)
    if not match:
        return set()
    word = match.group(1)
    abbreviation = place_forms.forms().abbreviations.get(word if word.endswith(".") else word + ".")
    if abbreviation:   # "Charleston, W.Va.", "London, Ont."
        code, _, admin1 = abbreviation[0].partition("-")
        return {(code, admin1)}
    if _US_STATE_CODE.fullmatch(word):
        return {("US", word)}
    return {(p.country_code, p.admin1 if p.feature_code.startswith("ADM") else "")
            for p, _kind, _lang in gazetteer.candidates(name_key(word)) if p.feature_class == "A"}


def _prior(candidate: tuple[Place, int, frozenset[str]], lang: str, qualifier: set[tuple[str, str]]) -> float:
    place, kind, name_langs = candidate
    score = math.log10(place.population + 10)
    if place.feature_code == "PCLI":  # a country's name in another language: "Granada" is Grenada in crh
        score += 3.0 if kind != LOCALISED or {lang, "en"} & name_langs else -1.0
    elif place.feature_code == "CONT":
        score += 2.5
    elif place.feature_code.startswith("ADM"):  # a region's population is its towns': "Washington" is D.C.
        score -= 0.5
    elif place.feature_code == "PPLC":
        score += 1.5
    if kind == ALTERNATE:
        score -= 1.0
    if (place.country_code, place.admin1) in qualifier:
        score += 6.0
    elif (place.country_code, "") in qualifier:
        score += 4.0
    return score


@lru_cache(maxsize=16384)
def _unqualified(candidates, lang: str) -> tuple[tuple[float, Place], ...]:
    """_scored, once per name's candidates, when nothing qualifies the mention (most mentions)."""
    return tuple(_scored(candidates, lang, set()))


def _scored(candidates, lang: str, qualifier: set[tuple[str, str]]) -> list[tuple[float, Place]]:
    """Candidates with their prior scores, best first. A region named like a city of a million people
    inside it is, named alone, the city: "New York", "Tokyo", "São Paulo"."""
    big_cities = {(p.country_code, p.admin1) for p, _kind, _lang in candidates
                  if p.feature_class == "P" and p.population >= BIG_CITY}
    # a town's own name before another's former name: "Salisbury" is Wiltshire's, not Harare
    own_name_town = any(k != ALTERNATE and p.feature_class == "P" and p.population >= MIN_POPULATION
                        for p, k, _lang in candidates)
    scored = [(_prior(c, lang, qualifier)
               - (REGION_OF_CITY_PENALTY if c[0].feature_code.startswith("ADM")
                  and (c[0].country_code, c[0].admin1) in big_cities else 0.0)
               - (OTHER_NAME_PENALTY if own_name_town and c[1] == ALTERNATE else 0.0), c[0])
              for c in candidates]
    return sorted(scored, key=lambda sc: (-sc[0], sc[1].geonameid))


def rank(toponyms: Sequence[Toponym], text: str, lang: str, gazetteer: Gazetteer,
         home: Home | None = None) -> list[Place | None]:
    """The chosen place of each mention (None: no candidate, or a needs-context match without support);
    `home`, the source's, weighs in where candidates compete (the mention's `by_home` says it decided)."""
    priors, qualified = [], []
    for topo in toponyms:
        # a qualifier opens with a comma: most mentions have none, and no call for them
        qualifier = _qualifier(text, topo.end, gazetteer) if text.startswith(",", topo.end) else None
        qualified.append(bool(qualifier))
        priors.append(_scored(topo.candidates, lang, qualifier) if qualifier
                      else _unqualified(topo.candidates, lang))
    # first pass: the countries of the mentions that are clear on their own
    countries: Counter[str] = Counter()
    regions: Counter[tuple[str, str]] = Counter()  # first-level regions: a state, the state of a town
    by_name: dict[str, dict] = {}   # what each name contributed: a name repeated is no evidence for itself
    keys = [topo.key for topo in toponyms]
    for topo, key, ranked in zip(toponyms, keys, priors):
        if not ranked or topo.needs_context:
            continue
        best, second = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        if best[1].feature_class in "AL" or second is None or best[0] - second[0] >= 1.0:
            countries[best[1].country_code] += 1
            own = by_name.get(key)
            if own is None:
                own = by_name[key] = {}
            own[best[1].country_code] = own.get(best[1].country_code, 0) + 1
            if best[1].admin1:
                region = (best[1].country_code, best[1].admin1)
                regions[region] += 1
                own[region] = own.get(region, 0) + 1
    chosen: list[Place | None] = []
    context: dict[str, tuple] = {}
    rescorings: dict[tuple[str, int, bool], tuple] = {}   # the same for every mention of a name and candidates
    for topo, key, ranked, has_qualifier in zip(toponyms, keys, priors, qualified):
        at_home = home is not None and len(ranked) > 1 and not topo.form
        if len(ranked) < 2:   # nothing to reorder: only the place is read, never its score
            rescored, by_home = ranked, False
        else:
            memo = (key, id(ranked), at_home)   # `ranked` outlives the loop (in `priors`): its id is its own
            found = rescorings.get(memo)
            if found is None:
                if key not in context:   # the same for every mention of a name
                    own = by_name.get(key, {})
                    support, region_support = _others(countries, own), _others(regions, own)
                    context[key] = (support, region_support, sum(support.values()) or 1,
                                    sum(region_support.values()) or 1)
                support, region_support, total, region_total = context[key]
                rescored = sorted(((s + CONTEXT_WEIGHT * support.get(p.country_code, 0) / total
                                    + REGION_WEIGHT * region_support.get((p.country_code, p.admin1), 0)
                                    / region_total, p)
                                   for s, p in ranked), key=lambda sc: (-sc[0], sc[1].geonameid))
                by_home = False
                if at_home:
                    homed = sorted(((s + home.weight(p.country_code, p.admin1), p) for s, p in rescored),
                                   key=lambda sc: (-sc[0], sc[1].geonameid))
                    by_home, rescored = homed[0][1] != rescored[0][1], homed
                found = rescorings[memo] = (rescored, by_home)
            rescored, by_home = found
        if at_home:
            topo.by_home = by_home
        if not rescored or (topo.needs_context and not has_qualifier
                            and not _supported(countries, by_name.get(key), rescored[0][1].country_code)):
            chosen.append(None)
            continue
        chosen.append(rescored[0][1])
    return chosen


def _supported(countries: Counter, own: dict | None, country: str) -> bool:
    """Whether another name of the article points to the country (what _others would keep of it)."""
    return countries.get(country, 0) - (own.get(country, 0) if own else 0) > 0


def _others(counts: Counter, own: dict) -> dict:
    """The article's context without what the mention's name contributed (every mention of it)."""
    if not own:   # most names contributed nothing (counts are all positive)
        return dict(counts)
    return {k: left for k, n in counts.items() if (left := n - own.get(k, 0)) > 0}
