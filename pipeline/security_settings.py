"""Kafka client security settings: the NEWSFEED_SECURITY_PROTOCOL / SASL / SSL variables validated into one
`ClientSecurity` at load (pipeline/config.py). Settings only: nothing here opens a connection or imports a
Kafka client; pipeline/kafka/security.py turns a ClientSecurity into Faust credentials and checks it against a
broker. The password never leaves this module in a printable form: `ClientSecurity` keeps it out of its repr,
and the errors below name the setting, never its value. `settings` below is a pipeline.config.Settings (not
imported: config imports this module).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class SecurityConfigError(ValueError):
    """The security settings are incomplete or contradictory (a ValueError: the CLI exits 2)."""


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


def _password(settings) -> str:
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


def client_security(settings) -> ClientSecurity:
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
