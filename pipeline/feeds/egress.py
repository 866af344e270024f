"""Where the poller may connect: http(s) only, and never an internal address unless the operator allows it.

The check runs at connect time, inside the HTTP client's network backend (installed by httpx_pool_patch.py):
the host name is resolved once, every address is classified, and the socket connects to exactly the address that passed (TLS keeps the host
name for SNI and certificate checks; the Host header is the URL's). A DNS answer that changes between a check
and the connection (DNS rebinding) therefore cannot slip through. The same backend enforces the one total
deadline of a request (connect, TLS, headers and body) and lets a shutdown cancel a request in flight.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import threading
import time
from dataclasses import dataclass

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# not globally reachable, though Python 3.11 calls them global: shared address space (carrier-grade NAT) and
# the IETF protocol assignments (192.0.0.9 and .10 are the global exceptions)
_ALSO_INTERNAL = ((ipaddress.ip_network("100.64.0.0/10"), "shared address space (carrier-grade NAT)"),
                  (ipaddress.ip_network("192.0.0.0/24"), "an IETF protocol assignment"))
_GLOBAL_EXCEPTIONS = {ipaddress.ip_address("192.0.0.9"), ipaddress.ip_address("192.0.0.10")}
_WAIT_STEP = 0.25   # a blocked read wakes this often to see the deadline or a cancellation


class EgressRefused(Exception):
    """A target the egress policy does not allow (the message says which address and why)."""


class Cancelled(Exception):
    """The poller is shutting down: the request in flight is abandoned."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries: IPv4-mapped, 6to4, NAT64 (64:ff9b::/96, 64:ff9b:1::/48)."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why the address is internal (loopback, private, ...), or None for a public (global) address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo:
            return "Teredo tunnel address"
        inner = _embedded_ipv4(ip)
        if inner is not None:
            why = refusal(inner)
            return f"{why} (inside the IPv6 form {ip})" if why else None
    for attribute, why in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                           ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                           ("is_private", "private"), ("is_reserved", "reserved")):
        if getattr(ip, attribute):
            return why
    for net, why in _ALSO_INTERNAL:
        if ip.version == net.version and ip in net and ip not in _GLOBAL_EXCEPTIONS:
            return why
    if not ip.is_global:
        return "not globally routable"
    return None


@dataclass(frozen=True)
class EgressPolicy:
    allow_private: bool = False                       # NEWSFEED_FEEDS_ALLOW_PRIVATE=1: every address
    allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()   # ...or only these

    @classmethod
    def from_text(cls, allow_private: bool, networks: str) -> "EgressPolicy":
        try:
            nets = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks.split(",") if n.strip())
        except ValueError as exc:
            raise ValueError(f"NEWSFEED_FEEDS_ALLOW_NETWORKS: {exc}") from None
        return cls(allow_private, nets)

    def check_address(self, ip: IPAddress) -> str | None:
        """None when the poller may connect to `ip`, else the reason it may not."""
        if self.allow_private or any(ip.version == net.version and ip in net for net in self.allow_networks):
            return None
        why = refusal(ip)
        return f"{ip} is {why}; NEWSFEED_FEEDS_ALLOW_PRIVATE=1 or NEWSFEED_FEEDS_ALLOW_NETWORKS allows it" if why else None

    def resolve(self, host: str, port: int) -> list[tuple[int, tuple]]:
        """(family, socket address) of every address of `host` that passes; EgressRefused when none does."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"{host}: cannot resolve: {exc}") from None
        allowed, refused = [], []
        for family, _type, _proto, _name, sockaddr in infos:
            why = self.check_address(ipaddress.ip_address(sockaddr[0].split("%")[0]))
            (refused if why else allowed).append(why or (family, sockaddr))
        if not allowed:
            raise EgressRefused(f"{host}: refused by the egress policy: {'; '.join(dict.fromkeys(refused))}")
        return allowed


class RequestClock:
    """One total deadline per request, per thread (set when the request leaves its queue), and a cancel switch."""

    def __init__(self):
        self._local = threading.local()
        self.cancelled = threading.Event()

    def start(self, seconds: float) -> float:
        self._local.deadline = time.monotonic() + seconds
        return self._local.deadline

    def stop(self) -> None:
        self._local.deadline = None

    def wait(self, op_timeout: float | None, started: float, what: type[Exception]) -> float:
        """Seconds the next blocking step may wait; raises `what` (a timeout) when the budget is spent."""
        if self.cancelled.is_set():
            raise Cancelled("shutting down")
        now = time.monotonic()
        ends = [d for d in (getattr(self._local, "deadline", None),
                            None if op_timeout is None else started + op_timeout) if d is not None]
        left = min(ends) - now if ends else _WAIT_STEP
        if left <= 0:
            raise what("the request's total time is spent")
        return min(left, _WAIT_STEP)

    def left(self, op_timeout: float | None) -> float:
        """What is left of the request's budget for one step that cannot wake up (connect, TLS handshake)."""
        deadline = getattr(self._local, "deadline", None)
        left = [x for x in (op_timeout, None if deadline is None else deadline - time.monotonic()) if x is not None]
        return max(0.001, min(left)) if left else 30.0


