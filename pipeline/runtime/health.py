"""Readiness: every condition a worker needs to do its job, each with the reason while it is not met.

Plain state, no I/O: the agents and the watchdog set conditions, the HTTP server's /ready reads them.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("newsfeed.worker")
READY_LINE = "newsfeed: ready"   # logged once; what `wait_workers_ready` waits for

# exit codes a supervisor (docker compose, systemd, Kubernetes) sees; the README lists them
EXIT_CONFIG = 2        # bad settings or a failed preflight (e.g. output directory not writable)
EXIT_BROKER_LOST = 3   # broker unreachable for longer than NEWSFEED_BROKER_WAIT
EXIT_OUTPUT_FAILED = 4  # an output stayed unwritable for longer than NEWSFEED_OUTPUT_WAIT
EXIT_AGENT_CRASH = 70  # an agent raised: a bug; restarting the process re-reads from the last commit


class Readiness:
    """Named conditions; ready when none is failing. Thread-safe (the watchdog checks in a thread)."""

    def __init__(self, *initially_failing: tuple[str, str]):
        self._lock = threading.Lock()
        self._failing: dict[str, str] = dict(initially_failing)
        self._since: dict[str, float] = {name: time.monotonic() for name in self._failing}
        self._parts: dict[str, tuple[str, set[str]]] = {}
        self._said_ready = False
        self._on_ready: list = []

    def when_ready(self, action) -> None:
        """Call `action()` once, the first time the worker is ready (from the thread that made it so)."""
        self._on_ready.append(action)

    def fail(self, name: str, reason: str) -> None:
        with self._lock:
            self._failing[name] = reason
            self._since.setdefault(name, time.monotonic())

    def ok(self, name: str) -> None:
        with self._lock:
            self._failing.pop(name, None)
            self._since.pop(name, None)
            first = not self._failing and not self._said_ready
            self._said_ready = self._said_ready or first
        if first:  # Faust logs "Worker ready" before the agents have loaded their models: this line waits
            for action in self._on_ready:
                action()
            log.info("%s (models loaded, consumer group joined)", READY_LINE)

    def set(self, name: str, ok: bool, reason: str = "") -> None:
        self.ok(name) if ok else self.fail(name, reason)

    def pending(self, name: str, parts: set[str], reason: str) -> None:
        """`name` fails ("reason: the parts left") until `done(name, part)` was called for each of `parts`."""
        with self._lock:
            self._parts[name] = (reason, set(parts))
        self._update_parts(name)

    def done(self, name: str, part: str) -> None:
        with self._lock:
            self._parts[name][1].discard(part)
        self._update_parts(name)

    def _update_parts(self, name: str) -> None:
        with self._lock:
            reason, left = self._parts[name][0], sorted(self._parts[name][1])
        self.set(name, not left, f"{reason}: {', '.join(left)}")

    @property
    def ready(self) -> bool:
        with self._lock:
            return not self._failing

    def report(self) -> dict:
        """What /ready answers: {"ready": bool, "failing": {name: {"reason", "for_s"}}}."""
        now = time.monotonic()
        with self._lock:
            failing = {name: {"reason": reason, "for_s": round(now - self._since.get(name, now), 1)}
                       for name, reason in self._failing.items()}
        return {"ready": not failing, "failing": failing}


# One per worker process: models and partitions are missing until the agents say otherwise.
readiness = Readiness(("models", "models not loaded yet"), ("assignment", "consumer group not joined yet"))
