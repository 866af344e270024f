"""A story's top entities, spelling variants of one name merged ("Volodymyr Zelensky" = "Volodomyr Zelensky",
"Zelensky" = "Volodymyr Zelensky"), for the story summary. Fuzzy matching by rapidfuzz on folded names.

Across scripts (a story's articles in several languages: Трамп / Trump / ترامب / トランプ / 트럼프), names are
compared by a consonant skeleton of their Latin transliteration (Unidecode): vowels, w, y and h dropped (Arabic
writes few vowels, Japanese and Korean add them), l read as r and b as p (Japanese, Arabic), n before p as m
(トランプ "toranpu"), doubled letters once. Trump, Tramp, trmb, toranpu, teureompeu and ttrmp are all
"trmp". Only within one story and only between names in different scripts, where a wrong merge is unlikely;
skeletons shorter than 3 letters never match."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from unidecode import unidecode

from pipeline.stages.entities.canonical import _fold

SIMILAR = 88   # rapidfuzz ratio (0-100) from which two names of one label are one spelling


@lru_cache(maxsize=65536)   # a story's summary is merged again at every article that joins it
def _folded(name: str) -> str:
    return " ".join(_fold(w) for w in name.split())


_VOWELS = str.maketrans({"a": None, "e": None, "i": None, "o": None, "u": None, "y": None, "w": None, "h": None,
                         "l": "r", "b": "p"})


@lru_cache(maxsize=65536)
def skeleton(name: str) -> tuple[str, ...]:
    """Consonant skeleton of each word of a name's transliteration: "Дональд Трамп" -> ("dnrd", "trmp")."""
    words = re.split(r"[^a-z]+", unidecode(name).lower().replace("'", ""))
    out = []
    for word in filter(None, words):
        bones = word.translate(_VOWELS).replace("np", "mp").replace("nb", "mp")
        out.append(re.sub(r"(.)\1+", r"\1", bones))
    return tuple(out)


def _latin(name: str) -> bool:
    return all(ch < "\u0250" for ch in name if ch.isalpha())


def same_across_scripts(a: str, b: str, label: str) -> bool:
    if _latin(a) == _latin(b) and _latin(a):
        return False
    sa, sb = skeleton(a), skeleton(b)
    if not sa or not sb or min(map(len, sa + sb)) < 3:
        return False
    if label != "PER":
        return sa == sb
    short, long_ = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    return short[-1] == long_[-1] and all(w in long_ for w in short)


def same_name(a: str, b: str, label: str) -> bool:
    fa, fb = _folded(a), _folded(b)
    if fuzz.ratio(fa, fb) >= SIMILAR or same_across_scripts(a, b, label):
        return True
    if label != "PER":
        return False
    # a person's shorter form: the last names agree and the shorter's words fit the longer's
    wa, wb = fa.split(), fb.split()
    short, long_ = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return fuzz.ratio(short[-1], long_[-1]) >= SIMILAR and all(
        any(fuzz.ratio(w, x) >= SIMILAR for x in long_) for w in short)


def merge_names(names: Counter) -> list[dict[str, Any]]:
    """Counter of (name, label) -> [{name, label, count}], most mentioned first; each group is shown by its
    most frequent spelling (the longest on a tie)."""
    groups: list[list[tuple[str, str, int]]] = []
    for (name, label), count in sorted(names.items(), key=lambda kv: (-kv[1], -len(kv[0][0]), kv[0][0])):
        for group in groups:
            if group[0][1] == label and any(same_name(name, other, label) for other, _l, _c in group):
                group.append((name, label, count))
                break
        else:
            groups.append([(name, label, count)])
    merged = [{"name": g[0][0], "label": g[0][1], "count": sum(c for _n, _l, c in g)} for g in groups]
    return sorted(merged, key=lambda e: (-e["count"], e["name"]))
