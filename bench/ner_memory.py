"""Memory of the NER process per language: resident set size (RSS) of a fresh process that loads one
language's model the way the worker does (NER components only) and tags one article, against the same
process with no model loaded; then one process with every installed model loaded. A language a worker
serves but never sees costs nothing: models load on a language's first article (NEWSFEED_NER_PRELOAD).

    .venv/bin/python bench/ner_memory.py

Prints a table (MB); asserts nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.stages.entities import models as ner_models  # noqa: E402

TEXTS = {"ru": ROOT / "tests/data/languages/ru.txt", "ja": ROOT / "tests/data/languages/ja.txt",
         "en": ROOT / "tests/data/english_article.txt"}
PROBE = """
import json, sys, psutil, spacy, numpy
from pipeline.stages.entities.tagging import EntityTagger
langs, texts = json.loads(sys.argv[1]), json.loads(sys.argv[2])
tagger = EntityTagger(models={l: p for l, p in EntityTagger().models.items() if l in langs}, preload=())
before = psutil.Process().memory_info().rss
tagger.tag([(l, texts.get(l, "Paris et Berlin.")) for l in langs])
print(json.dumps({"base": before / 2**20, "loaded": psutil.Process().memory_info().rss / 2**20}))
"""


def rss(langs: list[str]) -> dict:
    texts = {lang: path.read_text("utf-8") for lang, path in TEXTS.items()}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(langs), json.dumps(texts)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    models = ner_models.resolve()
    base = rss([])["base"]
    print(f"NER process, no model loaded (Python, spaCy, numpy, the stage imported): {base:.0f} MB RSS")
    print("| language | model | RSS with it loaded, MB | its cost, MB |")
    print("|---|---|---:|---:|")
    for lang, package in sorted(models.items()):
        got = rss([lang])["loaded"]
        print(f"| {lang} | `{package}` | {got:.0f} | {got - base:.0f} |")
    every = rss(sorted(models))["loaded"]
    print(f"| all {len(models)} | | {every:.0f} | {every - base:.0f} |")


if __name__ == "__main__":
    main()
