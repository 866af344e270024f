"""Place names found by gazetteer in text of any language, precision first.

A capitalised word sequence (1-4 words, lower-case particles inside: "Frankfurt am Main", "Rio de Janeiro")
is a place name when the gazetteer knows it and the evidence is enough:
- a country or continent named in the article's language or in English: always (unless part of a longer
  capitalised name: "Chad Smith", "Jordan Henderson", "Washington Post");
- a city: population >= 15,000 (50,000 when the form is only an alternate name); and when its name is also
  a common word of the language (wordfreq Zipf >= 4: "Essen", "Nice", "Reading") or the word only opens a
  sentence, only with support: its country named elsewhere in the article, or a qualifier ("Essen,
  Germany"). Capitals and cities of a million people need none.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple
from functools import lru_cache
from itertools import accumulate, compress
from operator import not_

from pipeline.stages.places.gazetteer import (ALTERNATE, LOCALISED, PRIMARY, STRONG_PLACES, UNAMBIGUOUS_POPULATION,
                                             Gazetteer, Place, name_key)
from pipeline.stages.places.inflection import variants


def _mark_ranges() -> str:
    """The combining marks of the BMP as a character-class body: a word in Devanagari ("मुंबई"), Arabic with
    vowel signs or decomposed Latin carries them, and `\\w` alone would cut it into pieces."""
    ranges, start = [], None
    for code in range(0x300, 0x10000):
        mark = unicodedata.category(chr(code)).startswith("M")
        if mark and start is None:
            start = code
        elif not mark and start is not None:
            ranges.append(f"\\u{start:04x}-\\u{code - 1:04x}")
            start = None
    return "".join(ranges)


_MARKS = _mark_ranges()
_WORD = rf"[^\W\d_][\w{_MARKS}]*+"
_MARK = re.compile(f"[{_MARKS}]")   # a combining mark: \w alone cuts a word there
# "U.S." or a word with its apostrophe and hyphen parts; the first letter outside the alternation lets the
# regex engine skip to the next letter instead of trying both branches at every character (same matches).
# Possessive repeats (*+, ++): nothing after them could match what they gave back, so the engine keeps no
# backtracking state (same matches: 100,000 random strings and the test texts compared, 10 % faster)
_TOKEN = re.compile(rf"[^\W\d_](?:\.(?:[^\W\d_]\.)++|[\w{_MARKS}]*+(?:['’-]{_WORD})*+)")
# the same words in a text without combining marks, a third faster (no character class of marks to test)
_PLAIN_TOKEN = re.compile(r"[^\W\d_](?:\.(?:[^\W\d_]\.)++|\w*+(?:['’-][^\W\d_]\w*+)*+)")
# split() with the token as a group returns the words between the text around them (no match object per word:
# those are tracked by the cyclic garbage collector, and 700 of them an article set off its collections)
_TOKEN_SPLIT, _PLAIN_TOKEN_SPLIT = (re.compile(f"({token.pattern})") for token in (_TOKEN, _PLAIN_TOKEN))
_PARTICLES = frozenset({"de", "del", "la", "le", "los", "las", "am", "an", "der", "im", "sur", "upon", "on",
                        "of", "di", "da", "do", "dos", "das", "y", "i", "en", "nad", "pod", "al", "el"})
_SENTENCE_END = re.compile(r"(?:^|[.!?:;»\"”\n]\s*)$")
MAX_WORDS = 4
MIN_POPULATION, MIN_POPULATION_ALTERNATE, SELF_EVIDENT_POPULATION = 15_000, 50_000, 1_000_000
COMMON_ZIPF = 4.0


@dataclass
class Toponym:
    start: int
    end: int
    text: str
    candidates: tuple[tuple[Place, int, frozenset[str]], ...]
    needs_context: bool   # a common word or sentence-initial: kept only if its country is named elsewhere
    strong: bool          # a country/continent name, or a big unambiguous city: safe to add to a model's output
    by_home: bool = False  # the source's home decided between its candidates (places.rank)
    form: str = ""        # not a name: "demonym", "abbreviation" or "metonym" (pipeline/stages/places/forms.py)

    @property
    def key(self) -> str:
        return name_key(self.text)


def _capitalised(word: str) -> bool:
    """Capitalised, or in a script without case (Arabic, Devanagari, Hangul): any word may be a name."""
    first = word[:1]
    if first.isupper():
        return True
    return not first.islower() and first.isalpha() and not _unspaced(first)


def _unspaced(ch: str) -> bool:
    """Chinese and Japanese: names are found inside runs of characters (find_unspaced)."""
    return "\u3040" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


MAX_UNSPACED = 6   # characters of a Chinese or Japanese place name looked up inside a run


def find_unspaced(start: int, run: str, lang: str, gazetteer: Gazetteer) -> list[Toponym]:
    """Place names inside a run of Chinese or Japanese characters ("他在北京说"), longest first."""
    keys = gazetteer.unspaced_known(run[i:i + n] for i in range(len(run))
                                    for n in range(2, min(MAX_UNSPACED, len(run) - i) + 1))
    out, i = [], 0
    while i < len(run):
        for n in range(min(MAX_UNSPACED, len(run) - i), 1, -1):
            surface = run[i:i + n]
            if surface in keys:
                evidence = _evidence_of(lang, surface, surface, False, gazetteer)
                if evidence is not None:
                    out.append(Toponym(start + i, start + i + n, surface, gazetteer.candidates(surface), *evidence))
                    i += n - 1
                    break
        i += 1
    return out


def _self_evident(place: Place) -> bool:
    return place.feature_code in ("PPLC", "PCLI") or (place.feature_class == "P"
                                                     and place.population >= SELF_EVIDENT_POPULATION)


def _named_area(place: Place) -> bool:
    """A country, a continent or a US state: recognised on its name alone. Another first-level region
    (England, Ontario) is recognised like a city, by its own name; a county ("Orange", "Lincoln") only
    when the model finds it."""
    return place.feature_code in ("PCLI", "CONT") or (place.feature_code == "ADM1" and place.country_code == "US")


@lru_cache(maxsize=32768)
def _evidence_of(lang: str, surface: str, key: str, sentence_start: bool,
                 gazetteer: Gazetteer) -> tuple[bool, bool] | None:
    """_evidence of the places named by `key`, once per name: an article repeats its names, and so do articles."""
    return _evidence(lang, surface, gazetteer.candidates(key), sentence_start, gazetteer)


def _evidence(lang: str, surface: str, candidates, sentence_start: bool,
              gazetteer: Gazetteer) -> tuple[bool, bool] | None:
    """(needs_context, strong) for a gazetteer match, or None when it cannot be a place name here."""
    zipf = gazetteer.zipf(name_key(surface), lang)
    if surface.casefold() in gazetteer.function_words(lang) and not any(
            _self_evident(c[0]) and (c[1] == PRIMARY or {lang, "en"} & c[2] or len(surface) >= 5
                                   or not surface[:1].isupper()) for c in candidates):
        return None  # "We", "In", "Me" opening a sentence; not "Berlin", "北京", "서울", frequent as they are
    if surface.isupper() and len(surface) > 4 and not surface.replace(".", "").isalpha():
        return None
    areas = [c for c in candidates if _named_area(c[0]) and (c[1] != LOCALISED or {lang, "en"} & c[2])]
    if surface.replace(".", "").isupper() and len(surface.replace(".", "")) <= 4:
        # "US", "UK", "U.S.": only the alias list, never a city's airport code or an acronym
        areas = [c for c in areas if c[0].feature_code == "PCLI"]
        return (False, True) if areas else None
    if areas:  # capitalised mid-sentence, "Turkey" or "Chad" is the country
        common_opener = sentence_start and zipf >= 4.5
        return common_opener, not common_opener
    cities = [c for c in candidates if (c[0].feature_class == "P" or (c[0].feature_code == "ADM1" and c[1] == PRIMARY))
              and c[0].population >= (MIN_POPULATION_ALTERNATE if c[1] == ALTERNATE else MIN_POPULATION)]
    towns = {(c[0].country_code, c[0].admin1) for c in cities if c[0].feature_class == "P"}
    # a region named after its own town ("Berlin", "New York"): the town stands for both here
    cities = [c for c in cities if c[0].feature_class == "P" or (c[0].country_code, c[0].admin1) not in towns]
    if not cities:
        return None
    biggest = max(cities, key=lambda c: c[0].population)[0]
    self_evident = _self_evident(biggest)
    word_frequency = zipf
    common = word_frequency >= COMMON_ZIPF and not self_evident
    needs_context = common or (sentence_start and word_frequency >= 3.0 and not self_evident)
    others = sorted((c[0].population for c in candidates if c[0] is not biggest), reverse=True)
    unambiguous = biggest.population >= UNAMBIGUOUS_POPULATION and (not others or biggest.population >= 5 * others[0])
    return needs_context, unambiguous and not needs_context


class Words(NamedTuple):
    """A text's words (_TOKEN) with their offsets, in lists made in C: read by find and forms.find_forms."""
    words: list[str]
    starts: list[int]
    ends: list[int]
    marks: bool   # the text has combining marks


