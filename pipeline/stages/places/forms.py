"""Place mentions that are not a place's name: demonyms and adjectives ("Russian", "ukrainien", "die
Russen" -> Russia), AP-style abbreviations of US states, Canadian provinces and Australian states ("Ky.",
"W.Va.", "Ont.", "N.S.W."), and seats of power standing for their city ("White House"/"Maison Blanche" ->
Washington, "Kremlin" -> Moscow, "Pentagon" -> Arlington, Virginia, where it stands). A seat of power
resolves to its city and the mention is marked `place_form: metonym`: the news happens where the office
is, and the city is what a geoparser is scored on (GeoWebNews annotates metonyms with their city).
Also what is never a place: honorifics ("Ms.", "Mme") and the names of government bodies ("ministère de la
Défense", "Department of Defense": organisations).

Data: English demonyms from `countryinfo` (MIT); the rest is a curated table, data/place_forms.tsv (no
package ships demonyms in other languages, the AP abbreviations or seats of power).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from pathlib import Path

from pipeline.stages.entities.canonical import HONORIFICS
from pipeline.stages.places.gazetteer import PRIMARY, Gazetteer, name_key
from pipeline.stages.places.toponyms import Toponym, Words, _unspaced

TABLE = Path(__file__).with_name("data") / "place_forms.tsv"
DEMONYM, ABBREVIATION, METONYM = "demonym", "abbreviation", "metonym"
# A government body's head word, by language: "ministère (russe) des Affaires étrangères" is an organisation
_BODY_WORDS = ("ministère|ministre|département|secrétariat|secrétaire|ministry|minister|department|secretary|"
               "office|ministerium|minister|ministerio|ministro|ministero|ministério|ministerie|ministerstwo|"
               "министерство|министр|bakanlığı|bakanı")
GOVERNMENT_BODY = re.compile(rf"^(?:{_BODY_WORDS})\b", re.IGNORECASE)
# "... ministre ukrainien de la | Défense", "Department of | Defense": a name right after a body's head word,
# at most two words and a preposition away, is the body's field, not a place
_BODY_PREPOSITIONS, _BODY_ARTICLES = "de|des|du|d'|d’|of|for|für|del|della|do|da", "la|l'|l’|the|le|les"
_AFTER_BODY = re.compile(rf"\b(?:{_BODY_WORDS})(?:\s+\w+){{0,2}}?\s+(?:{_BODY_PREPOSITIONS})"
                         rf"(?:\s+(?:{_BODY_ARTICLES}))?\s*$", re.IGNORECASE)
# what _AFTER_BODY's match ends with before the name's spaces: the same words, tested first in a few characters
_BODY_TAIL = re.compile(rf"(?:{_BODY_PREPOSITIONS}|{_BODY_ARTICLES})$", re.IGNORECASE)
_BODY_TAIL_CHARS = max(len(w) for w in f"{_BODY_PREPOSITIONS}|{_BODY_ARTICLES}".split("|"))


@dataclass(frozen=True)
class Forms:
    demonyms: dict[tuple[str, str], tuple[str, bool]]   # (lang, key) -> (target, written in lower case)
    abbreviations: dict[str, tuple[str, bool]]          # "W.Va." -> ("US-WV", needs "Town, " before it)
    seats: dict[str, int]                                # name key -> the city's GeoNames id
    written: dict[str, set[str]]                         # lang -> the demonyms as written


def _french(form: str) -> list[str]:
    masculine, _, feminine = form.partition("|")
    if not feminine:
        feminine = masculine + ("ne" if masculine.endswith("ien") else "" if masculine.endswith("e") else "e")
    plural = masculine if masculine.endswith(("s", "x")) else masculine + "s"
    return [masculine, plural, feminine, feminine + "s"]


def _spanish(form: str) -> list[str]:
    masculine, _, feminine = form.partition("|")
    plain = masculine[:-2] + {"á": "a", "é": "e", "í": "i", "ó": "o"}.get(masculine[-2], masculine[-2]) + masculine[-1]
    if masculine.endswith("o"):
        return [masculine, masculine + "s", masculine[:-1] + "a", masculine[:-1] + "as"]
    if masculine.endswith(("e", "a")):
        return [masculine, masculine + "s"]
    if masculine.endswith("í"):
        return [masculine, masculine + "es", masculine + "s"]
    feminine = feminine or plain + "a"
    return [masculine, plain + "es", feminine, feminine + "s"]


def _german(form: str) -> list[str]:
    adjective, _, nouns = form.partition(";")
    return [adjective + ending for ending in ("", "e", "en", "er", "es", "em")] + [n for n in nouns.split(",") if n]


_INFLECT = {"fr": _french, "es": _spanish, "de": _german}


def _english_demonyms() -> dict[str, str]:
    from countryinfo import all_countries

    found: dict[str, tuple[int, str]] = {}
    for country in all_countries():
        info = country.info()
        code, population = (info.get("ISO") or {}).get("alpha2"), info.get("population") or 0
        for form in (info.get("demonym") or "").split(","):
            form = form.strip()
            for written in {form, form + "s"} if form.endswith(("n", "i")) else {form}:
                if form and code and population > found.get(written, (-1, ""))[0]:
                    found[written] = (population, code)   # "Indian": India, not the Indian Ocean Territory
    return {form: code for form, (_pop, code) in found.items()}


@lru_cache(maxsize=1)
def forms() -> Forms:
    demonyms: dict[tuple[str, str], tuple[str, bool]] = {}
    written_forms: dict[str, set[str]] = {"en": set()}
    for written, code in _english_demonyms().items():
        demonyms[("en", name_key(written))] = (code, False)
        written_forms["en"].add(written)
    abbreviations, seats = {}, {}
    for line in TABLE.read_text("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        kind, lang, target, written = line.split("\t")
        if kind == "seat":
            seats.update((name_key(w), int(target)) for w in written.split(";"))
        elif kind == "abbreviation":
            for w in written.split(";"):
                abbreviations[w.rstrip(",")] = (target, w.endswith(","))
        else:
            inflected = _INFLECT[lang](written) if lang in _INFLECT else written.split(";")
            for w in inflected:
                demonyms[(lang, name_key(w))] = (target, w.islower())
                written_forms.setdefault(lang, set()).add(w)
    return Forms(demonyms, abbreviations, seats, written_forms)


@lru_cache(maxsize=16384)   # asked of every model place mention and every gazetteer match
def honorific(surface: str, lang: str) -> bool:
    """"Ms.", "Mr", "Mme", "Dr.": a title, never a place."""
    key = tuple(w for w in name_key(surface).split())
    return any(key in HONORIFICS[lang_] for lang_ in {lang, "en"} if lang_ in HONORIFICS)


def government_body(surface: str) -> bool:
    return bool(GOVERNMENT_BODY.match(surface))


def after_government_body(text: str, start: int) -> bool:
    end = start
    while end and text[end - 1].isspace():
        end -= 1
    # the whole search only where a preposition or an article ends right before the name: few mentions
    return (_BODY_TAIL.search(text, max(0, end - _BODY_TAIL_CHARS), end) is not None
            and _AFTER_BODY.search(text, max(0, start - 60), start) is not None)


def demonym(surface: str, lang: str) -> str | None:
    """The country code (or a continent's GeoNames id) a demonym or adjective stands for."""
    found = forms().demonyms.get((lang, name_key(surface)))
    if found is None or (surface.islower() and not found[1]):
        return None   # "polish" is a verb: an English demonym is capitalised
    return found[0]


@lru_cache(maxsize=16384)   # asked of every model mention, several times
def seat(surface: str) -> int | None:
    key = name_key(surface)
    if key.startswith(_ARTICLES):   # most names have none: one test
        for article in _ARTICLES:
            if key.startswith(article):
                key = key[len(article):]
    return forms().seats.get(key)


_ARTICLES = ("the ", "la ", "le ", "l'", "el ", "der ", "das ")


_WORD = re.compile(r"[^\W\d_][\w]*(?:['’-][^\W\d_]\w*)*")
# not after a letter or a period; the look-behind after the capital, so the engine skips to the next capital
_ABBREVIATION = re.compile(r"[A-Z](?<![\w.][A-Z])[A-Za-z]{0,4}\.(?: ?[A-Z][a-z]{0,2}\.)*")
_TOWN_COMMA = re.compile(r"[A-Z][\w.'’-]*,\s$")


@lru_cache(maxsize=64)
def _by_first_word(lang: str) -> tuple[dict[str, list[tuple[str, str]]], tuple[str, ...]]:
    """(first word, case-folded -> [(whole form case-folded, kind)], longest first; the seats written in
    unspaced scripts): a text's words are looked up in a dict, not matched against a thousand patterns."""
    table, starts = forms(), {}
    seats = [w for line in TABLE.read_text("utf-8").splitlines() if line.startswith("seat\t")
             for w in line.split("\t")[3].split(";")]
    unspaced = tuple(w for w in seats if any(_unspaced(ch) for ch in w))
    for written, kind in [(w, METONYM) for w in seats if w not in unspaced] + \
            [(w, DEMONYM) for w in table.written.get(lang, ())]:
        first = _WORD.match(written)
        if first:
            starts.setdefault(first.group().casefold(), []).append((written.casefold(), kind))
    for forms_ in starts.values():
        forms_.sort(key=lambda f: -len(f[0]))
    return starts, unspaced


_LOWER_CASE_ADJECTIVES = frozenset({"de", "fr", "es"})   # languages whose demonym adjectives are lower-case


def _names_start(text: str, start: int, end: int) -> bool:
    """A capitalised form with a capitalised word right after it: the start of a longer name."""
    return text[start].isupper() and text[end:end + 1] == " " and text[end + 1:end + 2].isupper()


def _toponym(start: int, end: int, text: str, place, form: str) -> Toponym:
    return Toponym(start, end, text[start:end], ((place, PRIMARY, frozenset()),), False, True, form=form)


def find_forms(text: str, lang: str, gazetteer: Gazetteer, tokens: Words | None = None) -> list[Toponym]:
    """Demonyms, abbreviations and seats of power in the text, in text order, never overlapping. `tokens`:
    the text's words as toponyms.find reads them, the same as this module's _WORD in a text without
    combining marks (the first word of a form never holds a period)."""
    table, found = forms(), []
    starts, unspaced = _by_first_word(lang)
    if tokens is not None and not tokens.marks:
        words, offsets = tokens.words, tokens.starts
    else:
        matches = list(_WORD.finditer(text))
        words, offsets = list(map(re.Match.group, matches)), list(map(re.Match.start, matches))
    # only the words that open a form get a Python step
    for word, at in compress(zip(words, offsets), map(starts.__contains__, map(str.casefold, words))):
        for written, kind in starts[word.casefold()]:
            end = at + len(written)
            if text[at:end].casefold() == written and not text[end:end + 1].isalnum():
                if kind == DEMONYM and lang in _LOWER_CASE_ADJECTIVES and _names_start(text, at, end):
                    break   # "Europäischen Union", "Deutsche Bank": an adjective written capitalised opens a name
                target = seat(text[at:end]) if kind == METONYM else demonym(text[at:end], lang)
                if target is not None:
                    found.append(_toponym(at, end, text, gazetteer.target(str(target)), kind))
                    break
    for written in unspaced:   # "白宫", "ホワイトハウス": a substring search each, a few of them
        at = text.find(written)
        while at >= 0:
            found.append(_toponym(at, at + len(written), text, gazetteer.target(str(seat(written))), METONYM))
            at = text.find(written, at + len(written))
    for m in _ABBREVIATION.finditer(text):
        entry = table.abbreviations.get(m.group())
        if entry and (not entry[1] or _TOWN_COMMA.search(text, max(0, m.start() - 40), m.start())):
            found.append(_toponym(m.start(), m.end(), text, gazetteer.target(entry[0]), ABBREVIATION))
    found.sort(key=lambda t: (t.start, -t.end))
    kept, last_end = [], -1
    for topo in found:
        if topo.start >= last_end and topo.candidates[0][0] is not None:
            kept.append(topo)
            last_end = topo.end
    return kept


def warm_up(gazetteer: Gazetteer, langs) -> Gazetteer:
    """Load once, before the first article, what every article's places read: the forms tables, the
    countries and regions, the common words of `langs`, the model labels that name places (~0.1 s; else the
    first articles pay it)."""
    from pipeline.stages.entities.adapters import own_models, place_labels

    own_models()
    place_labels()
    gazetteer.open_tries()
    gazetteer.country_name("US")
    gazetteer.word_languages()
    forms()
    for lang in langs:
        gazetteer.function_words(lang)
        _by_first_word(lang)
    return gazetteer
