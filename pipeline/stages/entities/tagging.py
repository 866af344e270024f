"""Entity tagging: spaCy NER with one model per language, loaded once, NER components only.

Output fields on a record: `entities` [{text, label, label_raw, start, end, entity}] with character offsets
into the record's (cleaned) text and `entity` the index of its `entity_summary` entry, `entity_summary`
[{name, label, count}] (one entry per real-world name: pipeline/stages/entities/canonical.py) and `ner`
{status, model}. Which model tags which language: pipeline/stages/entities/models.py.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

from pipeline.stages.entities import adapters as ner_adapters
from pipeline.stages.entities import models as ner_models
from pipeline.stages.entities.canonical import canonicalise
from pipeline.stages.regex_cache import big_patterns_cached

# Model labels -> the common set, for WikiNER (French, Spanish… models: PER LOC ORG MISC) and OntoNotes
# (English models) alike. Labels not listed (a custom model's) are MISC.
COMMON_LABELS = {
    "PER": "PER", "PERSON": "PER",
    "ORG": "ORG",
    "LOC": "LOC", "GPE": "LOC", "FAC": "LOC",
    "MISC": "MISC", "NORP": "MISC", "EVENT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC",
    "PRODUCT": "MISC", "LANGUAGE": "MISC",
}
# Numeric and temporal types name no person, place or thing: kept out of `entities`.
LINE_BREAKS = "newsfeed_line_breaks"
NOT_ENTITIES = frozenset({"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"})
# Characters that a model sometimes includes at a span's edge but that are never part of a name.
_EDGE = " \t\n«»\"“”„'’‘()[]{}.,;:!?-–—"
# A span's last word whose following period is its own: letters with dots (U.S, U.K, S.A) or a common
# abbreviation of a company form, a suffix or a place word.
_ABBREVIATION = re.compile(
    r"(?:(?<![\w.])(?:[^\W\d_]\.)+[^\W\d_]|\b(?:Inc|Corp|Co|Ltd|Bros|Jr|Sr|St|Ste|Mt|Ft|Ave|Blvd|Dept|Univ))$")


def common_label(raw: str) -> str:
    return COMMON_LABELS.get(raw, "MISC")


def clean_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim punctuation and quotes a model left at the edges of a span, but not the period that ends an
    abbreviation ("U.S.", "Acme Inc.", "Martin Luther King Jr.")."""
    limit = end
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    if end < limit and text[end] == "." and _ABBREVIATION.search(text, start, end):
        end += 1
    return start, end


def mark_line_breaks(doc):
    """A spaCy component run before `ner`: a line break starts a sentence. NER-only loading has no parser
    to find sentences, and the model's entities never cross a sentence start, so "Japan\nLucky Emdldm"
    cannot become one name (headlines, datelines and table rows are lines of their own)."""
    if doc.has_annotation("DEP"):  # a kept parser already set the sentences (and they are read-only)
        return doc
    # only whitespace tokens are visited, found in one array call (a Python loop over every token, or
    # building doc.text, costs ~0.2 ms an article: ~1 % of NER)
    for i in doc.to_array("IS_SPACE").nonzero()[0].tolist():
        if "\n" in doc[i].text and i + 1 < len(doc):
            doc[i].is_sent_start = True
            doc[i + 1].is_sent_start = True
    return doc


def doc_entities(doc, package: str = "", text: str | None = None) -> list[dict[str, Any]]:
    """The doc's entities with offsets into `text`, the text the doc was made from (spaCy keeps every
    character, so it is doc.text, which costs ~0.6 ms an article to rebuild token by token)."""
    text = doc.text if text is None else text
    out = []
    for ent in doc.ents:
        label = ner_adapters.ontonotes_label(package, ent.label_)  # GiNZA's ENE types -> OntoNotes
        start, end = clean_span(text, ent.start_char, ent.end_char)
        holder = ner_adapters.title_holder(package, text, start, end, ent.label_)
        if holder:   # "ゼレンスキー大統領": the person before the title (label_raw stays the model's)
            (start, end), label = holder, "PERSON"
        if label in NOT_ENTITIES or label in ner_adapters.NOT_NAMES:
            continue
        # one letter is a name in Chinese and Japanese (習, 東), not in alphabets
        if end - start < (1 if _ideographic(text[start]) else 2) or not any(ch.isalpha() for ch in text[start:end]):
            continue
        out.append({"text": text[start:end], "label": common_label(label), "label_raw": ent.label_,
                    "start": start, "end": end})
    return out


def _ideographic(ch: str) -> bool:
    return "\u3040" <= ch <= "\u9fff"  # kana and CJK ideographs