def words_of(text: str) -> Words:
    marks = not text.isascii() and _MARK.search(text) is not None
    parts = (_TOKEN_SPLIT if marks else _PLAIN_TOKEN_SPLIT).split(text)   # gap, word, gap, word, ..., gap
    offsets = list(accumulate(map(len, parts)))   # where each part ends: a word's start, then its end
    return Words(parts[1::2], offsets[0:-1:2], offsets[1::2], marks)


def find(text: str, lang: str, gazetteer: Gazetteer, tokens: Words | None = None,
         strong_only: bool = False) -> list[Toponym]:
    """Gazetteer matches in text order, longest first at each position, never overlapping. The words are
    regex matches (a lower-case word is passed over without a Python step) and each adjacent pair is judged once.
    `strong_only` (beside a NER model): only the strong matches; the others still take their words."""
    words, starts, ends, _marks = tokens or words_of(text)
    lookup = _lookup_strong if strong_only else _lookup
    function_words = gazetteer.function_words(lang)
    out: list[Toponym] = []
    count, i = len(words), 0
    # most words are lower-case: nothing more to ask of them, and they are skipped without a Python step each
    for at in compress(range(count), map(not_, map(str.islower, words))):
        if at < i:   # inside the name just found
            continue
        i = at
        word, start = words[i], starts[i]
        if word[0] > "\u303f" and _unspaced(word[0]):   # no call for a Latin or Cyrillic word
            out += find_unspaced(start, word, lang, gazetteer)
            i += 1
            continue
        if not (word[0].isupper() or _capitalised(word)):
            i += 1
            continue
        match, reach, limit = None, 1, min(MAX_WORDS, count - i)
        while reach < limit:   # the words of one name from here: each pair checked once, not once per span length
            gap, following = text[ends[i + reach - 1]:starts[i + reach]], words[i + reach]
            # one space or hyphen, then a capitalised word or a particle
            if not ((gap == " " or gap == "-")
                    and (following[0].isupper() or following in _PARTICLES
                         or (not following[0].islower() and _capitalised(following)))):
                break
            reach += 1
        for n in range(reach, 0, -1):
            if n > 1 and not (words[i + n - 1][0].isupper() or _capitalised(words[i + n - 1])):
                continue
            surface = text[start:ends[i + n - 1]]
            key, candidates = lookup(surface, gazetteer)
            if candidates:
                match = (n, surface, key, candidates)
                break
        if match is None:   # an inflected form: "Москве", "İstanbul'da", "بالقاهرة"
            found = _inflected(word, lang, gazetteer)
            if found is None:
                i += 1
                continue
            offset, length, key, candidates = found
            start, surface = start + offset, text[start + offset:start + offset + length]
            match = (1, surface, key, candidates)
        n, surface, key, candidates = match
        if candidates is _NOT_STRONG:
            i += n
            continue
        sentence_start = bool(_SENTENCE_END.search(text[max(0, start - 3):start]))
        inside_longer_name = word[0].isupper() and (   # caseless scripts: every word looks like a name
            (i and text[ends[i - 1]:start] == " " and _name_word_in(words[i - 1], function_words)
             and not _SENTENCE_END.search(text[max(0, starts[i - 1] - 3):starts[i - 1]]))
            or (i + n < count and text[ends[i + n - 1]:starts[i + n]] == " "
                and _name_word_in(words[i + n], function_words)))
        evidence = None if inside_longer_name else _evidence_of(lang, surface, key, sentence_start, gazetteer)
        if evidence is not None:
            out.append(Toponym(start, start + len(surface), surface, candidates, *evidence))
        i += n
    return out


