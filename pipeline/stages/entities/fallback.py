"""Which NER model tags a record whose detected language has none.

Letter n-gram detectors misjudge text that is mostly names and numbers: an English sports results table
("Hajduk 2 Proleter 1 ...") comes out Dutch, Indonesian, Latin or undecided, and then got no entities at
all although an English model was there. Function words are the better witness for such text: names and
figures carry none, the few words of prose that are left ("Results of ... played on Saturday") do.

Rule, for a record whose language has no installed model (or is `und`), in this order:
1. the source's declared language (`lang_hint`) when it has a model;
2. else, if the text is Latin-script: the modelled language whose stop words (spaCy's lists) make up the
   largest share of the words, provided that share is at least MIN_SHARE and larger than the stop-word
   share of the detector's answer and of its runner-up (so a real German or Dutch article, full of its own
   function words, stays untagged rather than getting English NER over German prose).
Otherwise no model: `no_model`, as before. The record's `language` field is never changed; `ner.language`
says which model language tagged it and `ner.fallback` why.
"""

from __future__ import annotations

import importlib
import re
from functools import lru_cache
from typing import Any

MIN_SHARE = 0.08        # English prose runs at 40-50 % stop words; a results table with a title line ~10 %
MIN_WORDS = 5
SAMPLE_CHARS = 3000     # enough words to judge; the cost stays flat for long articles
_WORD = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=None)
def stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop-word list for a language, empty when spaCy has none."""
    try:
        return frozenset(importlib.import_module(f"spacy.lang.{lang}.stop_words").STOP_WORDS)
    except (ImportError, AttributeError):
        return frozenset()


def latin_script(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum(ch < "\u0250" for ch in letters) >= 0.9 * len(letters)


def stop_share(words: list[str], lang: str) -> float:
    stops = stop_words(lang)
    return sum(w in stops for w in words) / len(words) if words and stops else 0.0


def choose(language: dict[str, Any], text: str, modelled: set[str],
           lang_hint: str | None = None) -> tuple[str, str | None]:
    """(language whose model tags the text, why a fallback was taken or None)."""
    code = language.get("code")
    if code in modelled:
        return code, None
    hint = (lang_hint or "").split("-")[0].lower()
    if hint in modelled:
        return hint, f"detected {code!r} has no model; the source declares {hint!r}"
    sample = text[:SAMPLE_CHARS]
    if not latin_script(sample):
        return code, None
    words = [w.lower() for w in _WORD.findall(sample)]
    if len(words) < MIN_WORDS:
        return code, None
    shares = {lang: stop_share(words, lang) for lang in sorted(modelled)}
    best = max(shares, key=shares.get, default=None)
    if best is None or shares[best] < MIN_SHARE:
        return code, None
    # the detector's own candidates: its answer and its runner-up (for `und`, the low-confidence best guess)
    candidates = {code, (language.get("runner_up") or {}).get("code")} - {None, "und"} - modelled
    own = max((stop_share(words, lang) for lang in candidates), default=0.0)
    if shares[best] <= own:
        return code, None
    return best, (f"detected {code!r} has no model; {best!r} stop words are {shares[best]:.0%} of the words "
                  f"(the detector's candidates' {own:.0%})")
