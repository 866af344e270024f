"""One summary entry per real-world name within a record; every mention links to its entry.

Pure (no spaCy): the input is the mentions a model found, the output the record's `entity_summary`, and
each mention gets `entity`, the index of its entry. Matching keys ignore case, accents, hyphens and dashes,
periods and the shape of apostrophes (Etats-Unis = États Unis, d'Etat = d’État); honorifics and titles of
the record's language, and leading articles, are left out of the key (M. Trump = Trump). A shorter PER
name joins the one longer PER name of the record that ends with it (Poutine → Vladimir Poutine), but not
when two different longer names do (Trump beside Donald Trump and Melania Trump stays apart); full names
spelled two ways (Volodymyr / Volodomyr Zelensky) are one.
The entry's `name` is the fullest surface form (honorifics dropped), `count` all its mentions, `label`
the most frequent label of its mentions.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any, Sequence

_WORD = re.compile(r"\w+['’‘ʼ]?")   # elided words keep their apostrophe: l', d', o'
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})


def _phrases(*items: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(_fold(w) for w in _WORD.findall(item)) for item in items)


@lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    """Case- and accent-insensitive form of one word."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_APOSTROPHES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


# Titles that precede a name, by language (matched whole words, case and accents ignored). Single-letter
# ones are language-specific on purpose: French "M. Trump" is a title, English "M. Night" is a name.
_COMMON = ("dr", "prof", "sir", "lord", "lady", "dame")
HONORIFICS = {
    "fr": _phrases(*_COMMON, "m", "mm", "mme", "mmes", "mlle", "mlles", "monsieur", "messieurs", "madame",
                   "mesdames", "mademoiselle", "me", "maître", "docteur", "pr", "professeur", "président",
                   "présidente", "le président", "la présidente", "vice-président", "premier ministre",
                   "ministre", "chancelier", "chancelière", "général", "le général", "mgr", "monseigneur",
                   "pape", "le pape", "roi", "le roi", "reine", "la reine", "prince", "princesse", "cheikh",
                   "sénateur", "sénatrice", "maire", "juge"),
    "en": _phrases(*_COMMON, "mr", "mrs", "ms", "miss", "mx", "doctor", "professor", "president",
                   "vice president", "prime minister", "minister", "foreign minister", "chancellor",
                   "secretary", "secretary of state", "senator", "sen", "rep", "representative",
                   "congressman", "congresswoman", "gov", "governor", "gen", "general", "col", "colonel",
                   "king", "queen", "prince", "princess", "pope", "judge", "justice", "mayor", "rev",
                   "reverend", "sheikh"),
    "de": _phrases(*_COMMON, "herr", "frau", "präsident", "präsidentin", "bundeskanzler", "bundeskanzlerin",
                   "kanzler", "kanzlerin", "minister", "ministerin"),
    "es": _phrases(*_COMMON, "sr", "sra", "srta", "señor", "señora", "don", "doña", "presidente",
                   "presidenta", "el presidente", "la presidenta"),
}
ARTICLES = {"fr": frozenset({"le", "la", "les", "l'"}), "en": frozenset({"the"}),
            "de": frozenset({"der", "die", "das"}), "es": frozenset({"el", "la", "los", "las"})}
# Lower-case name particles: "Général de Gaulle" is still a title before a name.
_PARTICLES = frozenset({"de", "du", "des", "d'", "von", "van", "der", "den", "al", "el", "di", "da", "del",
                        "bin", "ibn", "ben"})
_LONGEST_TITLE = max(len(p) for phrases in HONORIFICS.values() for p in phrases)
_DEFAULT_HONORIFICS = _phrases(*_COMMON)


def _starts_a_name(words: Sequence[str]) -> bool:
    """Capitalised, after any lower-case particles ("de Gaulle", "von der Leyen")."""
    for word in words:
        if word[:1].isupper():
            return True
        if _fold(word) not in _PARTICLES:
            return False
    return False


@lru_cache(maxsize=65536)
def parse(text: str, lang: str, label: str = "") -> tuple[tuple[str, ...], str]:
    """(matching key, displayed name) of one mention: titles out of both, leading articles out of the key
    (and out of the name when written in lower case: "the European Union"), but never a person's ("Le Pen")."""
    spans = [(m.start(), m.group()) for m in _WORD.finditer(text)]
    folded = [_fold(w) for _s, w in spans]
    titles = HONORIFICS.get(lang, _DEFAULT_HONORIFICS)
    articles = ARTICLES.get(lang, frozenset()) if label != "PER" else frozenset()
    i = shown = 0
    while i < len(folded) - 1:
        size = next((n for n in range(min(_LONGEST_TITLE, len(folded) - 1 - i), 0, -1)
                     if tuple(folded[i:i + n]) in titles), 0)
        if size:
            i += size
            shown = i
        elif folded[i] in articles:
            i += 1
            shown = i if spans[i - 1][1][:1].islower() else shown
        else:
            break
    if shown and not _starts_a_name([w for _s, w in spans[shown:]]):
        i = shown = 0   # "Premier ministre britannique": the title is the entity, not a name's prefix
    key = folded[i:]
    if len(key) >= 2 and key[-1] == "s" and key[-2].endswith("'"):   # English possessive: Trump's
        key = key[:-2] + [key[-2][:-1]]
    name = text[spans[shown][0]:] if spans else text
    return tuple(key) or (_fold(text),), name


