"""Places through the real `newsfeed run` on both broker engines (issue 35): the seeds get no La Défense
and no Paris "Maison Blanche" (the White House is Washington, a metonym), one Zelensky per record, and a
one-line article that reads like a photo credit is enriched, not dead-lettered as empty_text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from pipeline.contracts import schemas
from pipeline.writers.jsonl import read_jsonl

from conftest import ROOT, SEEDS, make_stack

pytestmark = pytest.mark.slow

CREDIT = "(Greg Trotter / News-Leader)"


def test_seeds_and_a_photo_credit_article_through_newsfeed_run(broker, tmp_path):
    stack = make_stack(broker, tmp_path)
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    (articles / "credit.txt").write_text(CREDIT + "\n", "utf-8")
    env = {k: v for k, v in os.environ.items() if k != "NEWSFEED_NER_MODELS"}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(articles), "--output", str(stack.output)],
                          cwd=ROOT, capture_output=True, text=True, timeout=400, env={**env, **stack.env})
    assert done.returncode == 0, done.stdout + done.stderr
    records = read_jsonl(stack.output / "enriched.jsonl")
    assert len(records) == 6 and not (stack.output / "dead-letter.jsonl").exists()
    assert CREDIT in {r["text"] for r in records}
    for record in records:
        assert schemas.errors("enriched", record) == []
        places = [e for e in record["entities"] if e.get("place")]
        assert not any(e["place"]["name"] in ("La Defense", "Maison Blanche") for e in places), record["id"]
        for ent in places:
            if ent["text"] == "Maison Blanche":
                assert (ent["place"]["name"], ent["place_form"]) == ("Washington", "metonym")
        zelensky = [s for s in record["entity_summary"] if "zelensk" in s["name"].casefold()]
        assert len(zelensky) <= 1, zelensky
    seed_003 = next(r for r in records if "Volodomyr" in r["text"])
    summary = {s["name"]: s for s in seed_003["entity_summary"]}
    assert summary["Volodymyr Zelensky"]["count"] >= 3
    assert any(e.get("place_form") == "demonym" and e["place"]["country_code"] == "UA" for e in seed_003["entities"])
    assert {c["code"] for c in seed_003["countries"] if c["focus"]} >= {"RU", "US"}
