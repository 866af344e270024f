"""Long-running commands: the embedded broker, the stream workers, tailing a topic, topic creation."""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Optional

import typer

from pipeline.config import Settings, group_id
from pipeline.kafka.acls import WORKER_TOPICS
from pipeline.kafka.authorization import Needs
from pipeline.kafka.broker import ENGINES, BrokerError, MissingTool, broker_address, make_broker
from pipeline.kafka.io import with_broker_retry
from pipeline.kafka.topics import AGENT_INPUTS, TOPICS, stage_of_agent

from .common import (cli, console, create_topics, needs_acls, out, output_dir_or_exit, require_broker,
                     settings_or_exit)


class _StopRequested(Exception):
    pass


def stop_on_signals() -> None:
    """SIGTERM and SIGINT end the command cleanly (exit 0). As PID 1, a container's entry process, SIGTERM
    has no default action: without a handler `docker stop` waits its grace period, then kills (exit 137)."""
    def request_stop(signum, _frame):
        raise _StopRequested(signal.Signals(signum).name)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)


def _engine(value: str) -> str:
    if value not in ENGINES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(ENGINES)}")
    return value


@cli.command()
def broker(port: int = typer.Option(9092, help="port on 127.0.0.1 (0: any free port); with --nodes N, "
                                                "brokers on PORT..PORT+N-1 and their controllers on the next N"),
           engine: str = typer.Option("tansu", callback=_engine,
                                      help="tansu: the embedded broker (memory storage, no JVM); kafka: Apache "
                                           "Kafka in KRaft mode (Java 17+ and Maven; jars fetched once from Maven "
                                           "Central)"),
           nodes: int = typer.Option(1, min=1, help="brokers in the cluster (--engine kafka)")) -> None:
    """Run a broker on loopback in the foreground: the embedded Tansu, or Apache Kafka (--engine kafka)."""
    stop_on_signals()
    settings = settings_or_exit()
    try:
        b = make_broker(engine, port=port or None, nodes=nodes)
    except BrokerError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2)
    try:
        if engine == "kafka":
            console.print("starting Apache Kafka (the first start fetches its jars from Maven Central)…")
        b.start()
        create_topics(settings, b.address, needed=tuple(TOPICS))
        where = "memory storage" if engine == "tansu" else f"data and logs in {b.root}"
        out.print(f"newsfeed broker listening on {b.address} (loopback only, {where})", highlight=False)
        out.print(b.version, highlight=False)
        out.print(f"export NEWSFEED_BROKER={b.address}", highlight=False)
        while b.alive():
            time.sleep(0.2)
        console.print("[red]the broker process exited[/red]")
        raise typer.Exit(1)
    except BrokerError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2 if isinstance(exc, MissingTool) else 1)
    except _StopRequested:
        pass
    finally:
        b.stop()


@cli.command()
def topics() -> None:
    """Create the newsfeed topics (idempotent) and list them."""
    settings = settings_or_exit()
    created = create_topics(settings, require_broker(settings))
    for name, what in TOPICS.items():
        mark = "created" if settings.topic(name) in created else "exists"
        out.print(f"{settings.topic(name):32} {mark:8} {what}", highlight=False)


def carry_offsets_over(settings: Settings, address: str) -> None:
    """A worker of a new layout starts where the previous layout's workers got (pipeline/kafka/groups.py)."""
    from pipeline.kafka.groups import start_floors
    from pipeline.runtime import faust_consumer

    floors = with_broker_retry("offsets", lambda: start_floors(settings, address), settings.broker_wait,
                               log=lambda m: console.print(f"[yellow]{m}[/yellow]"))
    faust_consumer.start_floors.update({(tp.topic, tp.partition): offset for tp, offset in floors.items()})
    if floors:
        names = sorted({tp.topic for tp in floors})
        console.print(f"newsfeed: consumer group {group_id(settings)} starts where the other layout "
                      f"left off on {', '.join(names)} ({len(floors)} partitions moved forward)",
                      highlight=False, soft_wrap=True)


LOG_LEVELS = {"crit": "crit", "critical": "crit", "error": "error", "warn": "warn", "warning": "warn",
              "info": "info", "debug": "debug"}


