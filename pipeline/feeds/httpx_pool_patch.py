"""PATCHES httpx internals (pinned httpx 0.29 / httpcore 1.0.9): httpx's public API offers no way to give a
transport a network backend, so the transport's private connection pool (`_pool`) is replaced by an httpcore pool
whose every connection goes through the egress policy (egress.GuardedBackend). Kept apart so that an httpx upgrade
knows the one place to check."""

from __future__ import annotations

import httpcore
import httpx

from .egress import EgressPolicy, GuardedBackend, RequestClock


def guarded_transport(policy: EgressPolicy, clock: RequestClock, ssl_context=None) -> httpx.HTTPTransport:
    """An httpx transport whose connections all go through GuardedBackend. Proxies from the environment are not
    used (trust_env=False): through a proxy the check would see the proxy's address, not the target's."""
    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
                                              network_backend=GuardedBackend(policy, clock))
    return transport
