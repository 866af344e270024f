"""The CLI as users run it: `newsfeed broker` shared by separate processes (a Faust-CLI worker, replay,
a plain Kafka client), `replay --synthesize` with its ground truth, and the `bench` smoke run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer

from pipeline.contracts import schemas
from pipeline.kafka.broker import free_port

from conftest import ROOT

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "pipeline.cli"]


def test_broker_command_is_shared_by_separate_processes(tmp_path):
    env = {**os.environ, "NEWSFEED_BROKER": "", "NEWSFEED_OUTPUT_DIR": str(tmp_path / "out"),
           "NEWSFEED_TOPIC_PREFIX": "shared.", "NEWSFEED_APP_ID": "shared-test", "NEWSFEED_HTTP_PORT": str(free_port())}
    broker = subprocess.Popen(CLI + ["broker", "--port", str(free_port())], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    worker = None
    try:
        line = broker.stdout.readline()
        while "export NEWSFEED_BROKER=" not in line:
            assert line, "broker exited"
            line = broker.stdout.readline()
        address = line.strip().split("=", 1)[1]
        assert address.startswith("127.0.0.1:")
        env["NEWSFEED_BROKER"] = address
        # the Faust CLI path: `faust -A workers.app worker`
        worker = subprocess.Popen([sys.executable, "-m", "faust", "-A", "workers.app", "worker", "-l", "info"],
                                  env=env, cwd=ROOT, stdout=open(tmp_path / "worker.log", "wb"),
                                  stderr=subprocess.STDOUT)
        replay = subprocess.run(CLI + ["replay", "seeds", "--limit", "3"], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert replay.returncode == 0 and "sent 3, failed 0" in replay.stdout, replay.stderr
        # another service: an ordinary Kafka client in its own group, in this (separate) process
        consumer = KafkaConsumer("shared.enriched", bootstrap_servers=address, group_id=f"svc-{uuid.uuid4().hex[:6]}",
                                 auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=1000,
                                 consumer_timeout_ms=120_000)
        got = []
        for message in consumer:
            got.append(orjson.loads(message.value))
            if len(got) == 3:
                break
        consumer.close()
        assert len(got) == 3 and all(schemas.errors("enriched", r) == [] for r in got)
    finally:
        if worker:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        broker.send_signal(signal.SIGTERM)
        broker.wait(10)


def test_replay_synthesize_writes_ground_truth(tmp_path, broker):
    env = {**os.environ, "NEWSFEED_BROKER": broker.address, "NEWSFEED_TOPIC_PREFIX": f"syn{uuid.uuid4().hex[:6]}."}
    truth = tmp_path / "truth.jsonl"
    proc = subprocess.run(CLI + ["replay", "--synthesize", "40", "--mix", "unique=0.5,exact=0.25,near=0.25",
                                 "--seed", "3", "--truth", str(truth)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "sent 40, failed 0" in proc.stdout, proc.stderr
    rows = [json.loads(line) for line in truth.read_text().splitlines()]
    assert len(rows) == 40 and {r["kind"] for r in rows} == {"unique", "exact", "near"}
    assert all("of" in r for r in rows if r["kind"] != "unique")


def _bench(out: Path, *args: str) -> subprocess.CompletedProcess:
    """`newsfeed bench ARGS --output OUT` with its own broker(s), as a user types it, its output a pipe (as in
    a log or CI, where the tables come as Markdown, never wrapped); asserts exit 0."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    proc = subprocess.run(CLI + ["bench", *args, "--output", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env={**env, "NEWSFEED_BROKER": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_bench_smoke_run(tmp_path):
    out = tmp_path / "bench"
    proc = _bench(out, "--n", "50", "--workers", "1,2")
    assert "ratio pipeline ÷ bare" in proc.stdout and "dedup precision / recall" in proc.stdout
    assert "scaling against 1 worker(s)" in proc.stdout and "bare speed-up" in proc.stdout
    assert "CPU ceiling" in proc.stdout and "places index, memory-mapped" in proc.stdout
    for workers in (1, 2):
        result = json.loads(next(out.glob(f"bench-*-w{workers}.json")).read_text())
        assert result["workers"] == workers and result["length"] == "seed" and result["mean_chars"] > 3000
        assert result["docs"] == 50 and result["enriched"] + result["duplicates"] == 50
        assert result["pipeline_ner_docs_s"] > 0 and all(b > 0 for b in result["bare_spacy_before_after"])
        assert set(result["latency_s"]) == {"p50", "p95", "p99"} and result["dedup"]["precision"] == 1.0
        assert len([name for name in result["processes"] if name.startswith("worker-") and "-ner-" not in name]) \
            == workers
        assert next(out.glob(f"bench-*-w{workers}.png")).stat().st_size > 1000
        # the CPU ceiling never promises more than bare spaCy, and the per-process CPU timeline covers the run
        assert 0 < result["cpu_ceiling_docs_s"] <= result["bare_spacy_docs_s"] and result["non_ner_cpu_ms_per_doc"] > 0
        assert result["cpu_timeline"] and set(result["processes"]) <= set(result["cpu_timeline"][-1])
        assert result["cpu_timeline"][-1]["t"] >= result["wall_s"] - 1
        # places: CPU per article measured in the worker, and its index mapped in every worker
        assert result["places_ms_per_article"]["cpu_mean"] > 0
        assert len(result["gazetteer_mapped_mb"]) == workers
        assert all(m and m["resident"] > 0 and m["maps"] >= 1 for m in result["gazetteer_mapped_mb"].values())


def test_bench_compares_the_two_broker_engines(tmp_path):
    out = tmp_path / "bench"
    proc = _bench(out, "--n", "30", "--engine", "tansu,kafka")
    assert "broker engines side by side" in proc.stdout and "broker (tansu)" in proc.stdout
    # one Markdown row per engine, all ten cells on one line
    rows = [line for line in proc.stdout.splitlines() if re.match(r"\|\s*(tansu|kafka)\s*\|\s*1\s*\|", line)]
    assert len(rows) == 2 and all(row.count("|") == 11 for row in rows), proc.stdout
    for engine in ("tansu", "kafka"):
        result = json.loads(next(out.glob(f"bench-*-{engine}-w1.json")).read_text())
        assert result["engine"] == engine and result["enriched"] + result["duplicates"] == 30
        # CPU from the process's own clock, to the nanosecond: 30 articles of Tansu's ~1 ms are not 0 ticks
        assert result["broker_cpu_ms_per_article"] > 0 and result["broker_peak_rss_mb"] > 0
        assert result["broker_start_s"] > 0 and result["ratio_pipeline_to_bare"] > 0
