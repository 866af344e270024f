"""Kafka client security on the wire: the validated settings (pipeline/security_settings.py, ClientSecurity)
as Faust credentials for the worker, and the start-up check of this client's identity against a broker.
kafka-python's options come from `ClientSecurity.kafka_python()`. The errors below name the setting at
fault, never the password.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

# re-exported: callers catch SecurityConfigError as a configuration error
from pipeline.security_settings import ClientSecurity, SecurityConfigError

if TYPE_CHECKING:
    from pipeline.config import Settings

__all__ = ["BrokerRefused", "ClientSecurity", "SecurityConfigError", "check_broker", "faust_credentials", "refusal"]


class BrokerRefused(RuntimeError):
    """The broker refused this client's identity, or its certificate is not trusted: retrying cannot help."""


def faust_credentials(sec: ClientSecurity):
    """`broker_credentials` for faust.App (None on PLAINTEXT); Faust hands them to aiokafka."""
    import faust

    if sec.protocol == "PLAINTEXT":
        return None
    if sec.protocol == "SSL":
        return faust.SSLCredentials(sec.ssl_context())
    # SASLCredentials picks SASL_SSL itself when given a context, SASL_PLAINTEXT without one
    return faust.SASLCredentials(username=sec.username, password=sec.password, mechanism=sec.mechanism,
                                 ssl_context=sec.ssl_context())


def check_broker(settings: "Settings", address: str, timeout: float = 10.0) -> None:
    """Start-up check of this client's identity: one connection (TLS handshake, SASL authentication) to the
    first bootstrap server that accepts one. Raises BrokerRefused when the broker's certificate is not trusted
    or the credentials are refused, which the clients themselves would only log while retrying until a
    timeout; ConnectionError when no server answers (the caller retries that)."""
    sec = settings.security
    if sec.protocol == "PLAINTEXT":
        return
    import asyncio

    from aiokafka.conn import create_conn

    async def probe(host: str, port: int) -> None:
        conn = await create_conn(host, port, request_timeout_ms=int(timeout * 1000), ssl_context=sec.ssl_context(),
                                 security_protocol=sec.protocol, sasl_mechanism=sec.mechanism if sec.sasl else None,
                                 sasl_plain_username=sec.username, sasl_plain_password=sec.password)
        conn.close()

    last: BaseException | None = None
    for server in address.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            asyncio.run(asyncio.wait_for(probe(host or "localhost", int(port)), timeout))
            return
        except Exception as exc:   # noqa: BLE001 - sorted below: refused identity vs. absent broker
            refused = refusal(exc, settings, server)
            if refused is not None:
                raise refused from None
            last = exc
    raise ConnectionError(f"no bootstrap server of {address} answered: {type(last).__name__}: {last}")


def refusal(exc: BaseException, settings: "Settings", server: str) -> BrokerRefused | None:
    """What to fix, when `exc` is a certificate or authentication failure; None for anything else."""
    from aiokafka.errors import SaslAuthenticationFailed
    from kafka.errors import SaslAuthenticationFailedError

    sec = settings.security
    if isinstance(exc, ssl.SSLCertVerificationError):
        return BrokerRefused(f"TLS: the certificate of the broker at {server} is not trusted: {exc.verify_message} "
                             f"(checked against NEWSFEED_SSL_CAFILE={sec.cafile or '(unset: the system CAs)'})")
    if isinstance(exc, ssl.SSLError):
        return BrokerRefused(f"TLS: the handshake with {server} failed ({exc.reason or exc}): is "
                             f"NEWSFEED_SECURITY_PROTOCOL={sec.protocol} what this listener speaks?")
    if isinstance(exc, (SaslAuthenticationFailed, SaslAuthenticationFailedError)):
        return BrokerRefused(f"SASL: the broker at {server} refused user {sec.username!r} with {sec.mechanism}: "
                             "wrong user name or password (NEWSFEED_SASL_USERNAME, NEWSFEED_SASL_PASSWORD or "
                             "NEWSFEED_SASL_PASSWORD_FILE), or no such SCRAM user")
    return None