class _GuardedStream(httpcore.NetworkStream):
    def __init__(self, sock: socket.socket, clock: RequestClock):
        self._sock, self._clock = sock, clock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        started = time.monotonic()
        while True:
            self._sock.settimeout(self._clock.wait(timeout, started, httpcore.ReadTimeout))
            try:
                return self._sock.recv(max_bytes)
            except socket.timeout:
                continue     # woken to look at the deadline and the cancel switch
            except OSError as exc:
                raise httpcore.ReadError(str(exc)) from None

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        started = time.monotonic()
        while buffer:
            self._sock.settimeout(self._clock.wait(timeout, started, httpcore.WriteTimeout))
            try:
                buffer = buffer[self._sock.send(buffer):]
            except socket.timeout:
                continue
            except OSError as exc:
                raise httpcore.WriteError(str(exc)) from None

    def close(self) -> None:
        self._sock.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        # the handshake as one step bounded by what is left (the server name stays the URL's host: SNI)
        self._clock.wait(timeout, time.monotonic(), httpcore.ConnectTimeout)   # cancelled or spent: not started
        self._sock.settimeout(self._clock.left(timeout))
        try:
            return _GuardedStream(ssl_context.wrap_socket(self._sock, server_hostname=server_hostname), self._clock)
        except socket.timeout:
            self.close()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from None
        except OSError as exc:
            self.close()
            raise httpcore.ConnectError(str(exc)) from None

    def get_extra_info(self, info: str):
        if info == "ssl_object":
            return getattr(self._sock, "_sslobj", None)
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "socket":
            return self._sock
        if info == "is_readable":   # an idle pooled connection that is readable was closed by the server
            try:
                return bool(select.select([self._sock], [], [], 0)[0])
            except (OSError, ValueError):
                return True
        return None


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend with the egress check and the deadline at every connect and read."""

    def __init__(self, policy: EgressPolicy, clock: RequestClock):
        self.policy, self.clock = policy, clock

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options=None) -> httpcore.NetworkStream:
        self.clock.wait(timeout, time.monotonic(), httpcore.ConnectTimeout)   # cancelled or spent: no connect
        last: Exception | None = None
        for family, sockaddr in self.policy.resolve(host, port):
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.clock.left(timeout))
                sock.connect(sockaddr)     # exactly the address that was checked
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return _GuardedStream(sock, self.clock)
            except socket.timeout:
                sock.close()
                last = httpcore.ConnectTimeout(f"{host}: connect timed out")
            except OSError as exc:
                sock.close()
                last = httpcore.ConnectError(f"{host} ({sockaddr[0]}): {exc}")
            if self.clock.cancelled.is_set():
                raise Cancelled("shutting down")
        raise last or httpcore.ConnectError(f"{host}: no address")

