"""Parallel news: the same article in sixteen languages must yield comparable people, organisations and places.

    .venv/bin/python bench/parallel_news.py [--articles N] [--json FILE] [--names de,it]

Data: bench/fixtures/parallel_news.jsonl, written for newsfeed (8 short news articles, each in en, fr, de, es,
it, pt, nl, pl, ru, uk, tr, ar, hi, ja, zh, ko; the project's own text, not the WMT/NTREX family, which is
held out). Each translation goes through the stages as a worker runs them (clean -> language detection ->
entities -> places: `steps.tag_entities`) and is compared with the English original's output:
- people + organisations: distinct PER/ORG names of `entity_summary`, their number against the original's
  (per article at most the original's count), summed over the articles;
- places: the GeoNames ids found that the original also found, against the original's ids.
Side by side in one run: "before" is the pipeline with the English and French models only (what #32
started from: other languages got places from the gazetteer alone), "ours" every installed model.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import config  # noqa: E402
from pipeline.stages import steps  # noqa: E402
from pipeline.stages.entities.tagging import EntityTagger  # noqa: E402
from pipeline.stages.language import LanguageDetector  # noqa: E402
from pipeline.stages.text import clean  # noqa: E402

FIXTURE = ROOT / "bench" / "fixtures" / "parallel_news.jsonl"
PEOPLE_ORGS = ("PER", "ORG")


def load(path: Path = FIXTURE, articles: int | None = None) -> dict[str, dict[str, str]]:
    """article id -> language -> text, the first `articles` articles."""
    texts: dict[str, dict[str, str]] = defaultdict(dict)
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if articles is None or row["article"] in texts or len(texts) < articles:
            texts[row["article"]][row["lang"]] = row["text"]
    return dict(texts)


def run(texts: dict[str, dict[str, str]], tagger: EntityTagger, detector: LanguageDetector) -> dict[tuple, dict]:
    """(article, language) -> what the stages found: detected language, NER model, people/orgs, place ids."""
    keys = [(a, lang) for a, by_lang in texts.items() for lang in by_lang]
    records = [steps.detect_language({"id": f"{a}-{lang}", "text": clean(texts[a][lang]).text, "timings": {}},
                                     detector) for a, lang in keys]
    found = {}
    for key, record in zip(keys, steps.tag_entities(records, tagger)):
        found[key] = {"detected": record["language"]["code"], "model": (record.get("ner") or {}).get("model"),
                      "people_orgs": {e["name"] for e in record.get("entity_summary") or []
                                      if e["label"] in PEOPLE_ORGS},
                      "labelled": sorted({(e["label"], e["name"]) for e in record.get("entity_summary") or []
                                          if e["label"] in PEOPLE_ORGS}),
                      "places": {p["geonameid"] for p in record.get("places") or []}}
    return found


def compare(found: dict[tuple, dict], articles: list[str], lang: str) -> dict:
    """One language against the English original, over the articles."""
    people = reference_people = places = reference_places = 0
    detected_right = 0
    for article in articles:
        original, translated = found[(article, "en")], found[(article, lang)]
        reference_people += len(original["people_orgs"])
        people += min(len(translated["people_orgs"]), len(original["people_orgs"]))
        reference_places += len(original["places"])
        places += len(translated["places"] & original["places"])
        detected_right += translated["detected"] == lang
    return {"people_orgs": people / reference_people if reference_people else 0.0,
            "places": places / reference_places if reference_places else 0.0,
            "detected": f"{detected_right}/{len(articles)}",
            "model": sorted({found[(a, lang)]["model"] or "-" for a in articles})}


def print_names(found: dict[tuple, dict], articles: list[str], languages: list[str]) -> None:
    """What each language found in each article (to read where a model misses)."""
    for article in articles:
        print(f"--- {article}")
        for lang in languages:
            names = found[(article, lang)]["labelled"]
            print(f"  {lang}: " + "; ".join(f"{label} {name}" for label, name in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=None, help="only the first N articles (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--names", default="", help="print each article's people+organisations in these "
                                                     "languages (comma-separated) beside the English original's")
    args = parser.parse_args()
    texts = load(articles=args.articles)
    articles, languages = list(texts), list(next(iter(texts.values())))
    detector = LanguageDetector()
    ours = EntityTagger(models=config.load().ner_model_map()).load()   # NEWSFEED_NER_MODELS honoured, as in a worker
    before = EntityTagger(models={k: v for k, v in ours.models.items() if k in ("en", "fr")}).load()
    figures = {}
    for name, tagger in (("before", before), ("ours", ours)):
        started = time.perf_counter()
        found = run(texts, tagger, detector)
        figures[name] = {lang: compare(found, articles, lang) for lang in languages if lang != "en"}
        english = found
        if name == "ours" and args.names:
            print_names(found, articles, ["en"] + args.names.split(","))
        print(f"{name}: {len(found)} texts in {time.perf_counter() - started:.1f} s")
    print(f"\nparallel news ({len(articles)} articles, bench/fixtures/parallel_news.jsonl): found in the "
          f"translation ÷ found in the English original "
          f"(en: {sum(len(english[(a, 'en')]['people_orgs']) for a in articles)} people+organisations, "
          f"{sum(len(english[(a, 'en')]['places']) for a in articles)} places)")
    print("| language | detected | people+orgs before | people+orgs ours | places before | places ours | model (ours) |")
    print("|---|---|---|---|---|---|---|")
    for lang in languages[1:]:
        b, o = figures["before"][lang], figures["ours"][lang]
        print(f"| {lang} | {o['detected']} | {b['people_orgs']:.2f} | {o['people_orgs']:.2f} | {b['places']:.2f} | "
              f"{o['places']:.2f} | {', '.join(o['model'])} |")
    ours_rows = figures["ours"].values()
    print(f"\nours: people+orgs >= 0.7 in {sum(r['people_orgs'] >= 0.7 for r in ours_rows)} of {len(ours_rows)} "
          f"translations; places >= 0.6 in {sum(r['places'] >= 0.6 for r in ours_rows)} of {len(ours_rows)}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