@dataclass
class EntityTagger:
    """language -> spaCy model package (default: the registry's choice). A language with no installed
    model is `no_model`. `load()` loads the `preload` languages (None: all); any other is loaded the
    first time a record in it comes (an idle language costs no memory)."""

    models: dict[str, str] = field(default_factory=ner_models.resolve)
    batch_size: int = 8
    preload: tuple[str, ...] | None = None
    _nlp: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def installed(self) -> dict[str, str]:
        return {lang: pkg for lang, pkg in self.models.items() if ner_models.is_installed(pkg)}

    def load(self) -> "EntityTagger":
        """Load the preloaded installed models once, with only the components NER needs (about twice as
        fast)."""
        for lang in self.installed():
            if self.preload is None or lang in self.preload:
                self._load(lang)
        return self

    def _load(self, lang: str) -> None:
        import spacy
        from spacy.language import Language

        if lang in self._nlp:
            return
        package = self.models[lang]
        shared = next((nlp for other, nlp in self._nlp.items() if self.models.get(other) == package), None)
        if shared is not None:   # one model for two languages (a stand-in): loaded once
            self._nlp[lang] = shared
            return
        if package in ner_adapters.LOADERS:
            probe = ner_adapters.LOADERS[package]()
        else:
            with big_patterns_cached():  # French: 2.7 s of tokenizer regex compiling, once per machine
                probe = spacy.load(ner_adapters.own_model_dir(package) or package,
                                   exclude=ner_models.ner_only_exclusions(package))
        if "ner" not in probe.pipe_names:
            raise RuntimeError(f"model {package} for {lang!r} has no 'ner' component")
        if not Language.has_factory(LINE_BREAKS):
            Language.component(LINE_BREAKS, func=mark_line_breaks)
        probe.add_pipe(LINE_BREAKS, before="ner")
        self._nlp[lang] = probe

    def model_for(self, lang: str) -> str | None:
        return self.models.get(lang) if lang in self._nlp else None

    def tag(self, items: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """Tag (language, text) pairs; returns one {entities, entity_summary, ner} per item, in order."""
        results: list[dict[str, Any] | None] = [None] * len(items)
        by_lang: dict[str, list[int]] = defaultdict(list)
        for i, (lang, _text) in enumerate(items):
            by_lang[lang].append(i)
        for lang, indexes in by_lang.items():
            if lang not in self._nlp and lang in self.models and ner_models.is_installed(self.models[lang]):
                self._load(lang)  # first use
            nlp = self._nlp.get(lang)
            if nlp is None:
                reason = (f"spaCy model {self.models[lang]!r} for language {lang!r} is not installed"
                          if lang in self.models else f"no spaCy model installed for language {lang!r}")
                for i in indexes:
                    results[i] = {"entities": [], "entity_summary": [],
                                  "ner": {"status": "no_model", "model": None, "reason": reason}}
                continue
            package = self.models[lang]
            docs = nlp.pipe((ner_adapters.model_text(package, items[i][1]) for i in indexes),
                            batch_size=self.batch_size)
            for i, doc in zip(indexes, docs):
                ents = doc_entities(doc, package, items[i][1])
                results[i] = {"entities": ents, "entity_summary": canonicalise(ents, lang),
                              "ner": {"status": "ok", "model": package}}
        return results  # type: ignore[return-value]


# --- NER in a child process -------------------------------------------------------------------------
# A worker can run spaCy in its own child process instead of a thread: the worker's event loop (Kafka
# I/O, language, dedup, sink) then never competes with NER for the GIL. bench/ measures both.
_child_tagger: EntityTagger | None = None


def _die_with_parent() -> None:
    """A worker that exits hard (a fatal fault's os._exit, SIGKILL) must not leave its NER child running:
    Linux's PR_SET_PDEATHSIG kills the child when the parent goes."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return  # not Linux: the pool's own shutdown still stops the child on a clean exit


def _child_init(models: dict[str, str], batch_size: int, cpus: tuple[int, ...] = (),
                preload: tuple[str, ...] | None = None) -> None:
    global _child_tagger
    _die_with_parent()
    if cpus:  # optional pinning (NEWSFEED_NER_CPUS): keeps NER on a core of its own
        os.sched_setaffinity(0, set(cpus))
    _child_tagger = EntityTagger(models=models, batch_size=batch_size, preload=preload).load()


def _child_tag(items: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    assert _child_tagger is not None
    return _child_tagger.tag(items)


class ProcessTagger:
    """Same interface as EntityTagger.tag, run in `processes` child processes (models loaded once each)."""

    def __init__(self, models: dict[str, str], batch_size: int = 8, processes: int = 1,
                 cpus: tuple[int, ...] = (), preload: tuple[str, ...] | None = None):
        from concurrent.futures import ProcessPoolExecutor
        import multiprocessing

        self.models, self.batch_size = models, batch_size
        self._pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_child_init, initargs=(models, batch_size, cpus, preload))
        self.processes = processes

    def start_loading(self, parent_nice: int = 0) -> None:
        """Start the children loading their models now, without waiting (they load on their own cores).
        `parent_nice` > 0 then lowers this (parent) process's priority by that many nice levels: the
        children, already started, keep theirs, so NER wins the CPU when the machine is busy."""
        if not hasattr(self, "_loading"):
            # submit() starts the children synchronously, so they exist before the renice below
            self._loading = [self._pool.submit(_child_tag, [("fr", "Paris.")]) for _ in range(self.processes)]
            if parent_nice > 0:
                os.nice(parent_nice)

    def load(self) -> "ProcessTagger":
        # one tiny call per child: each has loaded its models when these return
        self.start_loading()
        for future in self._loading:
            future.result()
        return self

    def submit(self, items: Sequence[tuple[str, str]]):
        return self._pool.submit(_child_tag, list(items))

    def tag(self, items: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        return self.submit(items).result()

    def close(self) -> None:
        processes = list(getattr(self._pool, "_processes", {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:  # a child mid-batch would otherwise finish it before exiting
            proc.terminate()
