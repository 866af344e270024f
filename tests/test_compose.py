"""docker-compose.yml, verified without a Docker engine: its structure, the Compose JSON Schema, and every
service's command run as a local process with that service's environment against the embedded broker."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from pipeline.contracts import schemas
from pipeline.config import ENV_VARS
from pipeline.kafka.broker import free_port
from pipeline.kafka.engines.apache_kafka import KAFKA_VERSION
from pipeline.kafka.outcomes import collect
from pipeline.writers.jsonl import read_jsonl

from conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
SERVICES = COMPOSE["services"]
SPEC = json.loads((Path(__file__).parent / "data" / "compose-spec" / "compose-spec.json").read_text("utf-8"))
_INTERPOLATE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR:-default} substitution."""
    return _INTERPOLATE.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)


def service_env(name: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: interpolate(str(v), overrides or {}) for k, v in SERVICES[name].get("environment", {}).items()}
    return env


def test_compose_file_validates_against_the_compose_spec():
    jsonschema.Draft7Validator(SPEC).validate(COMPOSE)   # the spec is written in draft-07


def test_kafka_is_the_official_image_pinned_with_healthcheck_and_loopback_port():
    kafka = SERVICES["kafka"]
    image, _, tag = kafka["image"].partition(":")
    assert image == "apache/kafka" and re.fullmatch(r"\d+\.\d+\.\d+", tag)
    assert "CMD" in kafka["healthcheck"]["test"][0] and kafka["healthcheck"]["retries"] > 0
    assert all(p.startswith("127.0.0.1:") for p in kafka["ports"])
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"   # KRaft, single node
    assert "kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"] and "localhost:29092" in env["KAFKA_ADVERTISED_LISTENERS"]


def test_kafka_image_pin_is_the_kafka_version_the_project_runs():
    # the one pinned version (the `--engine kafka` broker and the compose test's image build use it too)
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"


def test_every_image_is_pinned_and_ours_is_built_from_this_repo():
    for name, service in SERVICES.items():
        assert ":" in service["image"] and not service["image"].endswith(":latest"), name
    assert SERVICES["topics"]["build"]["context"] == "."
    assert (ROOT / "Dockerfile").exists() and (ROOT / ".dockerignore").exists()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG SPACY_MODELS" in dockerfile and "-slim" in dockerfile
    # unprivileged: the entrypoint hands ./out to its owner, then drops to that user (or to `newsfeed`)
    assert 'ENTRYPOINT ["docker-entrypoint.sh"]' in dockerfile and "useradd" in dockerfile
    assert "exec setpriv" in (ROOT / "docker-entrypoint.sh").read_text()


def test_nothing_starts_before_kafka_answers_and_topics_exist():
    for name, service in SERVICES.items():
        if name == "kafka" or service.get("profiles") == ["monitoring"]:   # Prometheus needs no Kafka
            continue
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy", name
        if name != "topics":
            assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully", name


def test_profiles_scaling_and_volumes():
    assert SERVICES["replay"]["profiles"] == ["replay"] and SERVICES["tail"]["profiles"] == ["tail"]
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker   # `--scale worker=3` must work
    assert "./out:/app/out" in worker["volumes"] and worker["environment"]["NEWSFEED_OUTPUT_DIR"] == "/app/out"
    assert SERVICES["ner"]["environment"]["NEWSFEED_STAGES"] == "entities"
    feeds = SERVICES["feeds"]
    assert feeds["profiles"] == ["feeds"] and feeds["command"][:2] == ["newsfeed", "feeds"]
    sources = feeds["command"][2]
    mount = next(v for v in feeds["volumes"] if v.endswith(":ro") and sources.startswith(v.split(":")[1]))
    assert (ROOT / mount.split(":")[0] / Path(sources).name).is_file()   # the mounted sources file ships


