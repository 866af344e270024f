"""A story's top entities, spelling variants of one name merged ("Volodymyr Zelensky" = "Volodomyr Zelensky",
"Zelensky" = "Volodymyr Zelensky"), for the story summary. Fuzzy matching by rapidfuzz on folded names."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

from pipeline.stages.canonical import _fold

SIMILAR = 88   # rapidfuzz ratio (0-100) from which two names of one label are one spelling


@lru_cache(maxsize=65536)   # a story's summary is merged again at every article that joins it
def _folded(name: str) -> str:
    return " ".join(_fold(w) for w in name.split())


def same_name(a: str, b: str, label: str) -> bool:
    fa, fb = _folded(a), _folded(b)
    if fuzz.ratio(fa, fb) >= SIMILAR:
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
