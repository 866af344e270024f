"""Language stage benchmark: accuracy per language on tests/data/languages.tsv (headlines and
paragraphs), sample vs full text on long articles, throughput on one core, RSS.

    .venv/bin/python bench/language.py

Compares, side by side in one run: lingua alone (full text), lingua on the bounded sample, and the
default detector (fastText fast path + lingua). Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.stages.entities import EntityTagger  # noqa: E402
from pipeline.stages.language import LanguageDetector  # noqa: E402
from pipeline.stages.text import clean  # noqa: E402


def load_set():
    rows = []
    for line in (ROOT / "tests/data/languages.tsv").read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            lang, kind, text = line.split("\t")
            rows.append((lang, kind, text))
    return rows


def long_articles(rows, n_chars=8000):
    """A long article per language: its paragraphs and headlines repeated, then shuffled in order."""
    by_lang = defaultdict(list)
    for lang, _kind, text in rows:
        by_lang[lang].append(text)
    out = []
    for lang, texts in by_lang.items():
        body, i = [], 0
        while sum(map(len, body)) < n_chars:
            body.append(texts[i % len(texts)])
            i += 1
        out.append((lang, "long", "\n\n".join(body)))
    return out


def accuracy(detector, rows):
    per = defaultdict(lambda: [0, 0])
    for lang, kind, text in rows:
        got = detector.detect(text)["code"]
        per[(lang, kind)][0] += got == lang
        per[(lang, kind)][1] += 1
    return per


def rate(fn, items, min_seconds=2.0):
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < min_seconds:
        for item in items:
            fn(item)
        n += len(items)
    return n / (time.perf_counter() - started)


def main():
    rows = load_set()
    longs = long_articles(rows)
    seeds = [clean(p.read_text("utf-8")).text for p in sorted((ROOT / "seeds").glob("*.txt"))]
    headlines = [t for _l, k, t in rows if k == "headline"]
    variants = {
        "lingua, full text": LanguageDetector(sample_chars=10**9, fast_path=False),
        "lingua, 3000-char sample": LanguageDetector(sample_chars=3000, fast_path=False),
        "default (fastText fast path + lingua, 3000-char sample)": LanguageDetector(sample_chars=3000),
    }
    rss0 = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    default_detector = variants["default (fastText fast path + lingua, 3000-char sample)"]
    default_detector.warm_up()
    print(f"default detector warm-up: {time.perf_counter() - t0:.1f}s, RSS {rss0 / 1e6:.0f} MB -> "
          f"{psutil.Process().memory_info().rss / 1e6:.0f} MB")
    for d in variants.values():
        d.warm_up()
    langs = sorted({lang for lang, _k, _t in rows})
    print(f"\ntest set: {len(rows)} texts in {len(langs)} languages + {len(longs)} long articles (~8000 chars)\n")
    results = {}
    for name, d in variants.items():
        per = accuracy(d, rows + longs)
        results[name] = per
        art = rate(d.detect, seeds)
        head = rate(d.detect, headlines)
        print(f"{name}")
        for kind in ("headline", "paragraph", "long"):
            ok = sum(v[0] for (_l, k), v in per.items() if k == kind)
            n = sum(v[1] for (_l, k), v in per.items() if k == kind)
            print(f"  accuracy {kind:9}: {ok}/{n} = {ok / n:.1%}")
        print(f"  throughput: {art:,.0f} seed articles/s, {head:,.0f} headlines/s (one core)")
        results[name + ":rate"] = art
    default = "default (fastText fast path + lingua, 3000-char sample)"
    print("\nper language (default detector): headline / paragraph / long correct")
    per = results[default]
    misses = []
    for lang in langs:
        cells = [f"{per[(lang, k)][0]}/{per[(lang, k)][1]}" for k in ("headline", "paragraph", "long")]
        print(f"  {lang}: {' '.join(cells)}")
    d = variants[default]
    for lang, kind, text in rows:
        got = d.detect(text)
        if got["code"] != lang:
            misses.append(f"  {lang} {kind}: got {got['code']} ({got.get('reason') or got['confidence']}) «{text[:60]}»")
    print("misses:\n" + ("\n".join(misses) or "  none"))

    tagger = EntityTagger().load()
    started = time.perf_counter()
    tagger.tag([("fr", t) for t in seeds * 4])
    ner_rate = 20 / (time.perf_counter() - started)
    print(f"\nentity stage (bare spaCy NER, fr_core_news_md): {ner_rate:.1f} seed articles/s")
    for name in variants:
        print(f"  {name}: {results[name + ':rate'] / ner_rate:,.0f}x the entity stage (target >= 20x)")
    print(f"RSS after everything: {psutil.Process().memory_info().rss / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
