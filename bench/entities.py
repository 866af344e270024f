"""Entity stage benchmark, per language: bare `nlp.pipe` against the stage (`EntityTagger.tag`: the same
model, components and batch size, plus span cleaning, the label map and canonical entities), side by side
in one process on one core, and what canonicalisation alone costs an article.

    .venv/bin/python bench/entities.py [--n 200] [--rounds 3]

Loads: synthetic seed-length articles built from seeds/ (French) and bench/english/ (English), the same
generator `newsfeed bench` uses. Rounds alternate bare and stage so a shared machine's drift hits both;
the figures are medians. Prints figures and ratios; asserts nothing.

    .venv/bin/python bench/entities.py --part accuracy [--docs 216]

Accuracy: exact-span P/R/F1 per label (PER ORG LOC MISC), the pipeline's stages (clean, language, entities)
against bare spaCy (the full model, labels mapped, numeric types dropped) on the same texts, side by side:
WikiNEuRal validation en/fr (10-sentence paragraphs) and CoNLL-2003 validation en (whole articles, tables
and all), from `fetch github:Babelscape/wikineural` (bench/ner_eval.py; test splits are never read).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ner_eval  # noqa: E402
from pipeline.stages.entities.canonical import canonicalise  # noqa: E402
from pipeline.stages.entities.tagging import EntityTagger, doc_entities  # noqa: E402
from pipeline.stages.text import clean  # noqa: E402
from pipeline.tools.synth import synthesize  # noqa: E402

LOADS = {"fr": ROOT / "seeds", "en": ROOT / "bench" / "english",
         # every other language: its test article, sentences rotated into seed-length texts (~4,000 chars)
         **{path.stem: path for path in sorted((ROOT / "tests" / "data" / "languages").glob("*.txt"))}}


def texts_for(seed_dir: Path, n: int) -> list[str]:
    if seed_dir.is_file():
        return rotated(seed_dir.read_text("utf-8"), n)
    load = synthesize(n, seed_dir, mix="unique=1", seed=0, length="seed")
    return [clean(a["text"]).text for a in load.articles]


def rotated(article: str, n: int, chars: int = 4000) -> list[str]:
    """n texts of ~`chars` made of the article's sentences, each starting one sentence later."""
    import re

    sentences = [s for s in re.split(r"(?<=[.!?。])\s*", article.strip()) if s]
    out = []
    for i in range(n):
        text, k = "", i
        while len(text) < chars:
            text += sentences[k % len(sentences)] + ("" if sentences[0][-1] == "。" else " ")
            k += 1
        out.append(text)
    return out


def timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def bench_language(tagger: EntityTagger, lang: str, texts: list[str], rounds: int) -> dict:
    nlp, size = tagger._nlp[lang], tagger.batch_size
    batches = [texts[i:i + size] for i in range(0, len(texts), size)]
    list(nlp.pipe(texts[:size], batch_size=size))   # warm-up
    def run_bare():   # docs dropped as they come, as bench.py's bare spaCy does (keeping them costs GC time)
        for batch in batches:
            for _doc in nlp.pipe(batch, batch_size=size):
                pass

    def run_stage():  # the stage as workers call it: one tag() per batch of records
        for batch in batches:
            tagger.tag([(lang, t) for t in batch])

    bare, stage = [], []
    for i in range(rounds):   # alternate which goes first
        for name, run in ((("bare", run_bare), ("stage", run_stage))[:: 1 if i % 2 == 0 else -1]):
            (bare if name == "bare" else stage).append(timed(run))
    mentions = [doc_entities(doc, tagger.models[lang]) for doc in nlp.pipe(texts, batch_size=size)]
    copies = [copy.deepcopy(mentions) for _ in range(rounds)]
    canonical = [timed(lambda: [canonicalise(m, lang) for m in c]) for c in copies]
    bare_s, stage_s, canon_s = (statistics.median(x) for x in (bare, stage, canonical))
    return {"docs": len(texts), "mean_chars": round(statistics.mean(map(len, texts))),
            "mentions_per_doc": round(sum(map(len, mentions)) / len(texts), 1),
            "bare_docs_s": len(texts) / bare_s, "stage_docs_s": len(texts) / stage_s,
            "ratio": bare_s / stage_s, "canonical_ms_per_doc": 1000 * canon_s / len(texts),
            "ner_ms_per_doc": 1000 * bare_s / len(texts)}


