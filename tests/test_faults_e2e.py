"""Faults a user meets outside the harness, through the real commands: a disk that fills under the sink, an
output directory the worker cannot write, impossible dates. Every article ends in exactly one output."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from pipeline.contracts import codec
from pipeline.kafka.broker import free_port
from pipeline.writers.jsonl import read_jsonl

from conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow
NEWSFEED = str(Path(sys.executable).with_name("newsfeed"))   # the console script a user types
ROOT_USER = os.geteuid() == 0


def _env(broker, out: Path, **extra) -> dict[str, str]:
    prefix = f"f{uuid.uuid4().hex[:8]}."
    return {**os.environ, "NEWSFEED_BROKER": broker.address, "NEWSFEED_TOPIC_PREFIX": prefix,
            "NEWSFEED_APP_ID": f"newsfeed-{prefix.rstrip('.')}", "NEWSFEED_OUTPUT_DIR": str(out),
            "COLUMNS": "200", **extra}


def _worker(env, log: Path) -> subprocess.Popen:
    env = {"NEWSFEED_HTTP_PORT": str(free_port()), **env}   # never 6066: another worker on the machine may hold it
    return subprocess.Popen([NEWSFEED, "worker"], env=env, cwd=ROOT, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _wait_log(log: Path, needle: bytes, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while needle not in log.read_bytes():
        assert proc.poll() is None or needle in log.read_bytes(), f"worker exited ({proc.returncode}):\n" \
            + log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"no {needle!r} in {log} after {timeout}s"
        time.sleep(0.3)


def _ids(path: Path) -> Counter:
    return Counter(r["id"] for r in read_jsonl(path))


def _mount_tmpfs(where: Path, size: str, *options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(where)],
                   check=True)


@pytest.mark.skipif(not ROOT_USER, reason="needs root to mount a tiny tmpfs (CI runs as root)")
def test_disk_full_under_the_sink_loses_nothing(broker, tmp_path):
    """20 articles (5 unique + 15 exact copies, ~20 KB a line) into a 48 KB filesystem. First worker: a short
    NEWSFEED_OUTPUT_WAIT, so it gives up with exit 4 without committing. Second worker (defaults): retries
    while the disk is still full, and once the filesystem grows every article is written exactly once."""
    out = tmp_path / "out"
    _mount_tmpfs(out, "48k")
    try:
        env = _env(broker, out)
        sent = subprocess.run([NEWSFEED, "replay", str(SEEDS), "--repeat", "4"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert sent.returncode == 0 and "sent 20, failed 0" in sent.stdout, sent.stderr

        first = _worker({**env, "NEWSFEED_OUTPUT_WAIT": "8"}, tmp_path / "first.log")
        assert first.wait(240) == 4, (tmp_path / "first.log").read_text()[-3000:]
        log = (tmp_path / "first.log").read_text()
        assert "no space left on device" in log.lower() and "exiting with code 4 without committing" in log

        second = _worker(env, tmp_path / "second.log")
        try:
            _wait_log(tmp_path / "second.log", b"retrying in", second)   # still full: retrying, not skipping
            subprocess.run(["mount", "-o", "remount,size=16m", str(out)], check=True)
            deadline = time.monotonic() + 180
            while sum(_ids(out / "enriched.jsonl").values()) + sum(_ids(out / "duplicates.jsonl").values()) < 20:
                assert second.poll() is None, (tmp_path / "second.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "not every article was written after the disk grew"
                time.sleep(0.5)
            assert second.poll() is None   # it recovered without a restart
            second.terminate()
            assert second.wait(30) == 0
        finally:
            if second.poll() is None:
                second.kill()
        enriched, duplicates = _ids(out / "enriched.jsonl"), _ids(out / "duplicates.jsonl")
        assert len(enriched) == 5 and len(duplicates) == 15            # every article, in exactly one output
        assert max(enriched.values()) == 1 and max(duplicates.values()) == 1   # none twice
        assert not set(enriched) & set(duplicates)
        for line in (out / "enriched.jsonl").read_bytes().splitlines():  # no torn line from a short write
            orjson.loads(line)
        assert "written again after" in (tmp_path / "second.log").read_text()
    finally:
        subprocess.run(["umount", "-l", str(out)], check=False)


def _unwritable_dir(tmp_path: Path) -> Path:
    out = tmp_path / "readonly-out"
    if ROOT_USER:   # root ignores permission bits: a read-only filesystem stops it
        _mount_tmpfs(out, "1m", "ro")
    else:
        out.mkdir()
        out.chmod(0o555)
    return out


def test_worker_refuses_to_start_on_an_unwritable_output_directory(broker, tmp_path):
    out = _unwritable_dir(tmp_path)
    try:
        proc = subprocess.run([NEWSFEED, "worker"], env=_env(broker, out), cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        message = " ".join(proc.stderr.split())
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert str(out) in message and f"uid {os.geteuid()}" in message
        assert "not writable" in message and f"chown -R {os.geteuid()}:{os.getegid()} {out}" in message
        # the main job checks the same before it starts anything
        run = subprocess.run([NEWSFEED, "run", "--output", str(out)], env={**_env(broker, out), "NEWSFEED_BROKER": ""},
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert run.returncode == 2 and str(out) in " ".join(run.stderr.split())
    finally:
        if ROOT_USER:
            subprocess.run(["umount", "-l", str(out)], check=False)


def test_impossible_dates_are_nulled_kept_and_noted(broker, tmp_path):
    """Through replay's reader (a JSONL file) and straight to the raw topic: the article is enriched,
    published_at is null, the original is in published_at_raw, a note says so; ingested_at likewise."""
    out = tmp_path / "out"
    env = _env(broker, out)
    bad = ["2025-13-45", "2025-02-30", "0000-00-00", "9999-12-31T25:00:00Z"]
    text = (SEEDS / "000_0bfbe1548c3f5081.txt").read_text("utf-8")
    source = tmp_path / "dates.jsonl"
    source.write_bytes(b"".join(orjson.dumps({"id": f"file-{i}", "text": f"{d} {text}", "published_at": d}) + b"\n"
                                for i, d in enumerate(bad)))
    sent = subprocess.run([NEWSFEED, "replay", str(source)], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert sent.returncode == 0 and "sent 4, failed 0" in sent.stdout, sent.stderr
    producer = KafkaProducer(bootstrap_servers=broker.address, acks="all")
    for i, d in enumerate(bad):   # a producer that is not ours: both dates wrong
        article = {"schema_version": 1, "id": f"raw-{i}", "source": "test", "text": f"raw {d} {text}",
                   "published_at": d, "ingested_at": d}
        producer.send(env["NEWSFEED_TOPIC_PREFIX"] + "raw", key=article["id"].encode(), value=codec.encode(article))
    producer.flush()
    worker = _worker({**env, "NEWSFEED_VALIDATE_OUTPUT": "1"}, tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 240
        while len(read_jsonl(out / "enriched.jsonl")) + len(read_jsonl(out / "duplicates.jsonl")) < 8:
            assert worker.poll() is None and time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(30)
    records = {r["id"]: r for r in read_jsonl(out / "enriched.jsonl") + read_jsonl(out / "duplicates.jsonl")}
    assert read_jsonl(out / "deadletter.jsonl") == []
    for i, d in enumerate(bad):
        for rid in (f"file-{i}", f"raw-{i}"):
            r = records[rid]
            assert r["published_at"] is None and r["published_at_raw"] == d
            assert any("published_at" in note and d in note for note in r["notes"])
        raw = records[f"raw-{i}"]
        assert raw["ingested_at_raw"] == d and raw["ingested_at"].startswith("20")