def _spelling_variants(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Two full names (2+ words) that differ by a letter or two in their given names, same surname: a
    transliteration or a typo of one person (Volodymyr / Volodomyr Zelensky), not two people (Donald /
    Melania Trump)."""
    return (len(a) == len(b) >= 2 and a[-1] == b[-1] and a != b
            and all(x == y or (x[0] == y[0] and len(x) >= 5 and SequenceMatcher(None, x, y).ratio() >= 0.85)
                    for x, y in zip(a[:-1], b[:-1])))


def _vote(labels: Sequence[str]) -> str:
    if len(set(labels)) == 1:   # the usual case, without a Counter
        return labels[0]
    return Counter(labels).most_common(1)[0][0]   # ties: the label seen first


def _fullness(name: str, key: tuple[str, ...], frequency: int, first: int) -> tuple:
    """Sort key of a surface form, fullest first: more words of the name, no extra words (an article, a
    possessive), accents kept, more frequent, not in capitals (a LONDON dateline), capitalised, seen first."""
    words, accents, capitals, lower_case = _shape(name)
    return (-len(key), words - len(key), -accents, -frequency, capitals, lower_case, first)


@lru_cache(maxsize=65536)
def _shape(name: str) -> tuple[int, int, bool, bool]:
    """What _fullness reads of the form itself, once per form: articles repeat their names."""
    accents = sum(1 for ch in unicodedata.normalize("NFD", name) if unicodedata.combining(ch))
    return len(_WORD.findall(name)), accents, name.isupper(), not name[:1].isupper()


def canonicalise(mentions: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The summary of a record's mentions; sets `entity` (index into the summary) on each mention."""
    parsed = [parse(m["text"], lang, m["label"]) for m in mentions]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, (key, _name) in enumerate(parsed):
        groups.setdefault(key, []).append(i)
    label = {key: mentions[idx[0]]["label"] if len(idx) == 1 else _vote([mentions[i]["label"] for i in idx])
             for key, idx in groups.items()}
    people = [key for key in groups if label[key] == "PER"]
    root = {key: key for key in groups}
    # spelling variants of one full name (Volodomyr = Volodymyr Zelensky): only names of as many words and
    # the same surname can be, so each is compared with the earlier names of its kind alone
    kinds: dict[tuple[int, str], list[tuple[str, ...]]] = {}
    for key in people:
        if len(key) >= 2:
            earlier = kinds.setdefault((len(key), key[-1]), [])
            root[key] = next((other for other in earlier if root[other] == other
                              and _spelling_variants(other, key)), key)
            earlier.append(key)
    people = [key for key in people if root[key] == key]
    ending_with: dict[tuple[str, ...], list[tuple[str, ...]]] = {}   # a name's last words -> the longer names
    for key in people:
        for size in range(1, len(key)):
            ending_with.setdefault(key[-size:], []).append(key)
    for short in people:
        longer = ending_with.get(short, [])
        # the longest names ending with it; one of them, or it stays on its own
        widest = [key for key in longer if not any(len(o) > len(key) and o[-len(key):] == key for o in longer)]
        if len(widest) == 1:
            root[short] = widest[0]
    members: dict[tuple[str, ...], list[int]] = {}
    for key, idx in groups.items():
        members.setdefault(root[root[key]], []).extend(idx)
    entries = []
    for idx in members.values():
        if len(idx) == 1:   # most entities are named once: their one form and label
            entries.append(({"name": parsed[idx[0]][1], "label": mentions[idx[0]]["label"], "count": 1}, idx))
            continue
        idx.sort()
        forms: dict[str, list] = {}   # surface form -> [its key, frequency, first mention]
        for i in idx:
            forms.setdefault(parsed[i][1], [parsed[i][0], 0, i])[1] += 1
        name = next(iter(forms)) if len(forms) == 1 else min(forms, key=lambda f: _fullness(f, *forms[f]))
        entries.append(({"name": name, "label": _vote([mentions[i]["label"] for i in idx]), "count": len(idx)},
                        idx))
    entries.sort(key=lambda e: (-e[0]["count"], e[0]["name"].casefold(), e[0]["name"]))
    for position, (_entry, idx) in enumerate(entries):
        for i in idx:
            mentions[i]["entity"] = position
    return [entry for entry, _idx in entries]
