"""The one place client security is built (pipeline/security_settings.py, pipeline/kafka/security.py): the options kafka-python and Faust
get, the password file, and settings refused with a message naming the variable (never the password)."""

from __future__ import annotations

import ssl

import faust
import pytest

from pipeline.config import Settings
from pipeline.kafka.security import faust_credentials
from pipeline.security_settings import SecurityConfigError

from certificates import make_certificates

SECRET = "s3cret-Pa55"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def sasl_ssl(monkeypatch, certs):
    for key, value in {"NEWSFEED_SECURITY_PROTOCOL": "SASL_SSL", "NEWSFEED_SASL_MECHANISM": "SCRAM-SHA-512",
                       "NEWSFEED_SASL_USERNAME": "worker", "NEWSFEED_SSL_CAFILE": str(certs.ca)}.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_plaintext_needs_no_options(monkeypatch):
    monkeypatch.delenv("NEWSFEED_SECURITY_PROTOCOL", raising=False)
    settings = Settings()
    assert settings.kafka_python_security() == {}
    assert faust_credentials(settings.security) is None


def test_sasl_ssl_reaches_kafka_python_and_faust_alike(sasl_ssl, certs):
    sasl_ssl.setenv("NEWSFEED_SASL_PASSWORD", SECRET)
    settings = Settings()
    opts = settings.kafka_python_security()
    context = opts.pop("ssl_context")
    assert opts == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                    "sasl_plain_username": "worker", "sasl_plain_password": SECRET}
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "newsfeed test ca"),),)]
    creds = faust_credentials(settings.security)
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.protocol.value, creds.mechanism.value, creds.username, creds.password) == \
        ("SASL_SSL", "SCRAM-SHA-512", "worker", SECRET)
    assert creds.ssl_context.get_ca_certs() == context.get_ca_certs()


def test_password_from_a_file_and_never_in_a_repr(sasl_ssl, tmp_path):
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")
    sasl_ssl.setenv("NEWSFEED_SASL_PASSWORD_FILE", str(secret_file))
    settings = Settings()
    assert settings.kafka_python_security()["sasl_plain_password"] == SECRET
    assert SECRET not in repr(settings) and SECRET not in repr(settings.security)
    assert SECRET not in repr(faust_credentials(settings.security))


def test_mutual_tls_loads_the_client_certificate(monkeypatch, certs):
    for key, value in {"NEWSFEED_SECURITY_PROTOCOL": "SSL", "NEWSFEED_SSL_CAFILE": str(certs.ca),
                       "NEWSFEED_SSL_CERTFILE": str(certs.client_cert),
                       "NEWSFEED_SSL_KEYFILE": str(certs.client_key)}.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert set(settings.kafka_python_security()) == {"security_protocol", "ssl_context"}
    assert isinstance(faust_credentials(settings.security), faust.SSLCredentials)


@pytest.mark.parametrize("env, message", [
    ({"NEWSFEED_SECURITY_PROTOCOL": "TLS"}, "NEWSFEED_SECURITY_PROTOCOL='TLS': one of PLAINTEXT, SSL"),
    ({"NEWSFEED_SASL_MECHANISM": "GSSAPI", "NEWSFEED_SASL_PASSWORD": SECRET}, "NEWSFEED_SASL_MECHANISM='GSSAPI'"),
    ({}, "SASL_SSL needs NEWSFEED_SASL_USERNAME and NEWSFEED_SASL_PASSWORD"),
    ({"NEWSFEED_SASL_PASSWORD": SECRET, "NEWSFEED_SASL_PASSWORD_FILE": "/etc/hostname"}, "not both"),
    ({"NEWSFEED_SASL_PASSWORD_FILE": "/nonexistent/password"}, "NEWSFEED_SASL_PASSWORD_FILE /nonexistent/password"),
    ({"NEWSFEED_SASL_PASSWORD": SECRET, "NEWSFEED_SSL_CAFILE": "/nonexistent/ca.pem"},
     "NEWSFEED_SSL_CAFILE /nonexistent/ca.pem: no such file"),
])
def test_bad_settings_name_the_variable_not_the_password(sasl_ssl, env, message):
    for key, value in env.items():
        sasl_ssl.setenv(key, value)
    with pytest.raises(SecurityConfigError, match=message.replace("(", r"\(")) as raised:
        Settings()
    assert SECRET not in str(raised.value)
