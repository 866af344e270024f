"""Place names inside inflected and unspaced writing (issue 32, item 2): the forms a name takes in a
sentence, turned back into the keys the gazetteer knows.

- a suffix after an apostrophe (Turkish "İstanbul'da", English "Istanbul's"): the name before it;
- case endings of Slavic languages ("Москве", "Москвы", "Киеве", "России", "Warszawie"): the stem with
  the nominative endings a name may have (-а, -я, -ия, -ь, -о or none);
- prefixed clitics of Arabic script ("بالقاهرة" = "ب" + "القاهرة", "وبغداد"): the name without them, and
  without the article "ال";
- particles after a Korean name ("서울에서"), and names inside unspaced Chinese and Japanese text ("他在北京说"):
  by pipeline/stages/places/toponyms.py, which looks names up inside a run of those scripts.
Each variant is (offset into the word, length, key): the mention is the name's own part when it can be
cut out ("İstanbul", "القاهرة"), else the whole word ("Москве").
"""

from __future__ import annotations

from pipeline.stages.places.gazetteer import name_key

SLAVIC = frozenset({"ru", "uk", "be", "bg", "pl", "cs", "sk", "sl", "hr", "sr", "sh", "mk"})
_SLAVIC_ENDINGS = ("ами", "ями", "ого", "его", "ому", "ему", "ой", "ей", "ом", "ем", "ии", "ию", "ие", "ою",
                   "ія", "ії", "ію", "іі", "ы", "и", "і", "е", "у", "ю", "а", "я",
                   "ie", "iu", "em", "ach", "owi", "y", "u", "a", "ą", "ę", "i", "e")
_NOMINATIVE = ("", "а", "я", "ия", "ь", "о", "a", "ія")
# Polish case endings that change the stem's last consonant: "Frankfurcie" Frankfurt, "Kairze" Kair, "Polsce"
# Polska, "Pradze" Praga, "Kanadzie" Kanada, "Włoszech" Włochy, "Niemczech" Niemcy, "Chinach" Chiny
_POLISH_ALTERNATIONS = (("szech", "chy"), ("czech", "cy"), ("sce", "ska"), ("dzie", "d"), ("dzie", "da"),
                        ("cie", "t"), ("cie", "ta"), ("rze", "r"), ("rze", "ra"), ("dze", "ga"), ("ce", "ka"),
                        ("ach", "y"), ("ach", "ie"))
# a stem in -й: "Дубая" Дубай, "Китае" Китай; Ukrainian -ї ("Китаї", "Парагваї")
_RUSSIAN_ALTERNATIONS = (("ая", "ай"), ("аю", "ай"), ("ае", "ай"), ("ем", "ей"))
_UKRAINIAN_ALTERNATIONS = (("ая", "ай"), ("аю", "ай"), ("аї", "ай"), ("уї", "уй"))
_ALTERNATIONS = {"pl": _POLISH_ALTERNATIONS, "ru": _RUSSIAN_ALTERNATIONS, "uk": _UKRAINIAN_ALTERNATIONS}
_ARABIC_CLITICS = ("وبال", "فبال", "وال", "فال", "بال", "كال", "لل", "و", "ف", "ب", "ل", "ك")
_KOREAN_PARTICLES = ("에서는", "에서", "으로", "에게", "에는", "과", "와", "의", "은", "는", "이", "가", "을", "를", "로", "에", "도")


def _arabic(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff"


def _hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3"


def variants(word: str, lang: str) -> list[tuple[int, int, str]]:
    """Keys the word may be an inflected form of, most likely first; empty for a plain word."""
    out: list[tuple[int, int, str]] = []
    for mark in ("'", "’"):
        if mark in word[1:]:
            head = word.split(mark)[0]
            out.append((0, len(head), name_key(head)))
    if _arabic(word[:1]):
        for clitic in _ARABIC_CLITICS:
            if word.startswith(clitic) and len(word) - len(clitic) >= 3:
                start = len(clitic) - 2 if clitic.endswith("ال") else len(clitic)   # keep the article: "القاهرة"
                out.append((start, len(word) - start, name_key(word[start:])))
                if clitic.endswith("ال"):
                    out.append((len(clitic), len(word) - len(clitic), name_key(word[len(clitic):])))
        if word.startswith("ال") and len(word) > 4:
            out.append((2, len(word) - 2, name_key(word[2:])))
    elif _hangul(word[:1]):
        for particle in _KOREAN_PARTICLES:
            if word.endswith(particle) and len(word) > len(particle) + 1:
                out.append((0, len(word) - len(particle), name_key(word[:-len(particle)])))
    elif lang in SLAVIC and len(word) >= 4:
        lower = word.casefold()
        for ending in _SLAVIC_ENDINGS:
            if lower.endswith(ending) and len(lower) - len(ending) >= 3:
                stem = lower[:-len(ending)]
                out += [(0, len(word), name_key(stem + nominative)) for nominative in _NOMINATIVE
                        if stem + nominative != lower]
        out += [(0, len(word), name_key(lower[:-len(ending)] + nominative))
                for ending, nominative in _ALTERNATIONS.get(lang, ())
                if lower.endswith(ending) and len(lower) - len(ending) >= 3]
    return out
