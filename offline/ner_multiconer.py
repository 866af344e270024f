"""MultiCoNER (Amazon, SemEval 2022/2023; CC BY 4.0) readers for offline/ner_data.py. Its .conll files hold
`word _ _ tag` lines and `# id` comments, in lower case, unlike any news: each reader gives the text its
capitals back from the labels. The two are kept apart because each reproduces the data a shipped model was
trained on:
- `multiconer` (es, it; v1 and v2): a name's words but its particles, the first word; a name of consonants
  only in capitals ("BBC"). Spanish and Italian write months, weekdays and nationalities small, so a capital
  marks a name or a sentence start, as here.
- `multiconer_recased` (nl; v1): the same, a short one-word organisation as an acronym, and one other word in
  12 (by hash) as titles and adjectives are in Dutch news ("Premier", "Belgische"), or the model takes every
  capital for a name ("Premier Dick Schoof" came out ORG).
Fine-grained types map to PER/ORG/LOC (`MULTICONER`); creative works, products and medical types to O.
"""

from __future__ import annotations

import zlib

Sentence = tuple[list[str], list[str]]

MULTICONER = {"PER": "PER", "GRP": "ORG", "CORP": "ORG", "LOC": "LOC",   # v1; then v2's fine types
              **dict.fromkeys(["OtherPER", "Artist", "Athlete", "Politician", "Scientist", "Cleric",
                               "SportsManager"], "PER"),
              **dict.fromkeys(["ORG", "MusicalGRP", "PublicCorp", "PrivateCorp", "AerospaceManufacturer",
                               "SportsGRP", "CarManufacturer", "TechCORP"], "ORG"),
              **dict.fromkeys(["Facility", "OtherLOC", "HumanSettlement", "Station"], "LOC")}
# lower-case words inside names ("Banco de España", "Cassa di Risparmio", "Universidad del Valle")
PARTICLES = {"de", "del", "la", "las", "los", "el", "y", "e", "da", "di", "dei", "della", "delle",
             "degli", "dello", "il", "lo", "gli", "i", "le", "of", "the", "and", "von", "van", "der", "du", "des"}
DUTCH_PARTICLES = {"van", "de", "der", "den", "het", "ter", "ten", "te", "op", "in", "aan", "en", "von", "la", "le",
                   "di"}


def _lines(text: str):
    """(words, raw tags) of each sentence."""
    words, raw = [], []
    for line in text.splitlines() + [""]:
        if not line.strip() or line.startswith("# id"):
            if words:
                yield words, raw
            words, raw = [], []
            continue
        cols = line.split()
        words.append(cols[0])
        raw.append(cols[-1])


def read_multiconer(text: str, repair) -> list[Sentence]:
    out = []
    for words, raw in _lines(text):
        # X: a name of a type we do not keep (it gets capitals, no label)
        tags = [f"{t[:2]}{MULTICONER[t[2:]]}" if t[2:] in MULTICONER else ("O" if t == "O" else "X") for t in raw]
        out.append((truecase(words, tags), repair([t if t != "X" else "O" for t in tags])))
    return out


def truecase(words: list[str], tags: list[str]) -> list[str]:
    out = []
    for k, (word, tag) in enumerate(zip(words, tags)):
        in_name = tag != "O"
        if in_name and len(word) > 1 and word.isalpha() and not set(word) & set("aeiouyàèéìíòóùú"):
            word = word.upper()
        elif (k == 0 or in_name and (tag[:2] == "B-" or word not in PARTICLES)) and word[:1].isalpha():
            word = word[:1].upper() + word[1:]
        out.append(word)
    return out


def read_multiconer_recased(text: str, repair) -> list[Sentence]:
    out = []
    for words, raw in _lines(text):
        tags = [t[:2] + MULTICONER[t[2:]] if t[2:] in MULTICONER else "O" for t in raw]
        out.append((recase(words, raw), repair(tags)))
    return out


def recase(words: list[str], raw: list[str]) -> list[str]:
    out = []
    for k, (word, tag) in enumerate(zip(words, raw)):
        odd = zlib.crc32(f"{k} {' '.join(words)}".encode()) % 12 == 0
        inside = tag != "O" and (tag[2:] not in ("CW", "PROD") or tag[0] == "B") or tag == "O" and odd
        if tag[2:] in ("GRP", "CORP") and tag[0] == "B" and (k + 1 == len(raw) or raw[k + 1][0] != "I") \
                and word.isalpha() and len(word) <= 4:
            word = word.upper()
        elif k == 0 or inside and (tag[0] == "B" or word not in DUTCH_PARTICLES):
            word = word[:1].upper() + word[1:]
        out.append(word)
    return out
