"""Local stand-ins for the images the compose file names but that no registry here can serve.

`python:3.11-slim`: Debian bookworm (debootstrap, minbase, imported) with python3.11 in a venv first on PATH, like
the official image's /usr/local/bin. It trusts the host's locally added CA certificates, because where the
network intercepts TLS, pip inside the image reaches PyPI only that way. `apache/kafka:<KAFKA_VERSION>`:
the same Debian base with Java 17 and the broker jars Maven assembles from Maven Central (`kafka_home()`),
laid out like the official image (kafka-image/); the compose file's kafka service runs it unchanged.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from pipeline.kafka.engines.apache_kafka import KAFKA_VERSION, kafka_home

HERE = Path(__file__).parent
PYTHON_IMAGE = "python:3.11-slim"
KAFKA_IMAGE = f"apache/kafka:{KAFKA_VERSION}"
DEBIAN_IMAGE = "newsfeed-test/debian:bookworm-minbase"
HOST_CAS = Path("/usr/local/share/ca-certificates")


def debian_mirror() -> str:
    """The mirror apt already uses here (deb822 `URIs:` or one-line `deb` sources)."""
    for source in sorted(Path("/etc/apt").glob("sources.list.d/*.sources")) + [Path("/etc/apt/sources.list")]:
        if source.exists():
            found = re.search(r"^(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+/debian)/?\s", source.read_text(), re.M)
            if found:
                return found.group(1)
    return "http://deb.debian.org/debian"


def image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


def image_label(name: str) -> str | None:
    """The stand-in label of a local image (None for an image that is not one of ours, e.g. a pulled one)."""
    done = subprocess.run(["docker", "image", "inspect", "-f", '{{index .Config.Labels "newsfeed.test-standin"}}',
                           name], capture_output=True, text=True)
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def build_debian_base(log) -> bool:
    """Debian bookworm minbase as an image, unless there already; True when this call built it."""
    if image_exists(DEBIAN_IMAGE):
        return False
    with tempfile.TemporaryDirectory(prefix="newsfeed-rootfs-") as root:
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", root, debian_mirror()], check=True,
                       stdout=log, stderr=subprocess.STDOUT)
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):  # the downloaded .debs: ~60 MB
            shutil.rmtree(Path(root) / leftover, ignore_errors=True)
            (Path(root) / leftover / "partial").mkdir(parents=True)
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", DEBIAN_IMAGE], stdin=tar.stdout, check=True, stdout=log,
                       stderr=subprocess.STDOUT)
        tar.wait()
    return True


def build_python_base(log) -> bool:
    """Build the stand-in unless an image of that name is there already; True when this call built it."""
    if image_exists(PYTHON_IMAGE):
        return False
    with tempfile.TemporaryDirectory(prefix="newsfeed-python-standin-") as context:
        shutil.copytree(HERE / "python-standin", context, dirs_exist_ok=True)
        cas = Path(context) / "cas"
        cas.mkdir()
        for cert in HOST_CAS.glob("**/*.crt") if HOST_CAS.is_dir() else ():
            shutil.copy2(cert, cas / cert.name)
        subprocess.run(["docker", "build", "-t", PYTHON_IMAGE, context], check=True, stdout=log,
                       stderr=subprocess.STDOUT)
    return True


def kafka_needs_build() -> bool:
    """Ours is built again each time (Docker's cache makes that quick); an image of that tag that is not ours,
    such as the official one pulled, is used as it is."""
    return not image_exists(KAFKA_IMAGE) or image_label(KAFKA_IMAGE) == "apache-kafka"


def build_kafka_image(log) -> bool:
    """Build the apache/kafka stand-in where `kafka_needs_build()`; True when this call built it."""
    if not kafka_needs_build():
        return False
    with tempfile.TemporaryDirectory(prefix="newsfeed-kafka-image-") as context:
        shutil.copytree(HERE / "kafka-image", context, dirs_exist_ok=True)
        shutil.copytree(kafka_home() / "libs", Path(context) / "libs", ignore=shutil.ignore_patterns(".*"))
        subprocess.run(["docker", "build", "-t", KAFKA_IMAGE, context], check=True, stdout=log,
                       stderr=subprocess.STDOUT)
    return True
