"""Language identification: lingua on a bounded sample of the cleaned text, with an honest `und`.

Output (the record's `language` field): {code, name, confidence, runner_up, reason?, sample_chars}.
Codes are ISO 639-1, or ISO 639-3 where the language has no 639-1 code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable

import re

from .text import letters

# URLs, e-mail addresses and @handles carry no language; remove them before judging.
_NON_LANGUAGE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\S+|@\w+", re.IGNORECASE)

UND = "und"
MIN_LETTERS = 5          # below this nothing can be told apart ("Paris", "OK")
RUNNER_UP_MARGIN = 0.25  # report the second language when it is this close to the first


def _code(language) -> str:
    iso1 = language.iso_code_639_1
    return iso1.name.lower() if iso1 is not None else language.iso_code_639_3.name.lower()


@dataclass
class LanguageDetector:
    min_confidence: float = 0.5
    sample_chars: int = 3000
    preload: bool = False

    @cached_property
    def _lingua(self):
        from lingua import LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_all_languages()
        # Preloading every model costs ~1.3 GB; lazily, a French-only stream stays under 100 MB.
        return (builder.with_preloaded_language_models() if self.preload else builder).build()

    def warm_up(self) -> None:
        """Load models before the first message so the worker never stalls on it."""
        self.detect("Ceci est une phrase française pour charger les modèles.")

    @staticmethod
    def supported() -> list[dict[str, str]]:
        from lingua import Language

        return sorted(({"code": _code(l), "name": l.name.title()} for l in Language.all()),
                      key=lambda d: d["code"])

    def sample(self, text: str) -> str:
        """A bounded prefix, cut at a word boundary, so cost does not grow with article length."""
        if len(text) <= self.sample_chars:
            return text
        cut = text.rfind(" ", 0, self.sample_chars)
        return text[: cut if cut > self.sample_chars // 2 else self.sample_chars]

    def detect(self, text: str) -> dict[str, Any]:
        sample = _NON_LANGUAGE.sub(" ", self.sample(text or ""))
        base = {"sample_chars": len(sample)}
        if not (text or "").strip():
            return {"code": UND, "name": None, "confidence": 0.0, "runner_up": None, "reason": "empty", **base}
        n_letters = letters(sample)
        if n_letters == 0:  # digits, punctuation, or nothing but URLs
            return {"code": UND, "name": None, "confidence": 0.0, "runner_up": None, "reason": "no_letters", **base}
        if n_letters < MIN_LETTERS:
            return {"code": UND, "name": None, "confidence": 0.0, "runner_up": None, "reason": "too_short", **base}
        values = self._lingua.compute_language_confidence_values(sample)
        if not values:
            return {"code": UND, "name": None, "confidence": 0.0, "runner_up": None, "reason": "no_letters", **base}
        top = values[0]
        runner_up = None
        if len(values) > 1 and top.value - values[1].value <= RUNNER_UP_MARGIN:
            runner_up = {"code": _code(values[1].language), "confidence": round(values[1].value, 4)}
        result = {"code": _code(top.language), "name": top.language.name.title(),
                  "confidence": round(top.value, 4), "runner_up": runner_up, **base}
        if top.value < self.min_confidence:
            # keep the best guess visible in runner_up so a consumer can still see it
            guess = {"code": result["code"], "confidence": result["confidence"]}
            return {"code": UND, "name": None, "confidence": result["confidence"], "runner_up": guess,
                    "reason": "low_confidence", **base}
        return result

    def detect_many(self, texts: Iterable[str]) -> list[dict[str, Any]]:
        return [self.detect(t) for t in texts]
