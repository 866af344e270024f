"""The README's shell examples, run as written: a README change that breaks a path a user types fails here.

Blocks come from README.md's ```sh fences outside the docker compose section (tested by its own suite);
```bash fences are reference lines that need what a test machine lacks (the internet, a company cluster, a
fresh virtualenv), each covered by its own tests (feeds, secured Kafka, constraints). The
set-up command runs in the checkout with a temporary output directory; the others run in a temporary
directory that sees the checkout's `.venv` and `seeds/`, so their `out/` and `bench/results/` stay there.
The one change made to a block: the broker's fixed port 9092 becomes a free one (the example allows any)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from pipeline.kafka.broker import free_port

from conftest import ROOT

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "newsfeed").exists(), reason="no .venv in the checkout")]
TEST_COMMAND = ".venv/bin/python -m pytest"   # the README's test command is this suite itself


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    sections = re.split(r"^## ", text, flags=re.M)
    outside_compose = "\n".join(s for s in sections if not s.lower().startswith("running the stack with docker"))
    return re.findall(r"^```sh\n(.*?)^```", outside_compose, flags=re.M | re.S)


BLOCKS = readme_blocks()


def _run(script: str, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """bash -e, in its own process group so the block's background jobs (`broker &`, `worker &`) are stopped
    with it. Output goes to files, so a block that hangs still shows what it printed."""
    out_path, err_path = cwd / ".block.out", cwd / ".block.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(["bash", "-e", "-c", script], cwd=cwd, env=env, stdout=out, stderr=err,
                                start_new_session=True)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            _stop_group(proc.pid)
    stdout, stderr = out_path.read_text(errors="replace"), err_path.read_text(errors="replace")
    assert code is not None, f"block still running after {timeout}s:\n{script}\n{stdout[-3000:]}{stderr[-5000:]}"
    return subprocess.CompletedProcess(proc.args, code, stdout, stderr)


def _stop_group(pgid: int) -> None:
    """SIGTERM what the block left running (a user's Ctrl-C), SIGKILL whatever outlives 30 s."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 5)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def _sandbox(tmp_path: Path) -> Path:
    for name in (".venv", "seeds"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def _clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("NEWSFEED_")}, "COLUMNS": "200", **extra}


def test_readme_has_the_two_setup_commands_and_the_examples():
    setup = [b for b in BLOCKS if b.startswith("python3 -m venv --upgrade-deps .venv")]
    assert len(setup) == 2 and setup[1].strip().endswith(TEST_COMMAND)
    assert any("newsfeed broker --port 9092 &" in b for b in BLOCKS) and any("newsfeed bench" in b for b in BLOCKS)


def test_setup_command_runs_the_main_job(tmp_path):
    block = next(b for b in BLOCKS if b.startswith("python3 -m venv --upgrade-deps .venv") and "newsfeed run" in b)
    proc = _run(block, ROOT, _clean_env(NEWSFEED_OUTPUT_DIR=str(tmp_path / "out")), timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "does not provide the extra" not in proc.stdout + proc.stderr   # pip too old for lxml's html-clean
    assert re.search(r"enriched \(unique\)\s*│\s*5", proc.stdout), proc.stdout
    assert len((tmp_path / "out" / "enriched.jsonl").read_bytes().splitlines()) == 5


@pytest.mark.parametrize("index", [i for i, b in enumerate(BLOCKS) if not b.startswith("python3 -m venv")])
def test_example_block_runs_as_written(index, tmp_path):
    port = free_port()
    block = BLOCKS[index].replace("9092", str(port))
    cwd = _sandbox(tmp_path)
    # and the worker's HTTP port (6066 unless set): a free one, as the broker's 9092 is swapped for one above
    proc = _run(block, cwd, _clean_env(NEWSFEED_HTTP_PORT=str(free_port())), timeout=900)
    assert proc.returncode == 0, f"README block {index}:\n{block}\n" + proc.stdout[-3000:] + proc.stderr[-3000:]
    if "newsfeed tail" in block:   # the tail printed the enriched records, one JSON object a line
        records = [orjson.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        assert len(records) == 5 and all(r["language"]["code"] == "fr" for r in records)
        assert (cwd / "out" / "truth.jsonl").exists()
    if "kcat" in block:   # kcat, a non-Python consumer, read the enriched topic of the Kafka engine
        assert len([line for line in proc.stdout.splitlines() if re.fullmatch(r"\d{3}_[0-9a-f]{16}", line)]) == 5, \
            proc.stdout
    if "newsfeed detect" in block:
        assert '"code":"fr"' in proc.stdout
    if "newsfeed bench" in block:
        assert "ratio pipeline ÷ bare" in proc.stdout and list((cwd / "bench" / "results").glob("bench-*.json"))
