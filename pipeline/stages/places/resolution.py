"""Places: every location mention resolved to a GeoNames place, and the article's places and countries.

Mentions are the model's LOC/GPE entities plus gazetteer matches (pipeline/stages/places/toponyms.py): in a
language with no NER model all of them, in French/English only those the model missed that are
unambiguous. Each gets `place` {geonameid, name, country_code, admin1, lat, lon, feature_class, population}
or `place: null` with `place_reason`; the candidates are ranked in pipeline/stages/places/ranking.py. The
record gets `places` (unique places, most mentioned first) and `countries` (ISO codes with mention counts;
`focus` marks those with at least half the top country's mentions).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from functools import lru_cache
from operator import itemgetter
from typing import Any, Sequence

from pipeline.stages.entities.acronyms import acronym_organisations
from pipeline.stages.entities.adapters import own_models, place_labels
from pipeline.stages.entities.canonical import canonicalise
from pipeline.stages.places import forms as place_forms
from pipeline.stages.places.arbitration import acronym_place, arbitrate
from pipeline.stages.places.gazetteer import ALTERNATE, PRIMARY, Gazetteer, Place, name_key, shared
from pipeline.stages.places.forms import find_forms
from pipeline.stages.places.inflection import variants
from pipeline.stages.places.ranking import rank
from pipeline.stages.places.source_home import Home
from pipeline.stages.places.toponyms import MIN_POPULATION, Toponym, find, words_of

_MENTION_SUFFIXES = ("'s", " state", " province", " region")
_SPAN = itemgetter("start", "end")   # a mention's sort key, without a Python call per mention


def population_baseline(candidates) -> Place | None:
    """The bench's baseline: the most populous candidate, no context."""
    return max((c[0] for c in candidates), key=lambda p: (p.population, -p.geonameid), default=None)


def model_toponym(ent: dict[str, Any], text: str, gazetteer: Gazetteer, lang: str = "en") -> Toponym:
    form = form_toponym(ent, text, lang, gazetteer)
    if form is not None:
        return form
    return Toponym(ent["start"], ent["end"], ent["text"], _model_candidates(ent["text"], lang, gazetteer),
                   needs_context=False, strong=True)


@lru_cache(maxsize=16384)
def _model_candidates(surface: str, lang: str, gazetteer: Gazetteer) -> tuple:
    """The candidates of a model's mention, once per mention written so."""
    candidates = ()
    for key in _lookup_keys(name_key(surface)):
        candidates = gazetteer.candidates(key)
        if candidates:
            break
    if not candidates:   # the model's "Москве", "İstanbul'da": the gazetteer's reading of the same word
        candidates = max((gazetteer.candidates(key) for _o, _n, key in variants(surface, lang)),
                         key=lambda found: max((c[0].population for c in found), default=-1), default=())
    # a village known by another name ("Wash" is Vaše): not what a story means
    return tuple(c for c in candidates if c[0].feature_class != "P" or c[0].population >= MIN_POPULATION
                 or c[1] != ALTERNATE)


def form_toponym(ent: dict[str, Any], text: str, lang: str, gazetteer: Gazetteer) -> Toponym | None:
    """A model mention that is a seat of power, a demonym or an AP abbreviation ("Ky." may come without
    its period: the model's span ends before it)."""
    surface, start, end = ent["text"], ent["start"], ent["end"]
    found = _form_of(surface, surface + "." if text[end:end + 1] == "." else surface, lang, gazetteer)
    return None if found is None else Toponym(start, end, surface, found[1], False, True, form=found[0])


@lru_cache(maxsize=16384)
def _form_of(surface: str, written: str, lang: str, gazetteer: Gazetteer) -> tuple[str, tuple] | None:
    """(form, its one candidate) of a mention written so, once per writing."""
    for form, target in ((place_forms.METONYM, place_forms.seat(surface)),
                         (place_forms.DEMONYM, place_forms.demonym(surface, lang)),
                         (place_forms.ABBREVIATION, place_forms.forms().abbreviations.get(written, (None,))[0])):
        place = gazetteer.target(str(target)) if target is not None else None
        if place is not None:
            return form, ((place, PRIMARY, frozenset()),)
    return None


def _lookup_keys(key: str):
    """The mention's key, then without what a model's span may carry around a name: an article ("the
    Netherlands", "la Rochelle"), a possessive ("South Korea's"), a generic word ("Oaxaca State")."""
    yield key
    if key.startswith(("the ", "la ", "le ", "les ", "l'")):
        key = key.split(" ", 1)[1] if " " in key[:4] else key[2:]
        yield key
    for suffix in _MENTION_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix) + 1:
            key = key[:-len(suffix)].rstrip()
            yield key


