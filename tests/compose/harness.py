"""A Docker engine and a compose project for the end-to-end compose test: the engine started when it is
installed but not running, the README's compose commands run as typed in a fresh copy of the repository,
and everything the project started removed at the end."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import yaml

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
PROFILES = [a for p in ("replay", "tail", "split") for a in ("--profile", p)]

# records a container's NER stage tagged since it started, from its own /metrics
NER_RUNS = """import re, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:6066/metrics", timeout=5).read().decode()
print(sum(float(v) for labels, v in re.findall(r'^newsfeed_records_out_total\\{(.*)\\} (\\S+)$', text, re.M)
          if 'stage="entities"' in labels and 'outcome="tagged"' in labels))
"""


class EngineMissing(Exception):
    """No Docker engine can run here; the message says why."""


def engine_answers() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True, timeout=60).returncode == 0


def start_engine(log_path: Path) -> subprocess.Popen | None:
    """None when an engine already answers; else the dockerd this call started (the caller stops it)."""
    if engine_answers():
        return None
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        raise EngineMissing("no Docker engine: `docker`/`dockerd` not installed "
                            "(Debian: apt-get install docker.io docker-compose debootstrap)")
    if os.geteuid() != 0:
        raise EngineMissing("dockerd is installed but not running, and starting it needs root")
    daemon = subprocess.Popen(["dockerd"], stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and daemon.poll() is None:
        if engine_answers():
            return daemon
        time.sleep(0.5)
    stop_engine(daemon)
    raise EngineMissing(f"dockerd did not start (see {log_path}): {log_path.read_text()[-2000:]}")


def stop_engine(daemon: subprocess.Popen | None) -> None:
    if daemon is not None and daemon.poll() is None:
        daemon.terminate()
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def compose_binary() -> list[str]:
    """`docker compose` (v2) when the plugin is there, else `docker-compose` >= 1.29."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        version = subprocess.run(["docker-compose", "version", "--short"], capture_output=True, text=True).stdout
        if tuple(int(x) for x in re.findall(r"\d+", version)[:2]) >= (1, 29):
            return ["docker-compose"]
        raise EngineMissing(f"docker-compose {version.strip()} is older than 1.29")
    raise EngineMissing("neither `docker compose` (v2) nor `docker-compose` (v1) is installed")


def readme_block(heading: str, language: str) -> str:
    """The first ```language block after the README's `heading` line, as a reader would copy it."""
    text = (ROOT / "README.md").read_text("utf-8")
    section = text[text.index(f"\n{heading}\n"):]
    block = section[section.index(f"```{language}\n") + len(language) + 4:]
    return block[:block.index("```")]


def readme_commands() -> dict[str, str]:
    """The compose section's command lines, keyed by the command without its `docker compose` prefix."""
    commands = {}
    for line in readme_block("## Running the stack with docker compose", "sh").splitlines():
        command = line.split("#", 1)[0].strip()
        if "docker compose" in command:
            commands[command.split("docker compose", 1)[1].strip()] = command
    return commands


def fresh_copy(into: Path) -> Path:
    """The repository's files as a clone would have them (tracked plus new, not ignored)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


class Project:
    """One compose project (unique name) in a copy of the repository: its docker-compose.yml as shipped."""

    def __init__(self, directory: Path, log):
        self.dir, self.log = directory, log
        self.name = f"nftest{uuid.uuid4().hex[:8]}"
        self.compose = compose_binary()
        self.env = {**os.environ, "COMPOSE_PROJECT_NAME": self.name}
        for variable in ("COMPOSE_FILE", "NEWSFEED_WORKER_STAGES", "NEWSFEED_TOPIC_PREFIX", "NEWSFEED_PARTITIONS"):
            self.env.pop(variable, None)  # the test's own environment must not leak into the stack

    def readme(self, key: str, **popen) -> subprocess.CompletedProcess | subprocess.Popen:
        """Run the README's command `docker compose <key>` as typed (VAR=value prefixes included)."""
        words = shlex.split(readme_commands()[key])
        env = dict(self.env)
        while "=" in words[0]:
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        assert words[:2] == ["docker", "compose"], words
        argv = self.compose + words[2:]
        self.log.write(f"$ {' '.join(argv)}\n".encode())
        self.log.flush()
        if popen:
            return subprocess.Popen(argv, cwd=self.dir, env=env, **popen)
        done = subprocess.run(argv, cwd=self.dir, env=env, stdout=self.log, stderr=subprocess.STDOUT, timeout=900)
        assert done.returncode == 0, f"`{' '.join(argv)}` exited {done.returncode}: see {self.log.name}"
        return done

    def run(self, *args: str, check: bool = True) -> str:
        """A compose command of the test's own (ps, logs, exec, run), every profile enabled."""
        done = subprocess.run(self.compose + PROFILES + list(args), cwd=self.dir, env=self.env, capture_output=True,
                              text=True, timeout=600)
        self.log.write(f"$ compose {' '.join(args)}\n{done.stdout}{done.stderr}".encode())
        assert not check or done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def containers(self, service: str) -> list[str]:
        return self.run("ps", "-q", service).split()

    def inspect(self, container: str) -> dict:
        return json.loads(subprocess.run(["docker", "inspect", container], capture_output=True, check=True,
                                         text=True).stdout)[0]

    def wait_healthy(self, service: str, count: int, timeout: float = 300) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids = self.containers(service)
            states = [self.inspect(c)["State"].get("Health", {}).get("Status") for c in ids]
            if len(ids) == count and all(s == "healthy" for s in states):
                return ids
            time.sleep(2)
        raise AssertionError(f"{service}: {count} healthy containers expected, got {states}; "
                             f"logs:\n{self.run('logs', '--tail', '40', service, check=False)}")

    def ner_runs(self, *services: str) -> int:
        """Articles the running containers of these services sent through NER since they started."""
        return sum(round(float(subprocess.run(["docker", "exec", c, "python", "-c", NER_RUNS], capture_output=True,
                                              check=True, text=True).stdout))
                   for service in dict.fromkeys(services) for c in self.containers(service))  # each once

    def cleanup(self) -> None:
        """Every container, network, volume and image of this project, whatever state it is in. Only the
        images it builds are removed (not `--rmi all`): apache/kafka may be one the user pulled."""
        self.run("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)
        services = yaml.safe_load((self.dir / "docker-compose.yml").read_text("utf-8"))["services"]
        built = {s["image"] for s in services.values() if "build" in s}
        subprocess.run(["docker", "rmi", *sorted(built)], capture_output=True)
        label = f"label=com.docker.compose.project={self.name}"
        for kind, listing in (("container", ["ps", "-aq"]), ("network", ["network", "ls", "-q"]),
                              ("volume", ["volume", "ls", "-q"])):
            ids = subprocess.run(["docker", *listing, "--filter", label], capture_output=True, text=True).stdout.split()
            if ids:
                subprocess.run(["docker", kind, "rm", *(["-f"] if kind == "container" else []), *ids],
                               capture_output=True)
