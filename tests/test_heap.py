"""The worker's heap once ready (pipeline/runtime/heap.py): start-up objects frozen out of the cyclic garbage
collector, which still collects what comes later; readiness runs it once. The worker's own log line is checked
in test_commands_e2e.py."""

import subprocess
import sys

from pipeline.runtime.health import Readiness

CHILD = """
import gc, weakref
from pipeline.runtime.heap import settle

class Node:
    pass

loaded = [Node() for _ in range(50_000)]   # what start-up keeps
frozen = settle()
assert frozen >= 50_000 and gc.get_freeze_count() == frozen, frozen
a, b = Node(), Node()
a.other, b.other = b, a                  # a cycle made by an article: only the collector frees it
gone = weakref.ref(a)
del a, b
gc.collect()
assert gone() is None, "a cycle made after settle() was not collected"
print(frozen)
"""


def test_settle_freezes_what_start_up_made_and_later_cycles_are_still_collected():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 50_000


def test_the_ready_action_runs_once_at_the_first_ready_and_not_after_a_rebalance():
    calls = []
    readiness = Readiness(("models", "not loaded"), ("assignment", "not joined"))
    readiness.when_ready(lambda: calls.append(readiness.report()))
    readiness.ok("models")
    assert calls == []
    readiness.ok("assignment")
    assert calls == [{"ready": True, "failing": {}}]
    readiness.fail("assignment", "rebalancing")
    readiness.ok("assignment")
    assert len(calls) == 1
