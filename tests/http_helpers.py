"""Talking to a worker's HTTP endpoints from the tests."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


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
