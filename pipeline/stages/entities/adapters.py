"""NER models that are not `xx_core_*` spaCy packages, made to look like one to the entity stage.

- `natasha` (Russian): Slovnet's news NER (PER/LOC/ORG, trained on Nerus, MIT) with the Navec embeddings,
  both shipped inside the `natasha` wheel. It runs on the raw text, so it is wrapped as the `ner`
  component of a blank Russian spaCy pipeline: its character spans become `doc.ents`.
- the project's own models (`pipeline/ner_weights/<package>/`, trained by offline/train_ner.py, each with
  its MODEL_CARD.md): loaded from their folder; the language is the one in their meta.json.
- `ja_ginza` (Japanese, MIT): a real spaCy 3.8 package (SudachiPy tokens: no spaces needed) whose NER
  uses Sekine's extended named entity types (`Person`, `City`, `Company`, ~190 of them); GiNZA's own
  table maps them to OntoNotes types, which the stage maps to the common PER/ORG/LOC/MISC. The raw
  type stays in `label_raw`.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

NATASHA = "natasha"
NATASHA_FACTORY = "newsfeed_natasha_ner"
# packages the registry picks by itself when installed, with their language (after any official package)
EXTRA_PACKAGES = {"ja_ginza": "ja", NATASHA: "ru"}
# language -> a close language's package, picked only when nothing of the language's own serves it: no
# Ukrainian NER data reachable here may ship in weights; the Russian model, with the places stage's
# arbitration, gets F1 80 on the parallel-news Ukrainian (bench/russian_ner_on_ukrainian.py)
STAND_INS = {"uk": NATASHA}
PROVENANCE = {"ja_ginza": "GiNZA spaCy package (Megagon Labs)",
              NATASHA: "Natasha/Slovnet news NER in a spaCy pipeline (pipeline/stages/entities/adapters.py)"}
# ENE types GiNZA maps to NORP that name organisations (the English models tag these ORG)
_ENE_ORG = {"Political_Party", "International_Organization"}
# Japanese news names a person by surname + title ("ゼレンスキー大統領", "李在明大統領"), and GiNZA tags the
# whole as `Position_Vocation` (or `Person` with the title in it): the name before a title is the person (the
# longest title first)
_JA_TITLES = tuple(sorted((
    "大統領", "副大統領", "前大統領", "元大統領", "次期大統領", "首相", "官房長官", "幹事長", "大臣", "元首相", "前首相", "外相", "財務相", "国防相", "事務総長", "事務局長", "総裁",
    "国務長官", "長官", "議長", "委員長", "主席", "国家主席", "総書記", "国王", "女王", "皇太子", "知事", "市長",
    "会長", "社長", "最高経営責任者", "氏", "首脳"), key=len, reverse=True))
# a name is katakana (with its middle dot and long vowel mark) or kanji, not a country or body ("米", "同国")
_JA_NAME = re.compile(r"[\u30a0-\u30ff\u4e00-\u9fff]{2,12}")
_JA_NOT_NAMES = re.compile(r"(?:国|府|省|庁|県|市|州|軍|党|両|同|各|新|現|前|元)$|^(?:両|同|各|新|現|前|元|米|中|日|英|仏|独|露|韓)")
# OntoNotes-like types of GiNZA's table that name no person, organisation, place or thing of the news
NOT_NAMES = frozenset({"OTHERS", "ANIMAL", "PHONE", "EMAIL", "URL"})


def _natasha_data() -> Path:
    spec = importlib.util.find_spec(NATASHA)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("natasha is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


class NatashaNER:
    """spaCy component: Slovnet NER over each doc's text, batched; spans snap to spaCy's tokens."""

    def __init__(self) -> None:
        from navec import Navec
        from slovnet import NER

        data = _natasha_data()
        self.ner = NER.load(str(data / "model" / "slovnet_ner_news_v1.tar"))
        self.ner.navec(Navec.load(str(data / "emb" / "navec_news_v1_1B_250K_300d_100q.tar")))

    def __call__(self, doc):
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable, batch_size: int = 8):
        batch = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._tag(batch)
                batch = []
        if batch:
            yield from self._tag(batch)

    def _tag(self, docs: list):
        for doc, markup in zip(docs, self.ner.map([doc.text for doc in docs])):
            spans = []
            for span in markup.spans:
                # a name never crosses a line (headlines, datelines): keep the part before the break
                newline = doc.text.find("\n", span.start, span.stop)
                stop = newline if newline > span.start else span.stop
                found = doc.char_span(span.start, stop, label=span.type, alignment_mode="expand")
                if found is not None and (not spans or found.start >= spans[-1].end):
                    spans.append(found)
            doc.ents = spans
            yield doc


def load_natasha():
    """A blank Russian spaCy pipeline whose `ner` is Slovnet's."""
    import spacy
    from spacy.language import Language

    if not Language.has_factory(NATASHA_FACTORY):
        Language.factory(NATASHA_FACTORY, func=lambda nlp, name: NatashaNER())
    nlp = spacy.blank("ru")
    nlp.add_pipe(NATASHA_FACTORY, name="ner")
    return nlp


