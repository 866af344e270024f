"""Both broker engines through the commands a user types: `newsfeed broker --engine kafka` (version line,
export line, SIGTERM as PID 1, a clear exit 2 without Java or Maven), and the engine a worker detects from
what the broker reports, with the group-leave rule that follows from it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from pipeline.kafka.engines.apache_kafka import KAFKA_VERSION
from pipeline.kafka.engines.detect import detect

from conftest import ROOT, wait_for_workers
from test_commands_e2e import _as_pid_1, _inner_pid

pytestmark = pytest.mark.slow
NEWSFEED = str(Path(sys.executable).with_name("newsfeed"))


def test_the_engine_is_detected_from_what_the_broker_reports(broker, engine):
    assert detect(broker.address).name == engine


def test_kafka_broker_command_prints_its_version_serves_and_stops_on_sigterm_as_pid_1(tmp_path):
    log = tmp_path / "broker.out"
    outer = subprocess.Popen(_as_pid_1([NEWSFEED, "broker", "--engine", "kafka", "--port", "0"]), cwd=ROOT,
                             stdout=open(log, "wb"), stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 180
        while "export NEWSFEED_BROKER=" not in log.read_text():
            assert outer.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        assert f"Apache Kafka {KAFKA_VERSION}" in text
        address = text.split("export NEWSFEED_BROKER=")[1].split()[0]
        assert detect(address).name == "kafka"
        listed = subprocess.run([NEWSFEED, "topics"], env={**os.environ, "NEWSFEED_BROKER": address},
                                capture_output=True, text=True, timeout=120)
        assert listed.returncode == 0 and "newsfeed.enriched" in listed.stdout and " exists " in listed.stdout
        inner = _inner_pid(outer)
        nodes = [p for p in psutil.Process(inner).children(recursive=True) if "java" in p.name()]
        assert nodes, "no Kafka node process under the command"
        started = time.monotonic()
        os.kill(inner, signal.SIGTERM)
        assert outer.wait(60) == 0, log.read_text()[-2000:]
        assert not [p for p in nodes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], "a node outlived it"
        print(f"broker --engine kafka stopped {time.monotonic() - started:.1f}s after SIGTERM")
    finally:
        if outer.poll() is None:
            outer.kill()


def test_kafka_engine_without_java_or_maven_says_what_is_missing_and_exits_2(tmp_path):
    bare_path = tmp_path / "bin"
    bare_path.mkdir()
    (bare_path / "python").symlink_to(sys.executable)   # nothing else: no java, no mvn
    done = subprocess.run([NEWSFEED, "broker", "--engine", "kafka", "--port", "0"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "PATH": str(bare_path), "XDG_CACHE_HOME": str(tmp_path / "cache"),
                               "COLUMNS": "200"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "needs java and mvn on PATH" in done.stderr and "--engine tansu" in done.stderr


def test_a_stopping_leader_leaves_its_group_at_once_on_kafka_only(stack_factory, engine):
    """Two workers SIGTERMed together. On Kafka every member sends LeaveGroup, so the group is empty the moment
    they exit; on Tansu the leader may keep quiet (its session expires: Tansu keeps a leader that leaves while
    the group re-forms), which is why that rule is installed for Tansu only."""
    from kafka import KafkaAdminClient

    from pipeline.config import group_id

    stack = stack_factory()
    workers = [stack.start_worker(), stack.start_worker()]
    wait_for_workers(stack)
    for w in workers:
        w.send_signal(signal.SIGTERM)
    assert [w.wait(60) for w in workers] == [0, 0]
    exited = time.monotonic()
    logs = [(stack.output / f"worker-{i}.log").read_text(errors="replace") for i in range(2)]
    assert all(f"broker: {'Tansu' if engine == 'tansu' else 'Apache Kafka'}" in log for log in logs)
    if engine == "kafka":
        assert not any("not sending LeaveGroup" in log for log in logs)
        admin = KafkaAdminClient(bootstrap_servers=stack.address)
        try:
            group = admin.describe_groups([group_id(stack.settings)])[group_id(stack.settings)]
        finally:
            admin.close()
        assert group["group_state"] == "Empty" and not group["members"], group
        assert time.monotonic() - exited < stack.settings.session_timeout   # not by session expiry
