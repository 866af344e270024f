"""The Faust app: one module per stage (workers/<stage>.py), each a few agents wiring topics to `pipeline`
logic and nothing more; workers/common.py holds what they share.

Start with `newsfeed worker` (starts an embedded broker when NEWSFEED_BROKER is unset) or
`faust -A workers.app worker` (needs NEWSFEED_BROKER). NEWSFEED_STAGES picks the agents a process runs.
"""

from __future__ import annotations

from workers import dedup, entities, language, sinks, stories  # noqa: F401  (importing a stage registers its agents)
from workers.common import app  # noqa: F401  (what `faust -A workers.app` and `newsfeed worker` start)
from workers.enriched_sink import files


def shutdown_children() -> None:
    """Stop NER child processes (when NEWSFEED_NER_PROCESSES > 0) and close the JSONL files."""
    entities.shutdown()
    files.close()
