"""Test certificates, made with the openssl command: a CA, the broker's certificate (for 127.0.0.1) signed
by it, a client certificate for mTLS, and a second CA that signed nothing the broker shows (untrusted)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Certificates:
    ca: Path            # the CA clients trust
    keystore: Path      # broker: private key + certificate chain, PEM
    client_cert: Path
    client_key: Path
    other_ca: Path      # a CA the broker's certificate does not chain to


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {done.stderr.strip()}")


def _ca(name: str, directory: Path) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=newsfeed test {name}",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=directory)


def _signed(name: str, subject: str, extensions: str, directory: Path) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{name}.key",
             "-out", f"{name}.csr", cwd=directory)
    (directory / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=directory)


def make_certificates(directory: Path) -> Certificates:
    directory.mkdir(parents=True, exist_ok=True)
    _ca("ca", directory)
    _ca("other-ca", directory)
    _signed("broker", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "extendedKeyUsage=serverAuth\n", directory)
    _signed("client", "/CN=newsfeed-mtls", "extendedKeyUsage=clientAuth\n", directory)
    keystore = directory / "broker-keystore.pem"
    keystore.write_text("".join((directory / f).read_text() for f in ("broker.key", "broker.pem", "ca.pem")))
    return Certificates(ca=directory / "ca.pem", keystore=keystore, client_cert=directory / "client.pem",
                        client_key=directory / "client.key", other_ca=directory / "other-ca.pem")
