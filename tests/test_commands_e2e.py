"""The long-running commands exactly as a user types them: `newsfeed worker` with no arguments, `newsfeed
broker` on a taken port, `newsfeed tail` as PID 1 (a container's entry process) stopping on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.kafka.broker import free_port

pytestmark = pytest.mark.slow
NEWSFEED = str(Path(sys.executable).with_name("newsfeed"))
CAN_UNSHARE = os.geteuid() == 0 and shutil.which("unshare") is not None


def _as_pid_1(command: list[str]) -> list[str]:
    """Run `command` as PID 1 of a new PID namespace (with its own /proc), like a container's entry process."""
    return ["unshare", "--pid", "--fork", "--mount-proc", *command] if CAN_UNSHARE else command


def _inner_pid(outer: subprocess.Popen) -> int:
    """The command's pid seen from here: unshare's only child (or the process itself without unshare)."""
    if not CAN_UNSHARE:
        return outer.pid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{outer.pid}/task/{outer.pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise AssertionError("unshare started no child")


def _stop(proc: subprocess.Popen, pid: int, sig=signal.SIGTERM) -> tuple[int, float]:
    started = time.monotonic()
    os.kill(pid, sig)
    code = proc.wait(30)
    return code, time.monotonic() - started


def test_worker_with_no_arguments_gets_ready_and_stops_on_sigterm_as_pid_1(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFEED_")}  # a fresh shell
    env["NEWSFEED_HTTP_PORT"] = str(free_port())   # but not 6066, which another worker on the machine may hold
    log = tmp_path / "worker.log"
    proc = subprocess.Popen(_as_pid_1([NEWSFEED, "worker"]), env=env, cwd=tmp_path, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while b"newsfeed: ready" not in log.read_bytes():   # models loaded and group joined
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        assert (tmp_path / "out").is_dir()   # the default output directory, created at start
        # once ready, what start-up loaded is out of the garbage collector's way (pipeline/runtime/heap.py)
        text = log.read_text()
        assert 0 <= text.find("start-up objects frozen") < text.find("newsfeed: ready"), text[-3000:]
        code, took = _stop(proc, _inner_pid(proc))
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, log.read_text()[-3000:]
    assert took < 10, f"worker took {took:.1f}s to stop"   # ~1 s measured; generous for a loaded CI machine


def test_broker_on_a_taken_port_says_so_and_exits_non_zero(tmp_path):
    port = free_port()
    first = subprocess.Popen([NEWSFEED, "broker", "--port", str(port)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "NEWSFEED_BROKER": ""})
    try:
        assert f"listening on 127.0.0.1:{port}" in first.stdout.readline()
        second = subprocess.run([NEWSFEED, "broker", "--port", str(port)], capture_output=True, text=True,
                                timeout=60, env={**os.environ, "NEWSFEED_BROKER": ""})
        assert second.returncode != 0
        assert "listening" not in second.stdout
        message = " ".join(second.stderr.split())
        assert f"port {port} on 127.0.0.1 is already in use by pid" in message and "tansu" in message
        code, _took = _stop(first, first.pid, signal.SIGINT)
        assert code == 0
    finally:
        if first.poll() is None:
            first.kill()


def test_tail_as_pid_1_stops_on_sigterm(broker, tmp_path):
    env = {**os.environ, "NEWSFEED_BROKER": broker.address}
    proc = subprocess.Popen(_as_pid_1([NEWSFEED, "tail"]), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        time.sleep(5)   # subscribed and polling
        assert proc.poll() is None, proc.stderr.read()
        code, took = _stop(proc, _inner_pid(proc))
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0
    assert took < 2, f"tail took {took:.1f}s to stop"
