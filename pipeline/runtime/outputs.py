"""Writing an output (a JSONL line, a record to a topic, a dead letter) until it is written.

While an output fails the agent does not move on, so the input's offset is never committed past an
unwritten output: the fault is retried with backoff (logged, /ready reports not-ready), and when it lasts
longer than NEWSFEED_OUTPUT_WAIT the process exits with code 4 *without committing*, so a supervisor
restarts it and the uncommitted inputs are read again. Nothing is skipped.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import sys
import time
from typing import Any, Awaitable, Callable

from .health import EXIT_OUTPUT_FAILED, readiness

log = logging.getLogger("newsfeed.outputs")

# callbacks told about each failed attempt (the metrics module counts them): fn(output_name, exc)
on_error: list[Callable[[str, BaseException], None]] = []


def _exit_without_commit(what: str, exc: BaseException, waited: float, wait: float) -> None:
    log.critical("output %s still failing after %.0fs (NEWSFEED_OUTPUT_WAIT=%g): %s: %s; exiting with code %d "
                 "without committing, so the unwritten inputs are read again after a restart",
                 what, waited, wait, type(exc).__name__, exc, EXIT_OUTPUT_FAILED)
    sys.stderr.flush()
    os._exit(EXIT_OUTPUT_FAILED)


async def write(what: str, fn: Callable[..., Any | Awaitable[Any]], *args: Any, wait: float,
                first_delay: float = 0.5, max_delay: float = 5.0, **kwargs: Any) -> Any:
    """Call fn(*args, **kwargs) (sync or async) until it succeeds; give up by exiting after `wait` s."""
    started, delay, attempt = time.monotonic(), first_delay, 0
    while True:
        try:
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempt += 1
            waited = time.monotonic() - started
            for callback in on_error:
                callback(what, exc)
            readiness.fail("outputs", f"{what}: {type(exc).__name__}: {exc}")
            if waited >= wait:
                _exit_without_commit(what, exc, waited, wait)
            delay = min(delay, wait - waited)   # the last attempt falls on the wait itself, not before it
            log.error("output %s failed (attempt %d, %.0fs so far): %s: %s; retrying in %.1fs; the input stays "
                      "uncommitted", what, attempt, waited, type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        if attempt:
            log.warning("output %s written again after %d failed attempt(s), %.1fs", what, attempt,
                        time.monotonic() - started)
            readiness.ok("outputs")
        return result


async def _published(topic: Any, kwargs: dict[str, Any]) -> Any:
    """Sent to a Faust topic; returns the future of the broker's acknowledgement. Faust also sets a failed
    send's error on its FutureMessage, which nobody awaits: retrieved here, so each failed attempt logs
    `write`'s retry line and not a 'FutureMessage exception was never retrieved' traceback."""
    message = topic.as_future_message(**kwargs)
    message.add_done_callback(lambda done: done.cancelled() or done.exception())
    return await topic.publish_message(message)


async def delivered(topic: Any, **kwargs: Any) -> Any:
    """Send to a Faust topic and wait for the broker's acknowledgement."""
    return await (await _published(topic, kwargs))


async def delivered_all(topic: Any, pending: list[dict[str, Any]]) -> None:
    """Send every message of `pending` (send() keyword arguments), then wait for all acknowledgements: the
    producer packs them into few requests, one round trip instead of one per message. The delivered ones
    leave `pending` from the front, so a retry by `write` sends the rest again, in order, from the first
    one that failed."""
    acks = [await _published(topic, kwargs) for kwargs in pending]
    results = await asyncio.gather(*acks, return_exceptions=True)
    for done, result in enumerate(results):
        if isinstance(result, BaseException):
            del pending[:done]
            raise result
    pending.clear()
