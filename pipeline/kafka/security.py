"""Kafka client security: the one place the NEWSFEED_SECURITY_PROTOCOL / SASL / SSL settings become client
options, for kafka-python (replay, tail, status, topics, state reads) and for aiokafka through Faust (the
worker) alike. The password never leaves this module in a printable form: `ClientSecurity` keeps it out of
its repr, and the errors below name the setting, never its value.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.config import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class SecurityConfigError(ValueError):
    """The security settings are incomplete or contradictory (a ValueError: the CLI exits 2)."""


class BrokerRefused(RuntimeError):
    """The broker refused this client's identity, or its certificate is not trusted: retrying cannot help."""


@dataclass(frozen=True)
class ClientSecurity:
    protocol: str = "PLAINTEXT"
    mechanism: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def ssl_context(self) -> ssl.SSLContext | None:
        """Verifies the broker against the CA file (the system CAs without one); presents the client
        certificate when one is set (mTLS)."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.cafile or None)
        if self.certfile:
            context.load_cert_chain(self.certfile, self.keyfile or None)
        return context

    def kafka_python(self) -> dict:
        """Keyword arguments for KafkaConsumer / KafkaProducer / KafkaAdminClient (empty on PLAINTEXT)."""
        if self.protocol == "PLAINTEXT":
            return {}
        opts: dict = {"security_protocol": self.protocol}
        if self.tls:
            opts["ssl_context"] = self.ssl_context()
        if self.sasl:
            opts.update(sasl_mechanism=self.mechanism, sasl_plain_username=self.username,
                        sasl_plain_password=self.password)
        return opts

    def faust_credentials(self):
        """`broker_credentials` for faust.App (None on PLAINTEXT); Faust hands them to aiokafka."""
        import faust

        if self.protocol == "PLAINTEXT":
            return None
        if self.protocol == "SSL":
            return faust.SSLCredentials(self.ssl_context())
        # SASLCredentials picks SASL_SSL itself when given a context, SASL_PLAINTEXT without one
        return faust.SASLCredentials(username=self.username, password=self.password, mechanism=self.mechanism,
                                     ssl_context=self.ssl_context())


def _password(settings: "Settings") -> str:
    if settings.sasl_password and settings.sasl_password_file:
        raise SecurityConfigError("set NEWSFEED_SASL_PASSWORD or NEWSFEED_SASL_PASSWORD_FILE, not both")
    if not settings.sasl_password_file:
        return settings.sasl_password
    try:   # one trailing newline is the file's, not the password's (`echo secret > file`)
        return Path(settings.sasl_password_file).read_text().removesuffix("\n")
    except OSError as exc:
        raise SecurityConfigError(f"NEWSFEED_SASL_PASSWORD_FILE {settings.sasl_password_file}: "
                                  f"cannot read it ({exc.strerror})") from None


def _readable(variable: str, path: str) -> None:
    if path and not Path(path).is_file():
        raise SecurityConfigError(f"{variable} {path}: no such file")


def client_security(settings: "Settings") -> ClientSecurity:
    """The validated security of a client; raises SecurityConfigError naming the setting at fault."""
    protocol = settings.security_protocol.upper()
    if protocol not in PROTOCOLS:
        raise SecurityConfigError(f"NEWSFEED_SECURITY_PROTOCOL={settings.security_protocol!r}: one of "
                                  f"{', '.join(PROTOCOLS)}")
    sec = ClientSecurity(protocol=protocol, mechanism=(settings.sasl_mechanism or "PLAIN").upper(),
                         username=settings.sasl_username, password=_password(settings),
                         cafile=settings.ssl_cafile, certfile=settings.ssl_certfile, keyfile=settings.ssl_keyfile)
    if sec.sasl:
        if sec.mechanism not in MECHANISMS:
            raise SecurityConfigError(f"NEWSFEED_SASL_MECHANISM={settings.sasl_mechanism!r}: one of "
                                      f"{', '.join(MECHANISMS)}")
        if not sec.username or not sec.password:
            raise SecurityConfigError(f"{protocol} needs NEWSFEED_SASL_USERNAME and NEWSFEED_SASL_PASSWORD "
                                      "(or NEWSFEED_SASL_PASSWORD_FILE)")
    if sec.keyfile and not sec.certfile:
        raise SecurityConfigError("NEWSFEED_SSL_KEYFILE is set without NEWSFEED_SSL_CERTFILE")
    for variable, path in (("NEWSFEED_SSL_CAFILE", sec.cafile), ("NEWSFEED_SSL_CERTFILE", sec.certfile),
                           ("NEWSFEED_SSL_KEYFILE", sec.keyfile)):
        _readable(variable, path)
    if sec.tls:
        try:
            sec.ssl_context()
        except (ssl.SSLError, OSError) as exc:
            raise SecurityConfigError(f"the TLS files (NEWSFEED_SSL_CAFILE / CERTFILE / KEYFILE) cannot be "
                                      f"loaded: {exc}") from None
    return sec


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
