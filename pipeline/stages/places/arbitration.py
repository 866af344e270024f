"""NER and gazetteer arbitration: a model's label follows the evidence of the article and the gazetteer.

- a title ("Ms.", "Mme") tagged as a place is no entity at all;
- a government body tagged as a place ("département d'Etat", "Department of Defense") is an organisation,
  and so is the field of a body's title ("le ministre ukrainien de la | Défense" is not La Défense, Paris),
  unless it names a country or a first-level region ("Foreign Minister of Ukraine");
- a name tagged PER that is a well-known place (a capital, a country, a city of 100,000 people), also in an
  inflected form ("у Франкфурті"), when no person of the article bears it ("Merz later visited Gdansk"), is a place, and so is a name of several
  words tagged MISC that is a region's own name ("Rapides Parish"); and a LOC mention the
  gazetteer does not know that is the surname of a person of the article ("Zelensky") is that person;
- beside the project's own models (`own_model`), an acronym tagged LOC that names no well-known place and no
  country ("NATO": Nato, a town of 5,000 in the Philippines; not "USA", "СССР") is an organisation (beside
  the PyPI models it cost 0.1 F1 on validation data: their LOC acronyms are mostly right).
A changed mention keeps the model's `label_raw` and says what happened in `relabelled` {from, reason}.
"""

from __future__ import annotations

from typing import Any

from pipeline.stages.entities.acronyms import COUNTRY_ACRONYMS
from pipeline.stages.places import forms as place_forms
from pipeline.stages.places import inflection
from pipeline.stages.places.gazetteer import LOCALISED, PRIMARY, Gazetteer, name_key

PLACE_LABELS = frozenset({"LOC", "GPE"})
WELL_KNOWN_CITY = 100_000


def _relabel(ent: dict[str, Any], label: str, reason: str) -> None:
    ent["relabelled"] = {"from": ent["label"], "reason": reason}
    ent["label"] = label


def _well_known(keys: list[str], gazetteer: Gazetteer) -> bool:
    return any(p.feature_code in ("PPLC", "PCLI") or (p.feature_class == "P" and p.population >= WELL_KNOWN_CITY)
               for k in keys for p, _kind, _langs in gazetteer.candidates(k))


def _big(place) -> bool:
    return place.feature_code in ("PCLI", "PPLC", "ADM1") or place.population >= WELL_KNOWN_CITY


def acronym_place(word: str, gazetteer: Gazetteer) -> bool:
    """Whether an acronym may be a place: a country's short name ("USA", "UK") or any name of a country, a
    capital, a region or a large city. A town's own name written so ("NATO": Nato, "UN": Un) does not count."""
    return any(kind == LOCALISED or _big(p) for p, kind, _l in gazetteer.candidates(name_key(word)))


def _acronym(word: str) -> bool:
    return 2 <= len(word) <= 6 and word.isalpha() and word.isupper() and word not in COUNTRY_ACRONYMS


def _well_known_place(word: str, key: str, lang: str, gazetteer: Gazetteer) -> bool:
    """The name, or the name an inflected word is a form of ("Франкфурті" Frankfurt, "Каїрі" Cairo)."""
    return _well_known([key] + [k for _o, _l, k in inflection.variants(word, lang) if k != key], gazetteer)


def _split_leading_place(ent: dict[str, Any], lang: str, gazetteer: Gazetteer) -> list[dict[str, Any]]:
    """A person's span (PER: arbitrate asks of no other) that begins with a well-known place in an inflected
    form, the name after it of two words or more ("України Володимир Зеленський": Ukraine's president's title
    cut short): the place and the person, two mentions. A place's own name leading a name ("Santiago Abascal
    Conde") is left alone."""
    lead, _space, rest = ent["text"].partition(" ")
    if len(rest.split()) < 2 or gazetteer.candidates(name_key(lead)) \
            or not _well_known([k for _o, _l, k in inflection.variants(lead, lang)], gazetteer):
        return [ent]
    place = {**ent, "text": lead, "end": ent["start"] + len(lead)}
    _relabel(place, "LOC", "place_name")
    return [place, {**ent, "text": rest, "start": ent["end"] - len(rest)}]


def _abbreviated_region(ent: dict[str, Any], text: str) -> bool:
    written = ent["text"] + "." if text[ent["end"]:ent["end"] + 1] == "." else ent["text"]
    found = place_forms.forms().abbreviations.get(written)
    return found is not None and (not found[1] or text[max(0, ent["start"] - 2):ent["start"]] == ", ")


def arbitrate(entities: list[dict[str, Any]], text: str, lang: str,
              gazetteer: Gazetteer, own_model: bool = False) -> tuple[list[dict[str, Any]], int]:
    """(entities, how many changed): honorific places dropped, labels changed in place."""
    kept = [e for e in entities if not (e.get("label_raw") in PLACE_LABELS and place_forms.honorific(e["text"], lang))]
    changed = len(entities) - len(kept)
    split = [part for e in kept for part in (_split_leading_place(e, lang, gazetteer) if e["label"] == "PER" else (e,))]
    changed, kept = changed + len(split) - len(kept), split   # a span cut in two: one change
    people = [name_key(e["text"]).split() for e in kept if e["label"] == "PER"]
    surnames = {words[-1] for words in people if len(words) >= 2}
    for ent in kept:
        key = name_key(ent["text"])
        if own_model and ent["label"] == "LOC" and _acronym(ent["text"]) and not acronym_place(ent["text"], gazetteer):
            _relabel(ent, "ORG", "acronym")
            changed += 1
        elif ent.get("label_raw") in PLACE_LABELS:
            if place_forms.government_body(ent["text"]):
                _relabel(ent, "ORG", "government_body")
            elif (place_forms.seat(ent["text"]) is None   # the regex search last: the costliest test
                  and not any(p.feature_code in ("PCLI", "ADM1") for p, _k, _l in gazetteer.candidates(key))
                  and place_forms.after_government_body(text, ent["start"])):
                _relabel(ent, "ORG", "government_body")
            elif key in surnames and not gazetteer.candidates(key):
                _relabel(ent, "PER", "person_in_article")
            else:
                continue
            changed += 1
        elif ent["label"] != "LOC" and _abbreviated_region(ent, text):
            _relabel(ent, "LOC", "place_name")   # "Toronto, Ont." with "Ont" tagged PER
            changed += 1
        elif ent["label"] == "MISC" and " " in key and any(
                p.feature_class == "A" and kind == PRIMARY for p, kind, _l in gazetteer.candidates(key)):
            _relabel(ent, "LOC", "place_name")   # "Rapides Parish" tagged NORP: a region's own name
            changed += 1
        elif ent["label"] == "PER" and " " not in key and not any(key in words for words in people if len(words) >= 2) \
                and _well_known_place(ent["text"], key, lang, gazetteer):
            _relabel(ent, "LOC", "place_name")
            changed += 1
    return kept, changed
