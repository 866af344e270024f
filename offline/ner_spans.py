"""Readers for NER data that is not a UNER .iob2 file, for offline/train_ner.py (a config's `span_format`):

- `conll`: a word and its IOB2 tag per line, a blank line between sentences (HiNER, Turkish Wiki NER);
- `fane`: NewsFANE Gold (Arabic, clitics as words; offline/ner_arabic.py writes them onto their words);
- `klue`: KLUE NER's character-level file (a character and its tag per line, spaces are characters too;
  `##` lines are comments).

Each sentence becomes its text and character spans with the common labels (the config's `labels` map a
raw type to PER/ORG/LOC/MISC; unmapped types are dropped). The training docs are cut by the model's own
tokenizer, so training sees the tokens the pipeline will see. When a data set ships only one usable file,
`dev_fraction` holds a seeded part of it aside as our dev split.
"""

from __future__ import annotations

import random
from pathlib import Path

import ner_arabic  # a sibling: offline/ is on the path, as for train_ner.py

Example = tuple[str, list[tuple[int, int, str]]]
# Korean particles and endings written onto a word ("서울에서", "연합뉴스가", "박씨는"): split off, so a name is
# its own token (KLUE marks names without them; 89% of its spans then fall on token edges, the rest are widened)
KO_PARTICLES = ("에서부터|으로부터|에게서|한테서|이라는|라는|에서는|에서도|에서의|에게는|으로는|으로|에서|에게|한테|까지|"
                "부터|처럼|보다|이나|이며|이고|이다|였다|이었다|와의|과의|씨는|씨의|씨가|씨를|씨|님|측|로|은|는|이|가|을|를|"
                "의|와|과|도|에|만|랑|나|며|고|께")


def tagged_lines(text: str, comment: str) -> list[list[tuple[str, str]]]:
    """(token, tag) pairs per sentence; a blank line ends a sentence (KLUE's space lines are ' \\tO')."""
    sentences, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith(comment):
            continue
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        token, _, tag = line.rpartition("\t") if "\t" in line else line.rpartition(" ")
        current.append((token, tag.strip() or "O"))
    return sentences


def to_example(pairs: list[tuple[str, str]], labels: dict[str, str], joiner: str | list[str]) -> Example:
    """The sentence's text (tokens joined by `joiner`, or each after its own separator) and its mapped spans."""
    text, spans, open_span = "", [], None
    for k, (token, tag) in enumerate(pairs):
        if k and joiner:
            text += joiner if isinstance(joiner, str) else joiner[k]
        start = len(text)
        text += token
        kind = tag[2:] if tag[:2] in ("B-", "I-") else None
        if open_span and (kind is None or tag.startswith("B-") or kind != open_span[2]):
            spans.append(tuple(open_span))
            open_span = None
        if kind and open_span:
            open_span[1] = len(text)
        elif kind:
            open_span = [start, len(text), kind]
    if open_span:
        spans.append(tuple(open_span))
    mapped = [(s, e, labels[k]) for s, e, k in spans if k in labels and text[s:e].strip()]
    return text, [(s + len(text[s:e]) - len(text[s:e].lstrip()), e - len(text[s:e]) + len(text[s:e].rstrip()), k)
                  for s, e, k in mapped]


def read_examples(spec: dict, raw: str) -> list[Example]:
    if spec["span_format"] == "fane":   # Arabic, clitics written onto their words again
        return [to_example(pairs, spec["labels"], ner_arabic.separators(pairs)) for pairs in ner_arabic.sentences(raw)]
    klue = spec["span_format"] == "klue"
    sentences = tagged_lines(raw, "##" if klue else "#")
    return [to_example(pairs, spec["labels"], "" if klue else " ") for pairs in sentences]


def countries_as_places(examples: list[Example]) -> list[Example]:
    """A country's name tagged ORG (KLUE's OG for a country acting, "독일이 반대했다") is a place, as our common
    labels have it (OntoNotes GPE -> LOC): else the pipeline would not geocode it."""
    from pipeline.stages.places.gazetteer import name_key, shared

    gazetteer = shared()

    def country(name: str) -> bool:
        return any(place.feature_code == "PCLI" for place, _kind, _langs in gazetteer.candidates(name_key(name)))

    return [(text, [(s, e, "LOC" if k == "ORG" and country(text[s:e]) else k) for s, e, k in spans])
            for text, spans in examples]


def splits(spec: dict, read) -> dict[str, list[Example]]:
    """train and dev examples; `read(name)` gives the text of the spec's file `name`."""
    train = read_examples(spec, read("train"))
    if spec.get("countries_as_places"):
        train = countries_as_places(train)
    if "dev_fraction" not in spec:
        return {"train": train, "dev": read_examples(spec, read("dev"))}
    order = list(range(len(train)))
    random.Random(spec["seed"]).shuffle(order)
    held = set(order[: round(len(order) * spec["dev_fraction"])])
    return {"train": [ex for k, ex in enumerate(train) if k not in held],
            "dev": [ex for k, ex in enumerate(train) if k in held]}


def blank(lang: str):
    """A blank pipeline whose tokenizer needs nothing installed: Korean gets spaCy's rule-based tokenizer
    (the default one wants mecab-ko) with the particles split off."""
    import spacy

    if lang == "ar":
        return ner_arabic.arabic_clitics(spacy.blank("ar"))
    if lang != "ko":
        return spacy.blank(lang)
    nlp = spacy.blank("ko", config={"nlp": {"tokenizer": {"@tokenizers": "spacy.Tokenizer.v1"}}})
    return korean_particles(nlp)


def korean_particles(nlp):
    from spacy.util import compile_suffix_regex

    rules = [rf"(?<=[\uac00-\ud7a3])(?:{KO_PARTICLES})", *nlp.Defaults.suffixes]
    nlp.tokenizer.suffix_search = compile_suffix_regex(rules).search
    return nlp


def register_callbacks() -> None:
    """`[initialize.before_init]` of ko.cfg: the suffix rules are saved with the tokenizer, so loading needs no code."""
    from spacy.util import registry

    if "newsfeed.korean_particles.v1" not in registry.callbacks:
        registry.callbacks.register("newsfeed.korean_particles.v1", func=lambda: korean_particles)
    if "newsfeed.arabic_clitics.v1" not in registry.callbacks:
        registry.callbacks.register("newsfeed.arabic_clitics.v1", func=lambda: ner_arabic.arabic_clitics)


def to_docbin(nlp, examples: list[Example], path: Path) -> int:
    from spacy.tokens import DocBin
    from spacy.util import filter_spans

    docs = DocBin()
    for text, spans in examples:
        doc = nlp.make_doc(text)
        ents = [doc.char_span(s, e, label=k, alignment_mode="expand") for s, e, k in spans]
        doc.ents = filter_spans([ent for ent in ents if ent is not None])
        docs.add(doc)
    docs.to_disk(path)
    return len(examples)


def dev_texts(spec: dict, read) -> list[str]:
    return [text for text, _spans in splits(spec, read)["dev"]]

