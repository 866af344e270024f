"""The soak: a steady open-loop load on a 3-broker Apache Kafka cluster (replication 3 for every topic) while
faults happen one after another: a rolling restart of the brokers (or one broker), a worker SIGKILL and its
restart, a scale-out. After each fault the run waits until the backlog the fault left is drained (every stage's
committed offset past the high watermark seen when the fault was over) before the next one.

`bench/soak.py` runs it for 30 minutes and more; tests/test_soak_e2e.py runs a short one through this same code.
What it measures (pipeline/tools/soak_report.py turns it into the table and the plot): each article once in
exactly one output on the topics and in the JSONL, time to recover per fault, worker RSS and open files over
time, produce→sink latency before, during and after each fault.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil
from kafka import KafkaAdminClient

from pipeline.config import Settings
from pipeline.kafka import lag
from pipeline.kafka.engines.apache_kafka import KafkaCluster
from pipeline.kafka.engines.common import wait_until_answering
from pipeline.kafka.replay import Item, ReplayResult, replay
from pipeline.kafka.topics import all_topics, create_topics
from pipeline.tools import exactly_once
from pipeline.tools.process_monitor import ProcessMonitor
from pipeline.tools.processes import start_worker, stop_workers, wait_workers_ready
from pipeline.tools.synth import synthesize

ROOT = Path(__file__).resolve().parents[2]
FAULTS = ("rolling-restart", "broker-restart", "worker-kill", "scale-out")
# the dead letter of the second names it by its id: the same as its replay key
BAD_PAYLOADS = (b"{not json", b'{"id": "soak-bad-2", "text": 3}', b"\xff\xfe binary")


@dataclass
class Fault:
    kind: str
    planned_at: float              # seconds after the load started
    started: float = 0.0           # wall clock (time.time())
    ended: float = 0.0             # the fault is over: broker(s) back with full ISR, worker ready
    recovered: float | None = None  # the backlog left at `ended` drained (None: not within the limit)
    detail: str = ""


@dataclass
class SoakRun:
    rate: float
    duration: float
    faults: list[Fault]
    started: float = 0.0
    load_ended: float = 0.0
    drained: float | None = None             # every stage's lag 0 after the load stopped
    lag_samples: list[tuple[float, int]] = field(default_factory=list)   # (wall clock, total lag)
    series: list[tuple[float, str, int, int]] = field(default_factory=list)   # (wall clock, process, RSS, fds)
    exactness: exactly_once.Exactness | None = None
    sent: int = 0


def say(message: str) -> None:
    """Progress on stderr, stamped: a 30-minute run says where it is."""
    print(f"{time.strftime('%H:%M:%S')} soak: {message}", file=sys.stderr, flush=True)


class Soak:
    """One soak on a started cluster: `run()` does everything and returns the measurements."""

    def __init__(self, cluster: KafkaCluster, output: Path, rate: float, duration: float, faults: list[str],
                 workers: int = 2, partitions: int = 3, seed: int = 0, recover_limit: float = 300,
                 lag_interval: float = 5.0, sample_interval: float = 5.0, env: dict[str, str] | None = None):
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {', '.join(FAULTS)}")
        self.cluster, self.output, self.address = cluster, output, cluster.address
        prefix = f"soak-{uuid.uuid4().hex[:6]}"
        self.output.mkdir(parents=True, exist_ok=True)
        self.settings = replace(Settings(), broker=cluster.address, topic_prefix=f"{prefix}.", app_id=prefix,
                                output_dir=output, partitions=partitions, replication=min(3, cluster.nodes))
        self.env = {**(env or {}), "NEWSFEED_BROKER": cluster.address, "NEWSFEED_TOPIC_PREFIX": f"{prefix}.",
                    "NEWSFEED_APP_ID": prefix, "NEWSFEED_OUTPUT_DIR": str(output),
                    "NEWSFEED_PARTITIONS": str(partitions), "NEWSFEED_REPLICATION": str(self.settings.replication)}
        self.initial_workers, self.seed = workers, seed
        self.recover_limit, self.lag_interval = recover_limit, lag_interval
        self.workers: dict[str, subprocess.Popen] = {}
        self.started_count = 0
        self.monitor = ProcessMonitor({}, interval=sample_interval, series=True)
        self.run_data = SoakRun(rate, duration, [Fault(kind, duration * (i + 1) / (len(faults) + 1))
                                                 for i, kind in enumerate(faults)])
        self._pool = ThreadPoolExecutor(4, thread_name_prefix="soak-lag")
        self._stop = threading.Event()
        self._sent: ReplayResult | BaseException | None = None

    # -- workers ---------------------------------------------------------------------------------------
    def start_workers(self, count: int) -> list[str]:
        names, logs, procs = [], [], []
        for _ in range(count):
            name = f"worker-{self.started_count}"
            self.started_count += 1
            log = self.output / f"{name}.log"
            proc = start_worker({**os.environ, **self.env}, log, cwd=ROOT)
            self.workers[name] = proc
            self.monitor.add(name, proc.pid)
            names.append(name)
            logs.append(log)
            procs.append(proc)
        wait_workers_ready(logs, procs, timeout=180)
        for name, proc in zip(names, procs):   # the NER child process(es), started with the models
            for j, child in enumerate(psutil.Process(proc.pid).children(recursive=True)):
                self.monitor.add(f"{name}-ner-{j}" if j else f"{name}-ner", child.pid)
        return names

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.workers.values())

    # -- lag ---------------------------------------------------------------------------------------------
    def lag_snapshot(self, timeout: float = 30) -> list[lag.PartitionLag] | None:
        """One lag snapshot, or None if the cluster did not answer within `timeout` (a leader moving)."""
        future = self._pool.submit(lag.snapshot, self.settings, self.address)
        try:
            return future.result(timeout)
        except FutureTimeout:
            return None
        except Exception:   # a broker away mid-read: the next sample will do
            return None

    def _sample_lag(self) -> None:
        while not self._stop.is_set():
            snap = self.lag_snapshot()
            if snap is not None:
                self.run_data.lag_samples.append((time.time(), sum(p.lag for p in snap)))
            self._stop.wait(self.lag_interval)

    def wait_drained(self, since: float, limit: float, backlog_only: bool = True) -> float | None:
        """When every stage's committed offset passed the high watermarks of the first snapshot taken after
        `since` (the backlog then drained; with `backlog_only` false: every lag 0). None after `limit` s."""
        deadline = time.monotonic() + limit
        reference = None
        while time.monotonic() < deadline:
            snap = self.lag_snapshot()
            if snap is not None:
                if reference is None:
                    reference = {(p.stage, p.partition): p.high_watermark for p in snap}
                target = reference if backlog_only else {(p.stage, p.partition): p.high_watermark for p in snap}
                if all(p.committed >= target[(p.stage, p.partition)] for p in snap):
                    return time.time()
            time.sleep(1)
        return None

    # -- faults ------------------------------------------------------------------------------------------
    def wait_full_isr(self, timeout: float = 180) -> None:
        """Every partition of the soak's topics back to all its replicas in sync."""
        topics = all_topics(self.settings)
        deadline = time.monotonic() + timeout
        while True:
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.address, request_timeout_ms=5000)
                try:
                    described = admin.describe_topics(topics)
                finally:
                    admin.close()
                short = [f"{t['topic']}[{p['partition_index']}]" for t in described for p in t["partitions"]
                         if len(p["isr_nodes"]) < self.settings.replication]
                if not short:
                    return
            except Exception as exc:   # a broker still starting
                short = [repr(exc)]
            if time.monotonic() > deadline:
                raise TimeoutError(f"replicas not back in sync after {timeout:.0f}s: {short[:5]}")
            time.sleep(1)

    def restart_broker(self, node: int) -> None:
        """Controlled shutdown (SIGTERM: leaders move away first), start again, wait for the ISR to fill."""
        self.cluster.kill_node(node, signal.SIGTERM)
        self.cluster.start_node(node)
        wait_until_answering(self.address, 120, brokers=self.cluster.nodes)
        self.wait_full_isr()

    def do(self, fault: Fault) -> None:
        if fault.kind == "rolling-restart":
            for node in range(1, self.cluster.nodes + 1):
                self.restart_broker(node)
            fault.detail = f"nodes 1-{self.cluster.nodes} one at a time"
        elif fault.kind == "broker-restart":
            self.restart_broker(1)
            fault.detail = "node 1"
        elif fault.kind == "worker-kill":
            victim = next(name for name, p in self.workers.items() if p.poll() is None)
            self.workers[victim].send_signal(signal.SIGKILL)
            self.workers[victim].wait()
            del self.workers[victim]
            fault.detail = f"SIGKILL {victim}, then {self.start_workers(1)[0]} started"
        elif fault.kind == "scale-out":
            fault.detail = f"{self.start_workers(1)[0]} added ({len(self.workers)} workers)"

    def _each_fault(self) -> None:
        for fault in self.run_data.faults:
            delay = self.run_data.started + fault.planned_at - time.time()
            if self._stop.wait(max(0.0, delay)):
                return
            fault.started = time.time()
            say(f"{fault.kind} begins")
            self.do(fault)
            fault.ended = time.time()
            fault.recovered = self.wait_drained(fault.ended, self.recover_limit)
            say(f"{fault.kind} ({fault.detail}) took {fault.ended - fault.started:.1f} s; backlog drained "
                + (f"{fault.recovered - fault.ended:.1f} s later" if fault.recovered else "NOT within the limit"))

    # -- the run -------------------------------------------------------------------------------------------
    def load(self) -> list[Item]:
        """rate × duration synthetic articles (with exact and near copies) and three malformed messages."""
        n = max(10, round(self.run_data.rate * self.run_data.duration))
        syn = synthesize(n, ROOT / "seeds", mix="unique=0.8,exact=0.1,near=0.1", seed=self.seed, source="soak",
                         length="seed")
        items = [Item(key=a["id"], article=a) for a in syn.articles]
        for i, payload in enumerate(BAD_PAYLOADS, 1):
            items.insert(i * len(items) // (len(BAD_PAYLOADS) + 1), Item(key=f"soak-bad-{i}", payload=payload))
        return items

    def _send(self, items: list[Item]) -> None:
        try:
            self._sent = replay(items, self.address, self.settings, rate=self.run_data.rate, progress=False)
        except BaseException as exc:   # raised by run()
            self._sent = exc
        self.run_data.load_ended = time.time()
        say("load sent")

    def run(self) -> SoakRun:
        create_topics(self.settings, self.address)
        items = self.load()
        self.start_workers(self.initial_workers)
        say(f"{self.initial_workers} worker(s) ready; {len(items)} messages at {self.run_data.rate}/s")
        time.sleep(self.settings.session_timeout)   # let the first rebalance settle
        self.monitor.start()
        sampler = threading.Thread(target=self._sample_lag, daemon=True, name="soak-lag-sampler")
        # the load in a thread, the faults in this one: a broker node dies with the thread that started it
        # (PR_SET_PDEATHSIG follows the thread, pipeline/kafka/engines/apache_kafka.py)
        loader = threading.Thread(target=self._send, args=(items,), name="soak-load")
        self.run_data.started = time.time()
        sampler.start()
        loader.start()
        try:
            self._each_fault()
            loader.join()
            result = self._sent
            if isinstance(result, BaseException):
                raise RuntimeError(f"the load could not be sent: {result!r}") from result
            if result.failed:
                raise RuntimeError(f"{result.failed} article(s) could not be produced: {result.errors[:3]}")
            self.run_data.sent = len(result.keys)
            exactly_once.wait_for_sinks(self.output, len(result.keys), timeout=self.recover_limit, alive=self.alive)
            self.run_data.drained = self.wait_drained(time.time(), self.recover_limit, backlog_only=False)
            say("every outcome in the sinks, lag 0")
        finally:
            self._stop.set()
            self.monitor.stop()
            stop_workers(list(self.workers.values()))
            sampler.join(60)
            self._pool.shutdown(wait=False)
        self.run_data.series = list(self.monitor.series or [])
        self.run_data.exactness = exactly_once.check(self.address, self.settings, self.output, result.keys)
        say("outputs read back and checked")
        return self.run_data
