"""What every stage's agents share: the settings, the Faust app, the topics, output retries, dead letters and
per-partition state rebuilt on assignment. Stage modules (workers/<stage>.py) hold the agents."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any, Callable

import faust

from pipeline.config import load
from pipeline.contracts import codec
from pipeline.contracts.deadletter import dead_letter, describe, error_headers, record_id_of
from pipeline.kafka.io import with_broker_retry
from pipeline.kafka.state import dead_lettered_inputs
from pipeline.runtime import heap, http, metrics, outputs
from pipeline.runtime.faust_app import make_app
from pipeline.runtime.health import readiness
from pipeline.runtime.supervision import BrokerWatchdog

log = logging.getLogger("newsfeed.worker")
WORKER = f"{socket.gethostname()}:{os.getpid()}"  # recorded per stage in `trace`: which process did what
settings = load()
if not settings.broker:
    raise SystemExit("NEWSFEED_BROKER is not set: run `newsfeed worker` (which starts an embedded broker) "
                     "or point NEWSFEED_BROKER at a Kafka broker, e.g. the address `newsfeed broker` prints.")

app = make_app(settings)
http.serve(app, settings.http_host, settings.http_port, settings.stages)  # /health, /ready, /metrics


def topic(name: str, partitions: int | None = None) -> faust.TopicT:
    return app.topic(settings.topic(name), key_type=bytes, value_type=bytes,
                     partitions=partitions or settings.partitions)


async def out(what: str, fn, *args, **kwargs):
    """Every output goes through here: retried while it fails, so no offset is committed past it."""
    return await outputs.write(what, fn, *args, wait=settings.output_wait, **kwargs)


async def delivered(to: faust.TopicT, **kwargs) -> None:
    """Send and wait for the broker's acknowledgement (final outputs: the sink must know it is written)."""
    await outputs.delivered(to, **kwargs)


deadletter_topic = topic("deadletter")
# (stage, topic, partition, offset) of the inputs on `deadletter`, read back at the first dead letter after an
# assignment (a partition taken over may hold inputs its last owner dead-lettered before it died uncommitted)
_dead_lettered: asyncio.Future | None = None


async def dead(event: faust.EventT, stage: str, exc: BaseException, record_id: str | None = None) -> None:
    global _dead_lettered
    msg, (kind, message) = event.message, describe(exc)
    if _dead_lettered is None:
        _dead_lettered = asyncio.ensure_future(out("deadletter read-back", in_thread, dead_lettered_inputs, settings))
    known, place = await _dead_lettered, (stage, msg.topic, msg.partition, msg.offset)
    if place in known:
        log.info("dead letter for %s %s[%s]@%s written already (input read again)", stage, msg.topic,
                 msg.partition, msg.offset)
        return
    known.add(place)
    letter = dead_letter(payload=msg.value, kind=kind, message=message, stage=stage, topic=msg.topic,
                         partition=msg.partition, offset=msg.offset, key=msg.key,
                         record_id=record_id or record_id_of(msg.value))
    log.warning("dead letter: %s at %s %s[%s]@%s: %s", kind, stage, msg.topic, msg.partition, msg.offset, message)
    metrics.dead_letter(stage, kind)
    await out("deadletter topic", delivered, deadletter_topic, key=msg.key, value=codec.encode(letter),
              headers=error_headers(letter, exc, msg.headers))


def in_thread(fn, *args):
    """CPU-heavy work runs in a thread so the event loop keeps heartbeating and committing."""
    return asyncio.get_running_loop().run_in_executor(None, fn, *args)


class PartitionState:
    """State kept per input partition, rebuilt from its log once this process owns the partition (started on
    assignment, so it is ready before the first record; dropped on revocation: whoever owns the partition
    next rebuilds it, ours would go stale)."""

    registered: dict[str, "PartitionState"] = {}   # input topic name -> its state

    def __init__(self, input_topic: str, load: Callable[[int], Any], eager: bool = True) -> None:
        """eager=False: rebuilt at the agent's first record instead of on assignment. For an agent that
        processes one record at a time and writes its state log as it goes: a record still in flight when
        the partition came back to this process is logged before the rebuild reads the log."""
        self.load, self.cache, self.eager, self.input_topic = load, {}, eager, input_topic
        PartitionState.registered[settings.topic(input_topic)] = self

    def rebuild(self, partition: int) -> asyncio.Future:
        if partition not in self.cache:  # a future: concurrent actors share one load
            self.cache[partition] = asyncio.ensure_future(in_thread(self._load_once_answered, partition))
        return self.cache[partition]

    def _load_once_answered(self, partition: int) -> Any:
        """The load, from the start again while the broker does not answer, up to NEWSFEED_BROKER_WAIT: after
        an outage the group rebalances as soon as the broker is back, and the broker may not answer a read
        yet (a crash there would restart a worker that the broker's return had not stopped)."""
        return with_broker_retry(f"{self.input_topic}[{partition}] state read back", lambda: self.load(partition),
                                 settings.broker_wait, log=log.warning)

    async def get(self, partition: int) -> Any:
        return await self.rebuild(partition)


joining = asyncio.Event()   # set when the consumer starts joining the group (first revoke callback)

_watchdog = BrokerWatchdog(settings.broker, settings.broker_wait)
app.timer(interval=1.0)(_watchdog.check)
readiness.pending("models", {s for s in settings.stages if s in ("language", "entities")
                             or (s == "stories" and settings.stories)}, "models not loaded yet")
readiness.when_ready(heap.settle)   # models and tables loaded: out of the garbage collector's way


@app.on_partitions_assigned.connect
async def _joined(app, assigned, **kwargs) -> None:
    global _dead_lettered
    readiness.ok("assignment")
    _dead_lettered = None
    for tp in assigned:
        if tp.topic in PartitionState.registered and PartitionState.registered[tp.topic].eager:
            PartitionState.registered[tp.topic].rebuild(tp.partition)


@app.on_partitions_revoked.connect
async def _forget_revoked(app, revoked, **kwargs) -> None:
    readiness.fail("assignment", "rebalancing")
    joining.set()  # the first call comes as the consumer starts joining the group
    for tp in revoked:
        if tp.topic in PartitionState.registered:
            PartitionState.registered[tp.topic].cache.pop(tp.partition, None)
