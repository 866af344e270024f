"""Talking to a worker's HTTP endpoints from the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from pipeline.kafka.broker import free_port

from conftest import ROOT


def get(url: str) -> tuple[int, bytes]:
    """(status, body), 5xx included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(url: str, proc: subprocess.Popen, status: int = 200, timeout: float = 180) -> bytes:
    """Poll url until it answers `status`; fail at once if the worker exits."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"worker exited with {proc.returncode}"
        try:
            code, body = get(url)
            if code == status:
                return body
        except OSError:
            pass  # not listening yet
        assert time.monotonic() < deadline, f"{url} never answered {status}"
        time.sleep(0.1)


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics parsed by prometheus_client's own parser: {(sample name, sorted labels): value}."""
    status, body = get(url)
    assert status == 200, status
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    """One sample (0 when absent: a counter nobody has bumped yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def series(samples: dict, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def serve_worker(stack) -> str:
    """Start a worker of `stack` with HTTP on a free port; its base URL once /ready answers 200."""
    port = free_port()
    worker = stack.start_worker(NEWSFEED_HTTP_PORT=port)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/ready", worker)
    return base


def newsfeed(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env={**os.environ, **stack.env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=True)


def wait_until(check, what: str, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.5)
    return found
