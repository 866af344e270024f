"""What every broker engine shares (pipeline/kafka/engines/*): the loopback address, free ports and who holds a
taken one, the errors, and the readiness wait. Its own module so that the engines and pipeline/kafka/broker.py
(which picks an engine) both import it without importing each other."""

from __future__ import annotations

import socket
import time

import psutil

LOOPBACK = "127.0.0.1"


class BrokerError(RuntimeError):
    pass


class MissingTool(BrokerError):
    """A program the engine needs (Java, Maven) is not installed: a set-up problem, exit 2."""


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


def require_free(port: int) -> None:
    taken = port_owner(port)
    if taken is not None:
        raise BrokerError(f"port {port} on {LOOPBACK} is already in use{taken}: another broker? "
                          "Stop it, or pick another port (--port, 0 for any free one)")


def wait_until_answering(address: str, timeout: float = 10.0, brokers: int = 1, alive=lambda: True,
                         security: dict | None = None, groups: bool = False) -> None:
    """Wait until a Kafka client can fetch metadata from `address` and at least `brokers` brokers are unfenced;
    with `groups`, also until a group coordinator answers (a new Kafka creates __consumer_offsets first)."""
    from kafka import KafkaAdminClient

    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if not alive():
            raise BrokerError(f"the broker process for {address} exited while starting")
        try:
            admin = KafkaAdminClient(bootstrap_servers=address, request_timeout_ms=2000, **(security or {}))
            try:
                admin.list_topics()
                found = (sum(not b.get("is_fenced") for b in admin.describe_cluster().get("brokers", ()))
                         if brokers > 1 else 1)
                if groups and found >= brokers:
                    probe = admin.describe_groups(["newsfeed-readiness-probe"])["newsfeed-readiness-probe"]
                    # GroupIdNotFound is a coordinator's answer; NotCoordinator or CoordinatorNotAvailable
                    # come while __consumer_offsets is still being created
                    if "Coordinator" in (probe.get("error") or ""):
                        raise BrokerError(f"group coordinator not ready: {probe['error']}")
            finally:
                admin.close()
            if found >= brokers:
                return
            last = f"{found} of {brokers} brokers registered"
        except Exception as exc:  # the broker is still starting: retry until the deadline
            last = exc
        time.sleep(0.1)
    raise BrokerError(f"broker at {address} did not answer within {timeout}s: {last}")
