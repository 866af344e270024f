"""Starting, waiting for and stopping `newsfeed worker` processes: the main job (`newsfeed run`), the
bench and the tests all run the workers as separate processes, like a deployment does."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from pipeline.kafka.engines.common import free_port
from pipeline.runtime.health import READY_LINE


def start_worker(env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.Popen:
    """One worker process, its INFO log appended to `log` (which `wait_workers_ready` reads). Unless env sets
    NEWSFEED_HTTP_PORT, it serves HTTP on a free port (logged), so several workers on one host can start."""
    if not env.get("NEWSFEED_HTTP_PORT"):
        env = {**env, "NEWSFEED_HTTP_PORT": str(free_port())}
    with open(log, "ab") as out:   # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "worker"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)


def wait_workers_ready(logs: list[Path], procs: list[subprocess.Popen], timeout: float = 180,
                       since: float | None = None) -> list[float]:
    """Wait until every worker process logged that it is ready (models loaded, group joined); returns the
    seconds each took, from `since` (a time.monotonic() taken at launch) to when this saw its line."""
    since = time.monotonic() if since is None else since
    deadline, ready = since + timeout, [None] * len(logs)
    while None in ready:
        for i, log in enumerate(logs):
            if ready[i] is None and log.exists() and READY_LINE.encode() in log.read_bytes():
                ready[i] = round(time.monotonic() - since, 2)
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a worker exited during start-up; see {logs}")
        if time.monotonic() > deadline:
            raise TimeoutError("workers did not get ready")
        time.sleep(0.05)
    return ready


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
