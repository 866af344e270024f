"""Exact-span NER scoring on public labelled data (CoNLL-format files): the entity stage as the pipeline runs
it (clean -> language detection -> `EntityTagger.tag`) against the bare spaCy model (full pipeline, labels
mapped to PER/ORG/LOC/MISC, numeric types dropped), on the same texts. Used by bench/entities.py.

Data: WikiNEuRal (Tedeschi et al. 2021, CC BY-NC-SA 4.0) and its CoNLL-2003 copy, from the
Babelscape/wikineural repository (`fetch github:Babelscape/wikineural`). VALIDATION splits only: the test
splits are the held-out acceptance sets and are never read here. Turkish: Turkish Wiki NER's dev split
(turkish-nlp-suite, CC BY-SA 4.0; OntoNotes types mapped as the stage maps them, numeric types dropped; the
split tr_newsfeed_ner chose its best step on, never trained on: `fetch github:turkish-nlp-suite/Turkish-Wiki-NER-Dataset`).
"""

from __future__ import annotations

import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.stages import steps
from pipeline.stages.entities.tagging import NOT_ENTITIES, common_label
from pipeline.stages.text import clean

MIRROR = Path("/work/.mirror/Babelscape+wikineural/repo")
# name -> (language, path in the repository, how texts are built)
DATASETS = {
    "wikineural-en": ("en", "data/wikineural/en/val.conllu", "sentences"),
    "wikineural-fr": ("fr", "data/wikineural/fr/val.conllu", "sentences"),
    "wikineural-ru": ("ru", "data/wikineural/ru/val.conllu", "sentences"),
    "wikineural-pt": ("pt", "data/wikineural/pt/val.conllu", "sentences"),
    "wikineural-de": ("de", "data/wikineural/de/val.conllu", "sentences"),
    "wikineural-nl": ("nl", "data/wikineural/nl/val.conllu", "sentences"),
    "wikineural-pl": ("pl", "data/wikineural/pl/val.conllu", "sentences"),
    "conll2002-nl": ("nl", "data/conll/nl/val.conllu", "documents"),   # Dutch news (De Morgen): its dev split
    "wikineural-es": ("es", "data/wikineural/es/val.conllu", "sentences"),
    "wikineural-it": ("it", "data/wikineural/it/val.conllu", "sentences"),
    "conll2002-es": ("es", "data/conll/es/val.conllu", "sentences"),   # EFE news, its dev split (testa)
    "conll2003-en": ("en", "data/conll/en/val.conllu", "documents"),
    "turkishwiki-tr": ("tr", "Turkish-Wiki-NER-Dataset/dev.conll", "sentences"),
}
OTHER_MIRRORS = {"turkishwiki-tr": Path("/work/.mirror/turkish-nlp-suite+Turkish-Wiki-NER-Dataset/repo")}
LABELS = ("PER", "ORG", "LOC", "MISC")


@dataclass
class Doc:
    text: str
    gold: set[tuple[int, int, str]]


def read_conll(raw: str) -> list[list[tuple[str, str]]]:
    """Sentences of (token, BIO tag); `-DOCSTART-` kept as its own one-token sentence."""
    sentences, current = [], []
    for line in raw.splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            if current:
                sentences.append(current)
            current = []
            continue
        token, tag = parts[-2:] if len(parts) == 2 else parts[1:3]   # "token tag" or "index token tag"
        if tag != "O":   # OntoNotes types (Turkish Wiki NER) as the stage maps them; numeric ones are no names
            label = tag[2:]
            tag = "O" if label in NOT_ENTITIES else tag[:2] + common_label(label)
        current.append((token, tag))
    if current:
        sentences.append(current)
    return sentences


def _sentence(tokens: list[tuple[str, str]], offset: int) -> tuple[str, set[tuple[int, int, str]]]:
    """Tokens joined by single spaces; gold spans as character offsets (+ offset)."""
    text, spans, open_span = "", set(), None
    for token, tag in tokens:
        if text:
            text += " "
        start = len(text)
        text += token
        if open_span and not (tag.startswith("I-") and tag[2:] == open_span[2]):
            spans.add(open_span)
            open_span = None
        if tag.startswith("B-") or (tag.startswith("I-") and open_span is None):
            open_span = (start, len(text), tag[2:])
        elif tag.startswith("I-"):
            open_span = (open_span[0], len(text), open_span[2])
    if open_span:
        spans.add(open_span)
    return text, {(s + offset, e + offset, label) for s, e, label in spans}


