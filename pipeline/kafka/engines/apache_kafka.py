"""Apache Kafka in KRaft mode, run from the broker's own jars (Maven Central), on loopback only.

The jars are assembled by Maven into a cache directory on first use (`kafka_home`), so no tarball, image or
registry beyond Maven Central is needed; then every node is `java -cp 'libs/*' kafka.Kafka server.properties`
after `kafka.tools.StorageTool format`. One combined broker+controller node by default; `nodes=3` is a
three-broker cluster (each node also a controller voter) on consecutive ports, replication 3 and
min.insync.replicas 2 for internal topics, as a small production cluster is set up.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

from pipeline.kafka.engines.common import LOOPBACK, BrokerError, MissingTool, free_port, require_free, wait_until_answering

# The one place the Kafka version is pinned (docker-compose.yml's apache/kafka image tag follows it).
KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"   # Kafka's jar does not depend on a log4j2 binding; its tarball ships this one
HEAP = os.environ.get("NEWSFEED_KAFKA_HEAP", "-Xms256m -Xmx768m")

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>newsfeed</groupId><artifactId>apache-kafka-broker</artifactId><version>1</version><packaging>pom</packaging>
<dependencies>
<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version></dependency>
<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>{kafka}</version></dependency>
<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version></dependency>
<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>{log4j}</version></dependency>
</dependencies></project>
"""

LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsfeed"


