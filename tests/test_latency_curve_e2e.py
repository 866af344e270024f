"""`bench/latency_curve.py` as a load tester runs it, shortened: the capacity run, then open-loop load at two
shares of it on the default engine (the full curve, 25-90 % on both engines, is in BENCHMARKS.md)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

COLUMNS = ("engine", "load", "asked msg/s", "achieved msg/s", "producer held the rate", "out docs/s",
           "enriched measured", "p50 s", "p99 s", "max s", "p50 1st / 2nd half s", "warm-up: enriched, p50 / max s")


def test_latency_curve_at_two_rates(tmp_path):
    chart = tmp_path / "curve.png"
    proc = subprocess.run([sys.executable, "bench/latency_curve.py", "--engine", "tansu", "--points", "25,50",
                           "--capacity-n", "60", "--seconds", "12", "--warmup", "3", "--output", str(tmp_path),
                           "--chart", str(chart)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NEWSFEED_BROKER": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # not a terminal: Markdown tables, a header line with every column, then one row per point
    header = next(line for line in proc.stdout.splitlines() if line.startswith("| engine") and "asked" in line)
    assert [cell.strip() for cell in header.strip("|").split("|")] == list(COLUMNS), proc.stdout
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in proc.stdout.splitlines()
            if re.match(r"\|\s*tansu\s*\|\s*\d+ %", line)]
    assert [row[1] for row in rows] == ["25 %", "50 %"], proc.stdout
    capacity = json.loads(next(tmp_path.glob("latency-curve-*.json")).read_text())["capacity"][0]["docs_s"]
    for row, share in zip(rows, (0.25, 0.5)):
        asked, achieved = float(row[2]), float(row[3])
        assert asked == pytest.approx(capacity * share, abs=0.01)
        assert achieved == pytest.approx(asked, rel=0.1) and row[4].startswith("yes"), proc.stdout
        measured, p50, p99, top = int(row[6]), float(row[7]), float(row[8]), float(row[9])
        assert measured > 0 and 0 < p50 <= p99 <= top, proc.stdout
    assert chart.stat().st_size > 1000