def _log_level(value: str) -> str:
    if value.lower() not in LOG_LEVELS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(LOG_LEVELS)}")
    return LOG_LEVELS[value.lower()]  # Faust's own names


@cli.command()
def worker(loglevel: str = typer.Option("info", "--loglevel", "-l", callback=_log_level,
                                        help="crit, error, warn(ing), info or debug")) -> None:
    """Run the stream workers (the stages in NEWSFEED_STAGES). Starts an embedded broker when none is set."""
    stop_on_signals()  # until Faust installs its own handlers (model loading takes seconds)
    settings = settings_or_exit()
    if {"entities", "sink"} & set(settings.stages):  # both write JSONL
        output_dir_or_exit(settings.output_dir)
    try:
        _run_worker(settings, loglevel)
    except _StopRequested:
        raise typer.Exit(0)


def _run_worker(settings, loglevel: str) -> None:
    from pipeline.kafka.authorization import check_group, check_topics

    needs_acls(settings, Needs("newsfeed worker", ops={"topic": "Read", "group": "Read"},
                               topic_ops={name: " and ".join(op.title() for op in ops)
                                          for name, ops in WORKER_TOPICS.items()},
                               names={"group": group_id(settings)},
                               hints={"group": f"grant Read on the prefix '{settings.app_id}' "
                                               "(--resource-pattern-type prefixed): every stage layout's group"}))
    with broker_address(settings.broker) as address:
        create_topics(settings, address, needed=tuple(WORKER_TOPICS))
        if settings.security.protocol != "PLAINTEXT":   # refusals as one line before Faust starts
            check_topics(address, settings, [settings.topic(topic) for agent, topic in AGENT_INPUTS.items()
                                             if stage_of_agent(agent) in settings.stages])
            check_group(address, settings, group_id(settings))
        carry_offsets_over(settings, address)
        os.environ["NEWSFEED_BROKER"] = address
        from workers.app import app, shutdown_children

        sys.argv = ["newsfeed-worker", "worker", "-l", loglevel, "--without-web"]
        code = 0
        try:
            app.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            # Faust has committed and flushed by now; a NER thread still busy with a batch it no longer
            # owns (handed back uncommitted) must not hold the exit for its whole duration.
            shutdown_children()
            sys.stdout.flush()
            sys.stderr.flush()
    os._exit(code)



@cli.command()
def tail(topic: str = typer.Option("enriched", "--topic", "-t", help="topic name, with or without the prefix"),
         from_beginning: bool = typer.Option(False, "--from-beginning"),
         max_messages: Optional[int] = typer.Option(None, "--max", min=1),
         group: Optional[str] = typer.Option(None, "--group", help="consumer group (default: a new one)")) -> None:
    """Print records from a topic as JSON lines: the example consumer for other services."""
    import uuid

    from kafka import KafkaConsumer

    from pipeline.kafka.authorization import check_topics

    stop_on_signals()
    settings = settings_or_exit()
    name = topic if topic.startswith(settings.topic_prefix) else settings.topic(topic)
    group_name = group or f"newsfeed-tail-{uuid.uuid4().hex[:8]}"
    needs_acls(settings, Needs("newsfeed tail", ops={"topic": "Read", "group": "Read"}, names={"group": group_name},
                               hints={"group": "pass --group with a group it may read, or grant Read on the prefix "
                                               "newsfeed-tail- (tail without --group makes a new group each time)"
                                      if not group else "pass --group with a group it may read"}))
    address = require_broker(settings)
    check_topics(address, settings, [name])
    consumer = KafkaConsumer(
        name, bootstrap_servers=address, group_id=group_name,
        auto_offset_reset="earliest" if from_beginning else "latest", enable_auto_commit=True,
        session_timeout_ms=int(settings.session_timeout * 1000),
        heartbeat_interval_ms=int(settings.session_timeout * 1000 / 6), **settings.kafka_python_security())
    count = 0
    try:
        for message in consumer:
            sys.stdout.buffer.write((message.value or b"") + b"\n")
            sys.stdout.flush()
            count += 1
            if max_messages and count >= max_messages:
                break
    except _StopRequested:
        pass
    finally:
        consumer.close(autocommit=False)  # a stop must be quick; the next tail starts from --from-beginning/latest
