"""The parallel-news check (bench/parallel_news.py), short: two of its articles in sixteen languages, as a user
runs it. Languages with a model find the people and organisations of the English original; every language
finds most of its places; nothing got worse than the English-and-French-only pipeline it is compared with."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def test_the_same_article_in_sixteen_languages_yields_comparable_entities(tmp_path):
    out = tmp_path / "parallel.json"
    proc = subprocess.run([sys.executable, "bench/parallel_news.py", "--articles", "2", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(out.read_text())
    before, ours = figures["before"], figures["ours"]
    assert len(ours) == 15 and all(f"| {lang} |" in proc.stdout for lang in ours)
    for lang, row in ours.items():
        assert row["detected"] == "2/2", (lang, row)
        assert row["places"] >= 0.5, (lang, row)   # every script: Devanagari, Hangul, kana, Arabic…
        assert row["people_orgs"] >= before[lang]["people_orgs"] and row["places"] >= before[lang]["places"] - 0.2
    for lang in ("fr", "pt", "ru", "ja", "de", "es", "it"):   # the languages with a model
        assert ours[lang]["people_orgs"] >= 0.5 > before[lang]["people_orgs"] or lang == "fr", (lang, ours[lang])
