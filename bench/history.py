"""What a long history costs a worker's start: the sinks' opening (JsonlFiles and the first write of each
output, as a worker's first records do) in a fresh process, with 1 M articles of history in out/ next to
an empty out/, measured in the same run.

    flock /tmp/newsfeed-heavy.lock .venv/bin/python bench/history.py [--articles 1000000] [--dir /tmp/x]

Cases: `empty`; `legacy` (one big enriched.jsonl and duplicates.jsonl, as versions before rotation wrote:
the first start takes them over); `rotated` (the same directory started again, now in rotated files).
Goal (issue 28): within 3 s and 150 MB of peak memory of the empty start.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.tools.history import write_history  # noqa: E402

# a fresh interpreter per case: what a worker process pays, measured by itself (ru_maxrss is a peak)
OPEN_SINKS = """
import resource, sys, time
from pathlib import Path
from pipeline.writers.jsonl import JsonlFiles
from pipeline.contracts.deadletter import letter_key
import orjson
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
files = JsonlFiles(Path(sys.argv[1]))
wrote = [files.write(name, {"id": "bench-new-" + name}, **kw) for name, kw in
         (("enriched.jsonl", {}), ("duplicates.jsonl", {}), ("deadletter.jsonl", {"key": lambda r: r["id"]}))]
elapsed = time.monotonic() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(orjson.dumps({"seconds": elapsed, "peak_mb": peak / 1024, "extra_mb": (peak - before) / 1024,
                    "wrote": wrote}).decode())
"""


def open_sinks(directory: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", OPEN_SINKS, str(directory)], cwd=ROOT, capture_output=True,
                            text=True, check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return orjson.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the history (default: a temp dir)")
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="newsfeed-history-"))
    empty, history = base / "empty", base / "history"
    try:
        empty.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        sizes = write_history(history, args.articles)
        print(f"history: {args.articles} articles, " + ", ".join(f"{k} {v / 1e9:.2f} GB" for k, v in sizes.items())
              + f", written in {time.monotonic() - started:.0f}s")
        rows = [("empty out/", open_sinks(empty)),
                (f"{args.articles} articles, one big file (takeover)", open_sinks(history)),
                (f"{args.articles} articles, rotated (next start)", open_sinks(history))]
        base_row = rows[0][1]
        print(f"\n{'case':48} {'open + first writes':>20} {'peak RSS':>10} {'extra vs empty':>22}")
        for name, row in rows:
            print(f"{name:48} {row['seconds']:>18.3f} s {row['peak_mb']:>7.0f} MB "
                  f"{row['seconds'] - base_row['seconds']:>+8.3f} s {row['peak_mb'] - base_row['peak_mb']:>+8.0f} MB")
        print(f"\nfiles now: {sorted(p.name for p in history.iterdir())[:3]} ... "
              f"({len(list(history.iterdir()))} files)")
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
