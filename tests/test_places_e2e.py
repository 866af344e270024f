"""Places through the real `newsfeed run` on both broker engines (issue 35): the seeds get no La Défense
and no Paris "Maison Blanche" (the White House is Washington, a metonym), one Zelensky per record, and a
one-line article that reads like a photo credit is enriched, not dead-lettered as empty_text; a local
paper's home, learned from its first articles and rebuilt from the enriched topic by the next run's worker,
puts its ambiguous "Columbia" in Missouri."""

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


LOCAL_PAPER = ROOT / "tests" / "data" / "local_paper.jsonl"


def newsfeed_run(stack, articles, output):
    env = {k: v for k, v in os.environ.items() if k != "NEWSFEED_NER_MODELS"}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(articles), "--output", str(output)],
                          cwd=ROOT, capture_output=True, text=True, timeout=400, env={**env, **stack.env})
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (output / "dead-letter.jsonl").exists()
    return {r["id"]: r for r in read_jsonl(output / "enriched.jsonl")}


def test_seeds_a_photo_credit_and_a_local_paper_through_newsfeed_run(broker, tmp_path):
    stack = make_stack(broker, tmp_path)
    articles, later = tmp_path / "articles", tmp_path / "later"
    shutil.copytree(SEEDS, articles)
    later.mkdir()
    (articles / "credit.txt").write_text(CREDIT + "\n", "utf-8")
    local = LOCAL_PAPER.read_text("utf-8").splitlines()
    (articles / "local.jsonl").write_text("\n".join(local[:-1]) + "\n", "utf-8")
    (later / "local.jsonl").write_text(local[-1] + "\n", "utf-8")
    by_id = newsfeed_run(stack, articles, stack.output)
    records = list(by_id.values())
    assert len(records) == 9
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
    assert {e["place"]["admin1"] for e in by_id["local-1"]["entities"] if e.get("place")} == {"MO"}
    seed_003 = next(r for r in records if "Volodomyr" in r["text"])
    summary = {s["name"]: s for s in seed_003["entity_summary"]}
    assert summary["Volodymyr Zelensky"]["count"] >= 3
    assert any(e.get("place_form") == "demonym" and e["place"]["country_code"] == "RU" for e in seed_003["entities"])
    assert {c["code"] for c in seed_003["countries"] if c["focus"]} >= {"RU", "UA"}

    # the next run's worker rebuilds the homes from the enriched topic: the paper's "Columbia" is Missouri's
    column = newsfeed_run(stack, later, tmp_path / "out-later")["local-4"]
    columbia = [e for e in column["entities"] if e["text"] == "Columbia" and e.get("place")]
    assert columbia and columbia[0]["place"]["admin1"] == "MO" and columbia[0]["place_prior"] == "home"
    assert schemas.errors("enriched", column) == []