def bare_model(package: str):
    """The model's full pipeline (not only NER), as a user would load it."""
    import spacy

    from pipeline.stages.entities import adapters as ner_adapters

    if package in ner_adapters.LOADERS:
        return ner_adapters.LOADERS[package]()
    return spacy.load(ner_adapters.own_model_dir(package) or package)


def accuracy(tagger: EntityTagger, docs_per_set: int, only: set[str] | None = None) -> None:
    from pipeline.stages.language import LanguageDetector

    detector = LanguageDetector()
    for name, (lang, path, _mode) in ner_eval.DATASETS.items():
        if only and lang not in only:
            continue
        docs = ner_eval.load(name, docs_per_set)
        if docs is None or lang not in tagger.models:
            print(f"{name}: no data at {ner_eval.MIRROR} (fetch github:Babelscape/wikineural) or no model")
            continue
        ours, languages = ner_eval.pipeline_spans(docs, tagger, detector)
        bare = ner_eval.bare_spans(docs, bare_model(tagger.models[lang]))
        # before: the pipeline with English and French models only (this language: gazetteer places)
        before = None
        if lang not in ("en", "fr"):
            old = EntityTagger(models={k: v for k, v in tagger.models.items() if k in ("en", "fr")}).load()
            before = ner_eval.score(docs, ner_eval.pipeline_spans(docs, old, detector)[0])
        print(f"{name} ({path}, first {len(docs)} texts): ours = the stages, bare = {tagger.models[lang]}; "
              f"detected languages {dict(languages.most_common())}")
        print("\n".join(ner_eval.table(ner_eval.score(docs, ours), ner_eval.score(docs, bare), before)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="articles per language")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part", default="speed,accuracy", help="speed, accuracy or both")
    parser.add_argument("--docs", type=int, default=216, help="texts per accuracy data set")
    parser.add_argument("--languages", default="", help="only these languages (data sets, speed loads; comma separated)")
    args = parser.parse_args()
    tagger = EntityTagger().load()
    if "accuracy" in args.part:
        accuracy(tagger, args.docs, set(filter(None, args.languages.split(","))))
    if "speed" not in args.part:
        return
    print(f"models: {tagger.installed()}, batch {tagger.batch_size}, components {tagger._nlp['fr'].pipe_names}")
    wanted = set(filter(None, args.languages.split(",")))
    for lang, seed_dir in LOADS.items():
        if wanted and lang not in wanted:
            continue
        if lang not in tagger._nlp:
            print(f"{lang}: no model installed, skipped")
            continue
        r = bench_language(tagger, lang, texts_for(seed_dir, args.n), args.rounds)
        print(f"{lang} ({tagger.models[lang]}): {r['docs']} articles of ~{r['mean_chars']} chars from "
              f"{seed_dir.relative_to(ROOT)}, {r['mentions_per_doc']} entities an article")
        print(f"  bare nlp.pipe {r['bare_docs_s']:.1f} docs/s | stage {r['stage_docs_s']:.1f} docs/s | "
              f"stage ÷ bare {r['ratio']:.3f}")
        print(f"  canonical entities {r['canonical_ms_per_doc']:.3f} ms an article "
              f"({100 * r['canonical_ms_per_doc'] / r['ner_ms_per_doc']:.2f} % of NER's {r['ner_ms_per_doc']:.1f} ms)")


if __name__ == "__main__":
    main()