@lru_cache(maxsize=32768)
def _lookup(surface: str, gazetteer: Gazetteer) -> tuple[str, tuple]:
    """(name key, candidates) of a span: once per span written so, as articles repeat their names."""
    key = name_key(surface)
    return key, gazetteer.candidates(key)


_NOT_STRONG = ((None, PRIMARY, frozenset()),)   # a name of the index none of whose places can be strong


@lru_cache(maxsize=32768)
def _lookup_strong(surface: str, gazetteer: Gazetteer) -> tuple[str, tuple]:
    """_lookup where only strong names are wanted: a name none of whose places can be strong is not queried."""
    key = name_key(surface)
    strong = gazetteer.keys_of_places(STRONG_PLACES)
    if strong is None or key in strong:
        return _lookup(surface, gazetteer)
    return key, _NOT_STRONG if gazetteer.known(key) else ()


@lru_cache(maxsize=32768)
def _inflected(word: str, lang: str, gazetteer: Gazetteer) -> tuple[int, int, str, tuple] | None:
    """(offset, length, key, candidates) of the biggest place an inflected word may name: "России", not Ross."""
    found = [(offset, length, key, gazetteer.candidates(key)) for offset, length, key in variants(word, lang)]
    return max((f for f in found if f[3]), default=None, key=lambda v: max(c[0].population for c in v[3]))


def _name_word_in(word: str, function_words: frozenset[str]) -> bool:
    first = word[0]   # most words beside a name are capitalised or lower-case: no call for them
    return (first.isupper() or (not first.islower() and _capitalised(word))) and word.casefold() not in function_words