def kafka_home(version: str = KAFKA_VERSION) -> Path:
    """The directory holding `libs/` (every jar the broker needs) and `log4j2.properties`; built on first use."""
    home = cache_root() / f"apache-kafka-{version}"
    if (home / "libs" / ".complete").exists():
        return home
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        raise MissingTool(f"Apache Kafka needs {' and '.join(missing)} on PATH to assemble and run the broker "
                          f"(Java 17+ and Maven; Debian: apt-get install openjdk-17-jre-headless maven). "
                          f"The embedded broker needs neither: --engine tansu")
    home.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=home))
    (staging / "pom.xml").write_text(POM.format(kafka=version, log4j=LOG4J_VERSION))
    done = subprocess.run(["mvn", "-q", "-B", "-f", str(staging / "pom.xml"), "dependency:copy-dependencies",
                           f"-DoutputDirectory={staging / 'libs'}"], capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(f"Maven could not fetch Apache Kafka {version} from Maven Central "
                          f"(exit {done.returncode}): {(done.stdout + done.stderr).strip()[-800:]}")
    (staging / "libs" / ".complete").write_text(version)
    shutil.rmtree(home / "libs", ignore_errors=True)
    (staging / "libs").rename(home / "libs")   # atomic: a concurrent or interrupted build never leaves half a libs/
    shutil.rmtree(staging, ignore_errors=True)
    (home / "log4j2.properties").write_text(LOG4J2)
    return home


def java_command(home: Path, *args: str, logs: Path | None = None) -> list[str]:
    props = [f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}"]
    if logs:
        props.append(f"-Dkafka.logs.dir={logs}")
    return ["java", *HEAP.split(), "-XX:+UseSerialGC", "-Djava.awt.headless=true", *props,
            "-cp", str(home / "libs" / "*"), *args]


def cluster_id() -> str:
    """A random id as Kafka's own tools make one; never starting with '-', which the storage tool would read
    as an option (Kafka's Uuid.randomUuid draws again for the same reason; one run in 64 failed here)."""
    while True:
        made = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not made.startswith("-"):
            return made


def _terminate_with_parent() -> None:
    """Linux: the node gets SIGTERM (a controlled shutdown) when the process that started it dies, even by
    SIGKILL, so no orphaned JVM keeps the ports and the data directory."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except OSError:
        pass


class KafkaCluster:
    """`nodes` Apache Kafka processes (broker + controller each) on 127.0.0.1; data in a temporary directory."""

    engine = "kafka"
    version = f"Apache Kafka {KAFKA_VERSION}"

    def __init__(self, port: int | None = None, nodes: int = 1, data_dir: str | None = None, **extra_props: str):
        if nodes < 1:
            raise BrokerError("--nodes must be at least 1")
        self.nodes = nodes
        if port:
            self.ports = [port + i for i in range(nodes)]
            self.controller_ports = [port + nodes + i for i in range(nodes)]
        else:
            self.ports = [free_port() for _ in range(nodes)]
            self.controller_ports = [free_port() for _ in range(nodes)]
        self.address = ",".join(f"{LOOPBACK}:{p}" for p in self.ports)
        self.root = Path(data_dir) if data_dir else None
        self.extra_props = extra_props
        self.cluster_id = cluster_id()
        self.processes: dict[int, subprocess.Popen] = {}
        self.home: Path | None = None
        # kafka-python options the readiness check connects with (a secured variant sets its admin's)
        self.client_security: dict = {}

    # node ids are 1..nodes; node i listens on ports[i-1]
    def node_address(self, node: int) -> str:
        return f"{LOOPBACK}:{self.ports[node - 1]}"

    def node_dir(self, node: int) -> Path:
        assert self.root is not None
        return self.root / f"node-{node}"

    def log_path(self, node: int) -> Path:
        return self.node_dir(node) / "server.log"

    def listener_properties(self, node: int) -> dict[str, str]:
        """The listeners of a node: one PLAINTEXT listener for clients and brokers (a secured variant
        overrides this: pipeline/kafka/engines/secured_kafka.py)."""
        return {
            "listeners": f"PLAINTEXT://{LOOPBACK}:{self.ports[node - 1]},"
                         f"CONTROLLER://{LOOPBACK}:{self.controller_ports[node - 1]}",
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{self.ports[node - 1]}",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        }

    def format_arguments(self) -> list[str]:
        """Extra `kafka.tools.StorageTool format` arguments (e.g. --add-scram for a bootstrap user)."""
        return []

    def properties(self, node: int) -> str:
        replicas = min(3, self.nodes)
        voters = ",".join(f"{i + 1}@{LOOPBACK}:{p}" for i, p in enumerate(self.controller_ports))
        props = {
            "process.roles": "broker,controller",
            "node.id": str(node),
            "controller.quorum.voters": voters,
            "controller.listener.names": "CONTROLLER",
            **self.listener_properties(node),
            "log.dirs": str(self.node_dir(node) / "data"),
            "offsets.topic.replication.factor": str(replicas),
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": str(replicas),
            "transaction.state.log.min.isr": str(min(2, replicas)),
            "min.insync.replicas": str(min(2, replicas)),
            "default.replication.factor": str(replicas),
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "message.max.bytes": "8388608",
            "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),   # the default 128 MB of heap, per broker
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
        }
        props.update(self.extra_props)
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def start(self, timeout: float = 90.0) -> "KafkaCluster":
        for port in self.ports + self.controller_ports:
            require_free(port)
        self.home = kafka_home()
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="newsfeed-kafka-"))
            self._owns_root = True
        formats = []
        for node in range(1, self.nodes + 1):
            if (self.node_dir(node) / "data" / "meta.properties").exists():
                continue   # a restart after halt(): the node keeps its storage and the cluster its id
            self.node_dir(node).mkdir(parents=True, exist_ok=True)
            (self.node_dir(node) / "server.properties").write_text(self.properties(node))
            formats.append(subprocess.Popen(
                java_command(self.home, "kafka.tools.StorageTool", "format", "-t", self.cluster_id,
                             "-c", str(self.node_dir(node) / "server.properties"), *self.format_arguments(),
                             logs=self.node_dir(node)),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        for node, proc in enumerate(formats, 1):
            output = proc.communicate()[0]
            if proc.returncode != 0:
                raise BrokerError(f"formatting node {node}'s storage failed: {output.strip()[-600:]}")
        for node in range(1, self.nodes + 1):
            self.start_node(node)
        try:
            wait_until_answering(self.address, timeout, brokers=self.nodes, alive=self._all_alive,
                                 security=self.client_security, groups=True)
        except BrokerError as exc:
            self.stop()
            raise BrokerError(f"{exc} (logs: {self.root}/node-*/server.log)") from None
        return self

    def start_node(self, node: int) -> None:
        """Start (or restart, after `kill_node`) one node on its existing storage. From a thread that outlives
        the node: Linux sends the parent-death signal when the *thread* that started it exits (the soak lost its
        three brokers when the thread that had restarted them ended)."""
        directory = self.node_dir(node)
        self.processes[node] = subprocess.Popen(
            java_command(self.home, "kafka.Kafka", str(directory / "server.properties"), logs=directory),
            stdout=open(directory / "stdout.log", "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,   # a Ctrl-C in the terminal reaches us, and we stop the nodes in order
            preexec_fn=_terminate_with_parent)

    def _all_alive(self) -> bool:
        return all(p.poll() is None for p in self.processes.values())

    def pids(self) -> dict[str, int]:
        """The broker's processes, named for the bench's CPU and memory table."""
        return {f"broker (kafka node {node})": proc.pid for node, proc in self.processes.items()}

    def alive(self) -> bool:
        return bool(self.processes) and any(p.poll() is None for p in self.processes.values())

    def kill_node(self, node: int, sig: int = signal.SIGKILL) -> None:
        proc = self.processes[node]
        proc.send_signal(sig)
        proc.wait(60)

    def stop(self) -> None:
        self.halt()
        if getattr(self, "_owns_root", False) and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def halt(self) -> None:
        """Stop every node, keeping its storage: `start()` brings the same cluster back."""
        for proc in self.processes.values():   # controlled shutdown: leaders move, logs are flushed
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes = {}

    def __enter__(self) -> "KafkaCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
