"""Text normalisation, applied once before any stage: strip page noise so it never becomes entities,
skews language detection or defeats deduplication.

Noise seen in real scraped news (see seeds/): navigation lines heading the page ("Menu", the outlet's
name, section labels), photo credits ("Crédit photo, Getty Images"), photo captions ending in a credit
("... (Evan Vucci/AP)"; a long paragraph ending in a credit loses only the credit), image legends, author/role bylines, promo blocks ("Ignorer Promotion
WhatsApp ... Fin de Promotion WhatsApp"), and a leading "date 2025-03" stamp. Removal never empties a text that has words: an article that is all
"noise" (a one-line photo credit) is kept as it came.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A whole line that is page furniture.
_NOISE_LINE = re.compile(
    r"""^(?:
        menu | accueil | home | dossiers?\ liés | partager | lire\ aussi.* | voir\ aussi.* | publicité
      | cr[ée]dit\ photos?\b.* | photo\s*:.* | copyright\b.* | ©.*
      | l[ée]gende\ (?:image|photo|vidéo)\b.*
      | •?\s*(?:author|role|auteur|rôle)\s*,.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# A photo caption: a line that ends in a parenthesised credit with a slash, e.g. "(Evan Vucci/AP)".
_CAPTION = re.compile(r"\(\s*[^()]{1,60}/[^()]{1,60}\)\s*$")
# A caption is a sentence or two; a longer line ending in a credit is a paragraph (a whole article sent as
# one line, a photo credit at its end): only the credit goes.
CAPTION_MAX_CHARS = 400
# A promo block, removed whole.
_PROMO = re.compile(r"^ignorer promotion\b.*?^fin de promotion\b[^\n]*$", re.IGNORECASE | re.MULTILINE | re.DOTALL)
# A leading date stamp like " date 2025-03" or "date 2025-03-16".
_LEADING_DATE = re.compile(r"^\s*date\s+(\d{4}-\d{2}(?:-\d{2})?)\b\s*", re.IGNORECASE)
# A publication line such as "publié le 16 mars 2025 à 19h07".
_PUBLISHED = re.compile(
    r"^\s*(?:publié|mis à jour)\s+le\s+(\d{1,2})(?:er)?\s+(\w+)\s+(\d{4})(?:\s+à\s+(\d{1,2})h(\d{2}))?\s*$",
    re.IGNORECASE)
_MONTHS_FR = {m: i for i, m in enumerate(
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(), 1)}
# A breadcrumb glued to its label, e.g. "Guerre entre l'Ukraine et la Russiedossier".
_BREADCRUMB_ENDS = ("dossier", "direct", "vidéo", "podcast")
_BREADCRUMB = re.compile(r"[a-zà-ÿ](?:" + "|".join(_BREADCRUMB_ENDS) + ")$")
_SENTENCE_END = re.compile(r"[.!?…»\"”:;]$")
_NAV_PUNCT = re.compile(r"[.,;:!?«»\"()\d]")
_BLANKS = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class Cleaned:
    text: str
    removed_lines: int
    removed_chars: int
    published_at: str | None = None


def _is_navigation(line: str) -> bool:
    """One or two capitalised words with no punctuation: a menu item or outlet/section label."""
    words = line.split(None, 2)  # at most 3 pieces: a paragraph need not be split whole
    return 0 < len(words) <= 2 and not _NAV_PUNCT.search(line) and line[0].isupper()


def _published(line: str) -> str | None:
    m = _PUBLISHED.match(line)
    if not m or m.group(2).lower() not in _MONTHS_FR:
        return None
    day, month, year = int(m.group(1)), _MONTHS_FR[m.group(2).lower()], int(m.group(3))
    if m.group(4):
        return f"{year:04d}-{month:02d}-{day:02d}T{int(m.group(4)):02d}:{m.group(5)}:00"
    return f"{year:04d}-{month:02d}-{day:02d}"


def clean(text: str) -> Cleaned:
    """Remove page noise; keep paragraph breaks. Idempotent: clean(clean(t).text) == clean(t)."""
    original_len = len(text)
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    published_at = None
    m = _LEADING_DATE.match(text)
    if m:
        published_at = m.group(1)
        text = text[m.end():]
    removed = 0
    text, promos = _PROMO.subn("", text)
    removed += promos
    kept: list[str] = []
    for raw_line in text.split("\n"):
        line = raw_line.strip()
        if not line:
            if kept and kept[-1] != "":
                kept.append("")
            continue
        stamp = _published(line)
        if stamp:
            published_at = published_at or stamp
            removed += 1
            continue
        credit = _CAPTION.search(line) if line[-1] == ")" else None
        if credit and len(line) > CAPTION_MAX_CHARS:
            while credit:  # a paragraph: keep it, without its credit(s)
                line = line[:credit.start()].rstrip()
                credit = _CAPTION.search(line) if line.endswith(")") else None
        # the suffix tests first: an unanchored search over every position of a long paragraph is slow.
        # Navigation (a menu, the outlet's name, a section label) heads the page: a short line after the
        # article started is a section header or a name, kept with its entities.
        if (credit or _NOISE_LINE.match(line) or (line.endswith(_BREADCRUMB_ENDS) and _BREADCRUMB.search(line))
                or (not kept and _is_navigation(line))):
            removed += 1
        else:
            kept.append(_BLANKS.sub(" ", line) if "  " in line or "\t" in line else line)
    cleaned = "\n".join(kept).strip()
    if not cleaned:
        # noise removal never takes an article's whole text: a one-line article that reads like a photo
        # credit ("(Greg Trotter / News-Leader)") or a menu word is kept as it came (blanks tidied)
        cleaned = "\n".join(_BLANKS.sub(" ", line.strip()) for line in text.split("\n") if line.strip())
        removed = 0
    return Cleaned(cleaned, removed, max(0, original_len - len(cleaned)), published_at)


def title_and_body(text: str) -> tuple[str | None, str]:
    """Split off a title when one is clearly there: the first real line, short, not a sentence,
    followed by more text. Otherwise (None, text)."""
    lines = text.split("\n")
    for i, raw_line in enumerate(lines):
        line = raw_line.strip()
        if not line or _NOISE_LINE.match(line) or _is_navigation(line):
            continue
        rest = "\n".join(lines[i + 1:]).strip()
        if 15 <= len(line) <= 200 and not _SENTENCE_END.search(line) and len(rest) > len(line) \
                and not _LEADING_DATE.match(raw_line):
            title = " ".join(unicodedata.normalize("NFC", line).replace("\u00a0", " ").split())
            return title, "\n".join(lines[:i] + lines[i + 1:])
        return None, text
    return None, text


_LETTER = re.compile(r"[^\W\d_]")


def letters(text: str, enough: int | None = None) -> int:
    """How many letters the text has; counting stops at `enough` (a long article need not be counted)."""
    count = 0
    for _ in _LETTER.finditer(text):
        count += 1
        if enough is not None and count >= enough:
            break
    return count