def build_docs(sentences: list[list[tuple[str, str]]], mode: str, per_doc: int = 10) -> list[Doc]:
    """`documents`: CoNLL articles, one sentence a line, split at -DOCSTART- (headlines, datelines and
    results tables as they are). `sentences`: WikiNEuRal has no documents: runs of `per_doc` consecutive
    sentences make a paragraph."""
    groups: list[list[list[tuple[str, str]]]] = [[]]
    for sent in sentences:
        if sent[0][0] == "-DOCSTART-":
            groups.append([])
        elif mode == "sentences" and len(groups[-1]) >= per_doc:
            groups.append([sent])
        else:
            groups[-1].append(sent)
    joiner = "\n" if mode == "documents" else " "
    docs = []
    for group in filter(None, groups):
        text, gold = "", set()
        for sent in group:
            if text:
                text += joiner
            part, spans = _sentence(sent, len(text))
            text += part
            gold |= spans
        docs.append(Doc(text, gold))
    return docs


def load(name: str, limit: int, mirror: Path = MIRROR) -> list[Doc] | None:
    _lang, path, mode = DATASETS[name]
    mirror = OTHER_MIRRORS.get(name, mirror)
    if not mirror.exists():
        return None
    raw = subprocess.run(["git", "--git-dir", str(mirror), "show", f"HEAD:{path}"], capture_output=True,
                         text=True, check=True).stdout
    return build_docs(read_conll(raw), mode)[:limit]


def cleaned_to_original(original: str, cleaned: str) -> list[tuple[int, int]]:
    """(cleaned line start, original line start) for every cleaned line: clean() keeps a line's text as
    is here (single-spaced input), so offsets map back line by line."""
    pairs, cursor, pos = [], 0, 0
    for line in cleaned.split("\n"):
        found = original.find(line, cursor) if line else cursor
        pairs.append((pos, found))
        cursor = found + len(line)
        pos += len(line) + 1
    return pairs


def to_original(pairs: list[tuple[int, int]], offset: int) -> int:
    start, orig = max((p for p in pairs if p[0] <= offset), key=lambda p: p[0])
    return orig + offset - start


def pipeline_spans(docs: list[Doc], tagger, detector) -> tuple[list[set], Counter]:
    """The stages as the worker runs them (clean, language, entities), spans mapped back to the dataset
    text; and the languages detected."""
    records = []
    for doc in docs:
        record = {"text": clean(doc.text).text, "timings": {}}
        records.append(steps.detect_language(record, detector))
    out = []
    for doc, record in zip(docs, steps.tag_entities(records, tagger)):
        pairs = cleaned_to_original(doc.text, record["text"])
        out.append({(to_original(pairs, e["start"]), to_original(pairs, e["end"] - 1) + 1, e["label"])
                    for e in record["entities"]})
    return out, Counter(r["language"]["code"] for r in records)


def bare_spans(docs: list[Doc], nlp) -> list[set]:
    return [{(e.start_char, e.end_char, common_label(e.label_)) for e in d.ents if e.label_ not in NOT_ENTITIES}
            for d in nlp.pipe((doc.text for doc in docs), batch_size=8)]


@dataclass
class Score:
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)

    def add(self, gold: set, predicted: set) -> None:
        for label in LABELS + ("ALL",):
            g = {s for s in gold if label in ("ALL", s[2])}
            p = {s for s in predicted if label in ("ALL", s[2])}
            self.tp[label] += len(g & p)
            self.fp[label] += len(p - g)
            self.fn[label] += len(g - p)

    def prf(self, label: str) -> tuple[float, float, float]:
        tp, fp, fn = self.tp[label], self.fp[label], self.fn[label]
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return 100 * p, 100 * r, (200 * p * r / (p + r) if p + r else 0.0)


def score(docs: list[Doc], predictions: list[set]) -> Score:
    total = Score()
    for doc, predicted in zip(docs, predictions):
        total.add(doc.gold, predicted)
    return total


def table(ours: Score, bare: Score, before: Score | None = None) -> list[str]:
    """ours vs the bare model; `before`: the pipeline without this language's model (the gazetteer's places
    only), as it was before the language had one."""
    lines = [f"  {'label':5} {'gold':>5} | {'ours P':>7} {'R':>5} {'F1':>5} | {'bare P':>7} {'R':>5} {'F1':>5} "
             f"| {'ΔF1':>5}" + (f" | {'before F1':>9}" if before else "")]
    for label in LABELS + ("ALL",):
        po, ro, fo = ours.prf(label)
        pb, rb, fb = bare.prf(label)
        gold = ours.tp[label] + ours.fn[label]
        lines.append(f"  {label:5} {gold:5d} | {po:7.1f} {ro:5.1f} {fo:5.1f} | {pb:7.1f} {rb:5.1f} {fb:5.1f} "
                     f"| {fo - fb:+5.1f}" + (f" | {before.prf(label)[2]:9.1f}" if before else ""))
    return lines
