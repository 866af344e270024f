"""The places stage's faster text scans give what the plain regexes give: words_of (a split with possessive
repeats) the words of one match per word, after_government_body (a short test of the text right before the
name first) the verdict of the whole search. Random strings of the characters that matter, and real texts."""

from __future__ import annotations

import random
import re
from pathlib import Path

from pipeline.stages.places import forms, toponyms

ROOT = Path(__file__).resolve().parent.parent
# the word pattern as first written, without possessive repeats: one match object per word
_MARKS = toponyms._MARKS
_REFERENCE = re.compile(rf"[^\W\d_](?:\.(?:[^\W\d_]\.)+|[\w{_MARKS}]*(?:['’-][^\W\d_][\w{_MARKS}]*)*)")
_ALPHABET = "aZéÉßİıſ’'-._ 0٣²½Ⅻ\u0301\u0903मुंबई北京한국Ωω\u00a0\n" + "U.S.A."


def _texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = [rng.choice(["", "U.S.", "l'Élysée"]) + "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 40)))
             for _ in range(count)]
    return texts + [p.read_text("utf-8") for p in sorted((ROOT / "seeds").rglob("*.txt"))]


def test_words_of_gives_one_regex_match_per_word():
    texts = _texts(20_000, 7)
    assert len(texts) > 20_000
    for text in texts:
        words = toponyms.words_of(text)
        matches = list(_REFERENCE.finditer(text))
        assert words.words == [m.group() for m in matches], text
        assert words.starts == [m.start() for m in matches], text
        assert words.ends == [m.end() for m in matches], text


def test_after_government_body_agrees_with_the_whole_search():
    vocab = ["ministère", "Ministre", "DEPARTMENT", "office", "министерство", "bakanlığı", "de", "DES", "du", "d'",
             "d’", "of", "For", "FÜR", "del", "della", "do", "da", "la", "l'", "L’", "the", "le", "LES", "ukrainien",
             "Défense", "Paris", "x", "deſ", "ſ", "K", "İ", "1", "-"]
    spaces = [" ", "  ", "\n", "\u00a0", "\t", "", " \u2003 "]
    rng, agreed = random.Random(1), 0
    for _ in range(30_000):
        text = "".join(rng.choice(vocab) + rng.choice(spaces) for _ in range(rng.randint(1, 12)))
        text += rng.choice(["Paris", "Défense", ""])
        start = rng.randint(0, len(text))
        whole = bool(forms._AFTER_BODY.search(text, max(0, start - 60), start))
        assert forms.after_government_body(text, start) == whole, (text, start)
        agreed += whole
    assert agreed > 500   # the generated texts do name bodies' fields
