"""Organisations written as acronyms that the model left untagged ("NATO", "ONU", "ONZ", "WHO", "SPD").

The project's own models (pipeline/ner_weights/) learnt from a few thousand sentences and miss many well-known
acronyms that news writes in capitals; beside them (not beside en, fr, ru, ja's PyPI models, which miss few:
there the rule cost 0.1-0.2 F1 on validation data) the rule adds them as organisations, after the places
stage, under these conditions:
- a word of 3-6 letters (two letters are too often something else: "FC", "AD", "EP", "ПК"; so "UN", "EU",
  "BM" are left to the model), all capitals (Latin, Cyrillic, Greek), not a Roman numeral (XIX, III), alone or
  the head of a compound: German and Dutch name an organisation's officer or meeting so ("WHO-Generalsekretär
  Tedros", "NATO-Gipfel": the organisation is named; in Turkish the suffix stays in the span: "NATO'nun"); not inside a word ("ex-URSS", "F-16");
- no mention of the article covers it, and the model did not tag the same word with another label elsewhere in
  the article (one sense per article: "NATO" tagged LOC once is not an organisation next time);
- no place by the places stage's test (`is_place`: a country, a capital, a large city: "USA", "UK");
- not a common word: the language's stop words ("UND", "DEL" in capitals), and abbreviations that are no
  organisation in any language (units, currencies, formats, titles: "TV", "CEO", "GDP", "USD", "DVD"), nor
  countries' acronyms the gazetteer lacks ("ABD", "EEUU", "BRD");
- not in a line written in capitals (a heading, "SOCCER - LEADING RESULTS").
An added mention says where it came from: `source` "acronym" (as the places stage's gazetteer mentions say
"gazetteer"), `label_raw` "ORG".
"""

from __future__ import annotations

import re
from typing import Any, Callable

from pipeline.stages.entities.fallback import stop_words

SOURCE = "acronym"
SUFFIXED_NAMES = frozenset({"tr"})   # Turkish Wiki NER (tr_newsfeed_ner's data) marks "Ankara'da" whole
_SUFFIX = re.compile(r"(?:['’][^\W\d_]+)?")
# a word of letters, alone or heading a compound ("NATO-Generalsekretär", "UN-Klimagipfel", "VN-ambassadeur"),
# not inside one ("ex-URSS", "F-16", "U.N")
_WORD = re.compile(r"(?<![\w\-‐–.])[^\W\d_]{3,6}(?![\w‐–]|-(?![^\W\d_])|\.\w)")
_ROMAN = re.compile(r"^(?=[MDCLXVI])M{0,3}(C[MD]|D?C{0,3})(X[CL]|L?X{0,3})(I[XV]|V?I{0,3})$")
# abbreviations that name no organisation, written so in many languages (checked upper-cased)
NOT_ORGANISATIONS = frozenset("""
TV CD DVD PC CEO CFO CTO COO MVP VIP GDP GNP BIP PIL PIB PKB GSYH ВВП CPI DNA ADN DNS RNA HIV AIDS SIDA VIH
USD EUR GBP JPY CHF RUB PLN TRY CNY INR KRW KM CM MM KG MW GW KW KWH MWH GMT UTC CET CEST EST PST AM PM
OK ID IT AI KI IA SMS GPS USB PDF HTML XML PHP SQL API CPU GPU LED LCD SUV SMS FAQ ISBN ISSN PR QR COVID SARS
MP MEP NB ETC VS BC BCE MÖ
""".split())
# countries' acronyms the gazetteer's names lack: places, not organisations
COUNTRY_ACRONYMS = frozenset("""
ABD EEUU EUA RFA RDA BRD DDR ФРГ ГДР СССР РСФСР ОАЭ URSS UDSSR ZSRR ZEA VAE EAU EAD BAE RPA RPC ЧССР ČSSR SSCB
""".split())


def _capitals_line(text: str, start: int, end: int) -> bool:
    """Whether the rest of the line the word stands in is mostly capitals (a heading, a table row)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start:start] + text[end:len(text) if line_end < 0 else line_end]
    letters = [ch for ch in line if ch.isalpha()]
    return len(letters) >= 4 and sum(ch.isupper() for ch in letters) * 2 > len(letters)


def acronym_organisations(text: str, entities: list[dict[str, Any]], lang: str,
                          is_place: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The acronym organisations to add to `entities` (sorted by start, not overlapping each other)."""
    other_sense = {e["text"] for e in entities if e["label"] != "ORG"}
    spans = [(e["start"], e["end"]) for e in entities]
    stops = stop_words(lang)
    added = []
    for match in _WORD.finditer(text):
        word, start, end = match.group(), match.start(), match.end()
        if not word.isupper() or _ROMAN.match(word) or word in NOT_ORGANISATIONS or word in COUNTRY_ACRONYMS \
                or word.lower() in stops or word in other_sense:
            continue
        if any(s < end and e > start for s, e in spans) or _capitals_line(text, start, end) or is_place(word):
            continue
        if lang in SUFFIXED_NAMES:   # "NATO'nun": the suffix stays in the span, as the model and its data have it
            end = _SUFFIX.match(text, end).end()
        added.append({"text": text[start:end], "label": "ORG", "label_raw": "ORG", "start": start, "end": end,
                      "source": SOURCE})
    return added
