"""Arabic NER data for offline/train_ner.py (span_format `fane`): NewsFANE Gold (Alotaibi & Lee, COLING 2014;
CC BY-SA 3.0), Arabic newswire with 50 fine-grained types, written as running text again.

The corpus is preprocessed: its clitics are separate words ("و قال", "ارباح ها", "ب القاهرة") and its hamza
is normalised (no أ إ آ). News arrives as written ("وقال", "أرباحها", "بالقاهرة"), so:
- a proclitic word (و ف ب ل ك س) is joined to the word after it and a pronoun suffix (ه ها هم هما هن نا كم ني
  ي) to the word before it, as they are written, unless the join would hide a name's edge inside a token;
- the model's tokenizer (`arabic_clitics`, saved with it, so loading needs no code) splits the conjunctions
  و/ف off a word of three letters or more and ب/ل/ك off a word with the article ("بالقاهرة" -> ب + القاهرة):
  then "والصين" holds the name "الصين" as a token of its own, in training and in the stream alike;
- the stage gives the model its input with the hamza forms written as bare alif (`NORMALISE`, one letter for
  one, so the offsets do not move: pipeline/stages/entities/adapters.py), as the corpus writes them.
Lines carry left-to-right marks (U+200E) and the file a byte-order mark: removed.
"""

from __future__ import annotations

PROCLITICS = frozenset("وفبلكس")
SUFFIXES = frozenset({"ه", "ها", "هم", "هما", "هن", "نا", "كم", "ني", "ي"})
_LETTERS = "\u0621-\u064a"
# spaCy prefix rules: tried again on what is left, so "وبالقاهرة" -> و + ب + القاهرة
CLITIC_PREFIXES = (rf"[وف](?=[{_LETTERS}]{{3}})", r"[بلك](?=ال)")


def sentences(raw: str) -> list[list[tuple[str, str]]]:
    """(word, tag) pairs per sentence; a sentence ends at a line with no word."""
    out, pairs = [], []
    for line in raw.replace("\u200e", "").replace("\u200f", "").replace("\ufeff", "").splitlines() + [""]:
        word, _, tag = line.partition("\t")
        if not word.strip():
            if pairs:
                out.append(pairs)
            pairs = []
        else:
            pairs.append((word.strip(), tag.strip() or "O"))
    return out


def separators(pairs: list[tuple[str, str]]) -> list[str]:
    """What goes before each word: nothing after a proclitic or before a pronoun suffix (as news writes them),
    else a space; a space too where gluing would hide a name's edge inside a token."""
    out, glue = [], False
    for k, (word, tag) in enumerate(pairs):
        suffix = word in SUFFIXES and k > 0 and pairs[k - 1][1] == "O"
        out.append("" if k == 0 or glue or suffix else " ")
        glue = word in PROCLITICS and tag == "O" and k + 1 < len(pairs) and (
            not pairs[k + 1][1].startswith("B-") or _split_off(word, pairs[k + 1][0]))
    return out


def _split_off(clitic: str, word: str) -> bool:
    """Whether the tokenizer cuts `clitic` off `word` again: a name's first word is glued to its proclitic only
    then ("ل اسرائيل" stays apart: "لاسرائيل" would be one token, the name inside it)."""
    return (clitic in "وف" and len(word) >= 3) or (clitic in "بلك" and word.startswith("ال"))


def arabic_clitics(nlp):
    """The tokenizer's prefix rules with the clitic rules first (see the module's docstring)."""
    from spacy.util import compile_prefix_regex

    nlp.tokenizer.prefix_search = compile_prefix_regex([*CLITIC_PREFIXES, *nlp.Defaults.prefixes]).search
    return nlp
