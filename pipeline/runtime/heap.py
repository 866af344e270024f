"""The worker's heap once it is ready: what start-up loaded (modules, models, tables) is moved out of the cyclic
garbage collector's way.

A full collection walks every object the collector tracks. In a worker, most of them were made at start-up
and live as long as the process, so each full collection paid for them again, on whichever code allocated
at the time: the places stage saw its CPU per article grow with the worker's heap, not with its own work.
`gc.freeze()` (Python >= 3.7, meant for this) puts them in a permanent generation that collections skip;
objects freed later by reference counting are still freed, and what the articles allocate is collected as
before.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("newsfeed.worker")


def settle() -> int:
    """Collect once, then freeze what is left; returns how many objects are frozen (all of them so far)."""
    started = time.monotonic()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("newsfeed: %s start-up objects frozen out of garbage collection in %.2fs", frozen,
             time.monotonic() - started)
    return frozen
