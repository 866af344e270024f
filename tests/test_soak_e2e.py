"""The soak's short variant, through the command (bench/soak.py) and the code the 30-minute one runs: a
3-broker Apache Kafka cluster, replication 3, a steady 4 articles/s for 60 s with one broker restarted, a
worker SIGKILLed (and restarted) and a scale-out. Each article once in exactly one output on the topics and
in the JSONL, the lag back to 0 after each fault, the report, table and plot written."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_short_soak_on_three_brokers(tmp_path):
    charts = tmp_path / "charts"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--minutes", "1", "--rate", "4", "--window", "10",
         "--faults", "broker-restart,worker-kill,scale-out", "--output", str(tmp_path), "--charts", str(charts)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [report] = charts.glob("soak-*.json")
    result = orjson.loads(report.read_bytes())
    assert result["sent"] == 243 and result["lost"] == 0 and result["in_two_outputs"] == 0
    assert result["exactly_once"], result
    assert result["outcomes"]["deadletter"] == 3 and result["outcomes"]["enriched"] > 150
    assert [f["fault"] for f in result["faults"]] == ["broker-restart", "worker-kill", "scale-out"]
    assert all(f["lag_back_to_0_s"] is not None for f in result["faults"]), result["faults"]
    assert result["lag_0_after_load_s"] is not None
    assert result["latency_whole_run"]["n"] == result["outcomes"]["enriched"]
    assert {"worker-0", "worker-1", "worker-2", "worker-3"} <= set(result["processes"])   # kill's restart, scale-out
    assert (charts / report.name.replace(".json", ".png")).stat().st_size > 10_000
    # not a terminal: Markdown tables
    assert "| fault " in done.stdout and "| broker-restart (node 1)" in done.stdout, done.stdout
    print(done.stdout)
