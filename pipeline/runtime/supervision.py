"""Failures that stop the worker loudly instead of letting a stream carry on past them."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import time
from typing import Any, Awaitable, Callable

from pipeline.kafka.io import broker_reachable

from .health import EXIT_AGENT_CRASH, EXIT_BROKER_LOST, readiness

log = logging.getLogger("newsfeed.worker")


def crash_stops_worker(agent: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    """An agent that raises is a bug, not a bad message (those are dead-lettered inside the agent). Faust's
    default would restart the agent and go on consuming past the event it crashed on, so the crash
    exits the process at once, before anything more is committed; the supervisor restarts it and the
    uncommitted inputs are read again (every output is idempotent)."""

    @functools.wraps(agent)
    async def guarded(stream):
        try:
            await agent(stream)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - any escape is fatal, by design
            log.critical("agent %s crashed: %s: %s; exiting with code %d without committing",
                         agent.__name__, type(exc).__name__, exc, EXIT_AGENT_CRASH, exc_info=True)
            sys.stderr.flush()
            os._exit(EXIT_AGENT_CRASH)

    return guarded


class BrokerWatchdog:
    """Log clearly while the broker is unreachable; exit with code 3 after NEWSFEED_BROKER_WAIT seconds.
    (aiokafka retries with backoff on its own; without this a worker would retry silently forever.)"""

    def __init__(self, broker: str, wait: float):
        self.broker, self.wait = broker, wait
        self.since: float | None = None
        self.logged = 0.0

    async def check(self) -> None:
        reachable = await asyncio.get_running_loop().run_in_executor(None, broker_reachable, self.broker)
        now = time.monotonic()
        if reachable:
            if self.since is not None:
                log.warning("broker %s is back after %.1fs", self.broker, now - self.since)
            self.since, self.logged = None, 0.0
            readiness.ok("broker")
            return
        if self.since is None:
            self.since = now
        down = now - self.since
        readiness.fail("broker", f"broker {self.broker} unreachable for {down:.0f}s")
        if now - self.logged >= 5:
            log.error("broker %s unreachable for %.0fs; retrying (giving up after %.0fs, NEWSFEED_BROKER_WAIT)",
                      self.broker, down, self.wait)
            self.logged = now
        if down > self.wait:
            log.critical("broker %s unreachable for %.0fs: exiting with code %d", self.broker, down, EXIT_BROKER_LOST)
            sys.stderr.flush()
            os._exit(EXIT_BROKER_LOST)
