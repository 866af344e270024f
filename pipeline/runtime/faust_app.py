"""The Faust app and its Kafka clients, configured for newsfeed; the embedded broker's (Tansu's) workarounds
are installed only when the broker reports itself as Tansu (pipeline/kafka/engines/detect.py)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import aiokafka
import faust
from faust.tables import TableManager

from pipeline.config import Settings, group_id
from pipeline.kafka.engines.common import free_port
from pipeline.kafka.engines.detect import BrokerEngine, detect
from pipeline.kafka.io import with_broker_retry
from pipeline.kafka.security import faust_credentials
from pipeline.runtime.fair_fetch import install_fair_fetch
from pipeline.runtime.faust_consumer import install_consumer
from pipeline.runtime.group_leave import install_group_leave


# Faust hard-codes fetch_max_wait_ms=1500. Kafka answers a waiting Fetch as soon as data arrives, so there
# the wait only bounds idle polling: Kafka's own default, 500 ms. Tansu answers only when the wait ends, so on
# a quiet stream every hop between stages would cost up to the whole wait (measured: ~0.45 s a hop at
# 1500 ms); each wait also costs the broker CPU, so not too short either (250 ms: idle 2-worker pipeline
# 0.038 cores, 0.075 at 100 ms). NEWSFEED_FETCH_WAIT_MS overrides both.
FETCH_WAIT_MS = {"tansu": 250, "kafka": 500}


def install_fetch_wait(fetch_wait_ms: int) -> None:
    base = getattr(aiokafka.AIOKafkaConsumer, "_newsfeed_base", aiokafka.AIOKafkaConsumer)

    class ShortFetchWaitConsumer(base):
        _newsfeed_base = base

        def __init__(self, *args, **kwargs):
            kwargs["fetch_max_wait_ms"] = fetch_wait_ms
            super().__init__(*args, **kwargs)

    aiokafka.AIOKafkaConsumer = ShortFetchWaitConsumer  # Faust's driver looks it up on the module


def install_idempotent_producer() -> None:
    """Faust turns idempotence on only inside transactions. Without it, a produce that the leader wrote but
    whose answer was lost (a leader killed or moved mid-request, a timeout) is retried by aiokafka and lands
    twice on the topic; with it the broker drops the retry by producer id and sequence number."""
    base = getattr(aiokafka.AIOKafkaProducer, "_newsfeed_base", aiokafka.AIOKafkaProducer)

    class IdempotentProducer(base):
        _newsfeed_base = base

        def __init__(self, *args, **kwargs):
            kwargs["enable_idempotence"] = True   # implies acks=all, which newsfeed sets anyway
            super().__init__(*args, **kwargs)

    aiokafka.AIOKafkaProducer = IdempotentProducer  # Faust's driver looks it up on the module


class PromptTableManager(TableManager):
    """Faust's TableManager sleeps 1 s before it subscribes the consumer (room for tables defined late).
    newsfeed has no tables and every agent exists before the app starts: subscribe and join at once
    (1 s of every worker's start-up; the join itself then waits on the broker)."""

    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()


def broker_engine(settings: Settings) -> BrokerEngine:
    return with_broker_retry("broker engine", lambda: detect(settings.broker, settings.kafka_python_security()),
                             settings.broker_wait, log=logging.getLogger("newsfeed.worker").warning)


def make_app(settings: Settings, engine: BrokerEngine | None = None) -> faust.App:
    engine = engine or broker_engine(settings)
    install_fetch_wait(settings.fetch_wait_ms or FETCH_WAIT_MS[engine.name])
    if not engine.is_tansu:   # Tansu 0.6.0 answers aiokafka's InitProducerId with UnknownError
        install_idempotent_producer()
    # kafka-python (state reads, lag) logs every connection at INFO: noise in a worker's INFO log
    logging.getLogger("kafka").setLevel(logging.WARNING)
    group = group_id(settings)
    big = max(4 * 1024 * 1024, 2 * settings.max_message_bytes + 65536)
    app = faust.App(
        group,
        broker=[f"kafka://{b}" for b in settings.broker.split(",")],
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        # `faust -A workers.app worker` turns Faust's own web server on regardless: keep it off our
        # NEWSFEED_HTTP_PORT (which serves /health, /ready, /metrics) on any free loopback port
        web_bind="127.0.0.1",
        web_port=free_port(),
        store="memory://",
        TableManager=PromptTableManager,
        # all state lives in topics; keep Faust's scratch directory out of the working tree
        datadir=str(Path(tempfile.gettempdir()) / f"newsfeed-faust-{group}"),
        # Faust's leader-election topic (`<id>-__assignor-__leader`) serves only `on_leader=True` timers, which
        # newsfeed has none of; without it a worker needs no topic-create right on a secured cluster
        topic_disable_leader=True,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        consumer_auto_offset_reset="earliest",
        # Tansu makes every join wait session_timeout/2: short timeouts keep start-up and rebalances quick.
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=max(0.5, settings.session_timeout / 6),
        broker_rebalance_timeout=max(10.0, settings.session_timeout * 2),
        broker_commit_interval=1.0,
        producer_acks=-1,
        producer_max_request_size=big,
        consumer_max_fetch_size=big,
        broker_credentials=faust_credentials(settings.security),
        # bounded buffers: replaying far faster than NER keeps memory flat (the rest waits in Kafka).
        # Small polls matter too: Faust delivers a poll's records in order and waits while the NER stage's
        # buffer is full, so with 200-record polls the sink starved for seconds behind a backlog of NER input
        # (bench chart: 6 s gaps, then bursts); with 32 the stages interleave and outputs flow steadily.
        stream_buffer_maxsize=256,
        broker_max_poll_records=32,
    )
    # offsets are committed only over processed records, across rebalances too (faust_consumer.py)
    install_consumer(app)
    @app.task
    async def say_which_broker() -> None:   # once the worker's logging is set up
        logging.getLogger("newsfeed.worker").info("broker: %s", engine.description)

    if engine.is_tansu:
        install_group_leave()   # Tansu's stale-leader fault: see group_leave.py; Kafka members leave at once
    install_fair_fetch()    # no stage's input waits behind another's backlog: see fair_fetch.py
    return app