LOADERS: dict[str, Callable] = {NATASHA: load_natasha}
WEIGHTS = Path(__file__).resolve().parents[2] / "ner_weights"


@lru_cache(maxsize=1)
def own_models() -> dict[str, str]:
    """package -> language of the models shipped in pipeline/ner_weights/."""
    metas = sorted(WEIGHTS.glob("*/meta.json")) if WEIGHTS.is_dir() else []
    return {meta.parent.name: json.loads(meta.read_text("utf-8"))["lang"] for meta in metas}


def own_model_dir(package: str) -> Path | None:
    return WEIGHTS / package if package in own_models() else None


@lru_cache(maxsize=1)
def _ene_to_ontonotes() -> dict[str, str]:
    """GiNZA's table, read from its module alone: `import ginza` imports spaCy (0.5-3 s of CPU and ~40 MB in a
    worker whose NER runs in a child process, paid by the first article's places)."""
    spec = importlib.util.find_spec("ginza")
    mapper = Path(next(iter(spec.submodule_search_locations or ())), "ene_ontonotes_mapper.py") if spec else None
    if mapper is None or not mapper.is_file():   # not installed (ImportError), or laid out otherwise
        from ginza.ene_ontonotes_mapper import ENE_ONTONOTES_MAPPING as mapping
    else:
        module = importlib.util.module_from_spec(importlib.util.spec_from_file_location("_ginza_ene_mapping", mapper))
        module.__spec__.loader.exec_module(module)
        mapping = module.ENE_ONTONOTES_MAPPING
    return {**mapping, **{ene: "ORG" for ene in _ENE_ORG}}


@lru_cache(maxsize=1)
def place_labels() -> frozenset[str]:
    """Raw labels of model mentions that name a place: GPE and LOC, and the ENE types GiNZA's table maps to them
    (`City`, `Country`, `Province`…; not addresses, which the gazetteer does not hold)."""
    labels = {"LOC", "GPE"}
    try:
        labels |= {ene for ene, onto in _ene_to_ontonotes().items()
                   if onto in ("GPE", "LOC") and "Address" not in ene}
    except ImportError:   # GiNZA not installed: no ENE labels to expect
        pass
    return frozenset(labels)


def title_holder(package: str, text: str, start: int, end: int, raw: str) -> tuple[int, int] | None:
    """The person's name inside a GiNZA `Position_Vocation` or `Person` span "<name><title>", or None (another
    model, no title, a bare title, a country's or a body's title: "大統領", "米大統領", "ロシア政府", "両首脳")."""
    if raw not in ("Position_Vocation", "Person") or not package.startswith("ja_ginza"):
        return None
    span = text[start:end]
    title = next((t for t in _JA_TITLES if span.endswith(t)), None)
    name = span[:len(span) - len(title)] if title else ""
    if not _JA_NAME.fullmatch(name) or _JA_NOT_NAMES.search(name):
        return None
    return start, start + len(name)


# The Arabic model learnt from text whose hamza is normalised (NewsFANE Gold: no أ إ آ ٱ): it reads the stream's
# text with those written as bare alif, one letter for one, so its offsets hold for the original text
_MODEL_INPUT = {"ar_newsfeed_ner": str.maketrans("أإآٱ", "اااا")}


def model_text(package: str, text: str) -> str:
    """The text as `package` reads it (the same length: entity offsets apply to the original)."""
    table = _MODEL_INPUT.get(package)
    return text.translate(table) if table else text


def ontonotes_label(package: str, raw: str) -> str:
    """The OntoNotes/CoNLL type of a model's raw label (GiNZA's ENE types mapped; others unchanged)."""
    if package.startswith("ja_ginza"):
        return _ene_to_ontonotes().get(raw, "OTHERS")
    return raw
