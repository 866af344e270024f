"""Starting, waiting for and stopping `newsfeed worker` processes: the main job (`newsfeed run`), the
bench and the tests all run the workers as separate processes, like a deployment does."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from pipeline.kafka.broker import free_port


def start_worker(env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.Popen:
    """One worker process, its INFO log appended to `log` (which `wait_workers_ready` reads). Unless env sets
    NEWSFEED_HTTP_PORT, it serves HTTP on a free port (logged), so several workers on one host can start."""
    if not env.get("NEWSFEED_HTTP_PORT"):
        env = {**env, "NEWSFEED_HTTP_PORT": str(free_port())}
    with open(log, "ab") as out:   # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "worker"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)


def wait_workers_ready(logs: list[Path], procs: list[subprocess.Popen], timeout: float = 180) -> None:
    """Wait until every worker process logged Faust's 'Worker ready' (models loaded, group joined)."""
    deadline = time.monotonic() + timeout
    while not all(p.exists() and b"Worker ready" in p.read_bytes() for p in logs):
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a worker exited during start-up; see {logs}")
        if time.monotonic() > deadline:
            raise TimeoutError("workers did not get ready")
        time.sleep(0.2)


def stop_workers(procs: list[subprocess.Popen], grace: float = 30) -> None:
    """SIGTERM every worker still running (Faust commits and exits), then kill whoever outlives `grace`."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