def locate(lang: str, text: str, entities: list[dict[str, Any]], model_ran: bool,
           gazetteer: Gazetteer | None = None, home: Home | None = None,
           own_model: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Entities with gazetteer places added and `place` set on every place mention; returns (entities,
    number of mentions added). A model's LOC/GPE mention is kept, resolved or not, unless it is an
    organisation's name or a person's (arbitration.py); a demonym (NORP) gets its country. A lower-case
    adjective ("ukrainien", "russische") is context for the other mentions, not a mention: the languages
    that write them so do not tag them as entities (WikiNER French: MISC F1 66 -> 56 when they were)."""
    gazetteer = gazetteer or shared()
    entities, changed = arbitrate(entities, text, lang, gazetteer, own_model)
    taken = sorted((e["start"], e["end"]) for e in entities)
    tokens = words_of(text)   # read by both finders
    forms = [t for t in find_forms(text, lang, gazetteer, tokens) if not _overlaps(t, taken)]
    taken = sorted(taken + [(t.start, t.end) for t in forms])
    found = [t for t in find(text, lang, gazetteer, tokens, strong_only=model_ran)
             if not _overlaps(t, taken) and (t.strong or not model_ran) and not place_forms.honorific(t.text, lang)
             and (_named_country(t) or not place_forms.after_government_body(text, t.start))]
    model_mentions, model_toponyms, labels = [], [], place_labels()
    for ent in entities:
        # label_raw that names a place (FAC: buildings); GiNZA's City, Country… too
        geocoded = ent.get("label_raw") in labels or "relabelled" in ent
        seat_of_power = ent["label"] == "ORG" and place_forms.seat(ent["text"]) is not None  # "the Kremlin said"
        if ent["label"] in ("MISC", "LOC") and (geocoded or ent["label"] == "MISC") or seat_of_power:
            topo = model_toponym(ent, text, gazetteer, lang)
            if geocoded or topo.form:
                model_mentions.append(ent)
                model_toponyms.append(topo)
    found = forms + found
    toponyms = model_toponyms + found
    places = one_sense_per_article(toponyms, rank(toponyms, text, lang, gazetteer, home))
    for ent, topo, place in zip(model_mentions, model_toponyms, places):
        ent["place"] = place.as_field() if place else None
        if place is None:
            ent["place_reason"] = "not_in_gazetteer"
        if topo.form:
            ent["place_form"] = topo.form
        if topo.by_home and place is not None:
            ent["place_prior"] = "home"
    added = [{"text": t.text, "label": "MISC" if t.form == "demonym" else "LOC",
              "label_raw": "NORP" if t.form == "demonym" else "LOC", "start": t.start, "end": t.end,
              "source": "gazetteer", "place": place.as_field(), **({"place_form": t.form} if t.form else {}),
              **({"place_prior": "home"} if t.by_home else {})}
             for t, place in zip(found, places[len(model_mentions):])
             if place is not None and not (t.form == "demonym" and t.text[:1].islower())]
    return sorted(entities + added, key=_SPAN), len(added) + changed


def _overlaps(topo: Toponym, taken: list[tuple[int, int]]) -> bool:
    """Whether the span meets one of `taken` (sorted, not overlapping each other): a bisection, as a long
    article has hundreds of mentions and candidate spans."""
    i = bisect_left(taken, (topo.end,))
    return i > 0 and taken[i - 1][1] > topo.start


def _named_country(topo: Toponym) -> bool:
    return any(c[0].feature_code in ("PCLI", "ADM1") for c in topo.candidates)


def one_sense_per_article(toponyms: Sequence[Toponym], places: list[Place | None]) -> list[Place | None]:
    """A name resolved once is the same place for the rest of the article: its mentions take the place
    most of them resolved to (the first of equals)."""
    chosen: dict[str, Counter] = {}
    keys = [topo.key for topo in toponyms]
    for topo, key, place in zip(toponyms, keys, places):
        if place is not None and not topo.form:
            chosen.setdefault(key, Counter())[place] += 1
    sense = {key: counts.most_common(1)[0][0] for key, counts in chosen.items()}   # once per name
    return [sense[key] if not t.form and key in sense else p for t, key, p in zip(toponyms, keys, places)]


def summaries(entities: Sequence[dict[str, Any]], gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """`places` (unique, most mentioned first) and `countries` of a record's resolved mentions."""
    gazetteer = gazetteer or shared()
    counts: Counter[int] = Counter()
    fields: dict[int, dict[str, Any]] = {}
    countries: Counter[str] = Counter()
    for ent in entities:
        place = ent.get("place")
        if place:
            counts[place["geonameid"]] += 1
            fields[place["geonameid"]] = place
            if place["country_code"]:
                countries[place["country_code"]] += 1
    top = max(countries.values(), default=0)
    return {
        "places": [{**fields[gid], "count": n} for gid, n in counts.most_common()],
        "countries": [{"code": cc, "name": gazetteer.country_name(cc), "count": n, "focus": 2 * n >= top}
                      for cc, n in countries.most_common()],
    }


def add_places(lang: str, text: str, result: dict[str, Any], gazetteer: Gazetteer | None = None,
               home: Home | None = None) -> dict[str, Any]:
    """The entity step's result for one record, with places: the hook called after NER (any language)."""
    # the gazetteer adds only strong names beside a model whose misses are rare (en, fr, ru, ja); beside the
    # project's own smaller models (pipeline/ner_weights/) it adds every name it can vouch for, as with no model
    gazetteer = gazetteer or shared()
    ner = result["ner"]
    own_model = ner["status"] == "ok" and ner.get("model") in own_models()
    model_ran = ner["status"] == "ok" and not own_model
    entities, added = locate(lang, text, result["entities"], model_ran, gazetteer, home, own_model)
    # organisations in capitals the project's own model missed, once places have taken theirs
    # (pipeline/stages/entities/acronyms.py)
    acronyms = acronym_organisations(text, entities, lang, lambda word: acronym_place(word, gazetteer)) \
        if own_model else []
    if acronyms:
        entities, added = sorted(entities + acronyms, key=_SPAN), added + len(acronyms)
    result["entities"] = entities
    if added:  # new mentions: the summary (and each mention's index into it) is computed again
        result["entity_summary"] = canonicalise(entities, lang)
    result.update(summaries(entities, gazetteer))
    return result