def test_every_newsfeed_variable_in_the_file_is_one_newsfeed_reads():
    from pipeline.feeds.config import ENV_VARS as FEED_ENV_VARS

    known = set(ENV_VARS.values()) | set(FEED_ENV_VARS.values())
    used = set()
    for service in SERVICES.values():
        used |= {k for k in service.get("environment", {}) if k.startswith("NEWSFEED_")}
    text = (ROOT / "docker-compose.yml").read_text()
    # compose-level knobs: NEWSFEED_STAGES of the worker service, NEWSFEED_NER_LANGUAGES of the split services,
    # the web page's port on the host
    knobs = {"NEWSFEED_WORKER_STAGES", "NEWSFEED_NER_SPLIT", "NEWSFEED_NER_REST", "NEWSFEED_WEB_PORT"}
    used |= {m for m in re.findall(r"\$\{(NEWSFEED_\w+)", text)} - knobs
    assert used and used <= known, used - known
    assert "NEWSFEED_WORKER_STAGES" in text   # the one compose-level knob, mapped to NEWSFEED_STAGES


def local(command: list[str]) -> list[str]:
    assert command[0] == "newsfeed"
    return [sys.executable, "-m", "pipeline.cli", *command[1:]]


@pytest.mark.slow
def test_each_service_command_runs_locally_against_the_embedded_broker(broker, tmp_path):
    """topics, then worker, replay and tail, each with its service's environment; the Kafka address and
    the mounted ./out are swapped for the embedded broker and a temporary directory."""
    out = tmp_path / "out"
    out.mkdir()
    swap = {"NEWSFEED_BROKER": broker.address, "NEWSFEED_OUTPUT_DIR": str(out),
            "NEWSFEED_TOPIC_PREFIX": "compose.", "NEWSFEED_APP_ID": "compose-test", "NEWSFEED_VALIDATE_OUTPUT": "1",
            "NEWSFEED_HTTP_PORT": str(free_port())}   # the container's 6066 may be taken on this host

    def env_for(name: str) -> dict[str, str]:
        env = service_env(name)
        assert env["NEWSFEED_BROKER"] == "kafka:9092"
        return {**os.environ, **env, **swap}

    topics = subprocess.run(local(SERVICES["topics"]["command"]), env=env_for("topics"), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert topics.returncode == 0, topics.stderr
    assert "compose.enriched" in topics.stdout
    worker = subprocess.Popen(local(SERVICES["worker"]["command"]), env=env_for("worker"), cwd=ROOT,
                              stdout=open(tmp_path / "worker.log", "wb"), stderr=subprocess.STDOUT)
    try:
        replay = subprocess.run(local(SERVICES["replay"]["command"]), env=env_for("replay"), cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert replay.returncode == 0 and "sent 10, failed 0" in replay.stdout, replay.stdout + replay.stderr
        from pipeline.config import Settings
        os.environ.update({"NEWSFEED_TOPIC_PREFIX": "compose.", "NEWSFEED_PARTITIONS": env_for("worker")["NEWSFEED_PARTITIONS"]})
        try:
            settings = Settings()
        finally:
            os.environ.pop("NEWSFEED_TOPIC_PREFIX")
            os.environ.pop("NEWSFEED_PARTITIONS")
        keys = {p.stem for p in (ROOT / "seeds").glob("*.txt")}
        keys |= {f"{k}~1" for k in keys}
        outcomes = collect(broker.address, settings, keys, timeout=240, alive=lambda: worker.poll() is None)
        assert len(outcomes.records["enriched"]) == 5 and len(outcomes.records["duplicates"]) == 5
        tail_cmd = local(SERVICES["tail"]["command"]) + ["--max", "5"]
        tail = subprocess.run(tail_cmd, env=env_for("tail"), cwd=ROOT, capture_output=True, timeout=120)
        lines = [json.loads(line) for line in tail.stdout.splitlines()]
        assert tail.returncode == 0 and len(lines) == 5
        assert all(schemas.errors("enriched", r) == [] for r in lines)
        assert len(read_jsonl(out / "enriched.jsonl")) == 5
        # the stories service: the stories of those five articles
        shown = subprocess.run(local(SERVICES["stories"]["command"]) + ["--json", "--closed"], env=env_for("stories"), cwd=ROOT,
                               capture_output=True, timeout=120)
        assert shown.returncode == 0, shown.stderr
        listed = [json.loads(line) for line in shown.stdout.splitlines()]
        assert {s["id"] for s in listed} == {r["story"]["id"] for r in lines}
        assert sum(s["articles"] for s in listed) == 5
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
