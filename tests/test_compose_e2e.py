"""The docker compose stack, run for real on a Docker engine: the README's compose commands, as typed, in a
fresh copy of the repository. Kafka and python:3.11-slim cannot be pulled here, so local stand-ins replace
them (tests/compose/): the shipped docker-compose.yml is used as it is, plus an override of the kafka
service's image, build and healthcheck. Skips where no engine can run, except in CI (CI=true)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "compose"))
import harness  # noqa: E402
import standin  # noqa: E402

pytestmark = pytest.mark.slow
HOST_USER = 4242  # ./out belongs to this (non-root) host user, as after a clone by a normal account


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    work = tmp_path_factory.mktemp("compose")
    try:
        daemon = harness.start_engine(work / "dockerd.log")
        harness.compose_binary()
        for tool in ("debootstrap",) if not standin.image_exists(standin.PYTHON_IMAGE) else ():
            if not harness.shutil.which(tool):
                raise harness.EngineMissing(f"{tool} is needed to build the python:3.11-slim stand-in")
    except harness.EngineMissing as why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the compose test: {why}")
        pytest.skip(str(why))
    log = open(work / "compose.log", "wb")
    built_base = standin.build_python_base(log)
    checkout = harness.fresh_copy(work / "newsfeed")
    os.chown(checkout / "out", HOST_USER, HOST_USER)
    stack = harness.Project(checkout, standin.kafka_context(work / "kafka-standin"), log)
    try:
        yield stack
    finally:
        stack.cleanup()
        if built_base:
            subprocess.run(["docker", "rmi", standin.PYTHON_IMAGE, standin.DEBIAN_IMAGE], capture_output=True)
        harness.stop_engine(daemon)
        log.close()


def outputs(project) -> dict[str, list[dict]]:
    out = project.dir / "out"
    return {name: [json.loads(line) for line in (out / f"{name}.jsonl").read_text().splitlines()]
            if (out / f"{name}.jsonl").exists() else [] for name in ("enriched", "duplicates", "deadletter")}


def wait_outputs(project, total: int, timeout: float = 600) -> dict[str, list[dict]]:
    deadline = time.monotonic() + timeout
    while True:
        found = outputs(project)
        if sum(map(len, found.values())) >= total or time.monotonic() > deadline:
            return found
        time.sleep(2)


def assert_each_once(found: dict[str, list[dict]], total: int) -> None:
    ids = [r["id"] for records in found.values() for r in records]
    assert len(ids) == total and len(set(ids)) == total, (len(ids), len(set(ids)), total)


def synthesize(project, n: int, seed: int) -> None:
    project.run("run", "--rm", "replay", "newsfeed", "replay", "--synthesize", str(n),
                "--seed", str(seed))


def test_compose_stack_end_to_end(project):
    started = time.monotonic()
    project.readme("up --build -d")
    project.wait_healthy("worker", 1)
    first_healthy = time.monotonic()

    project.readme("--profile replay up replay")
    found = wait_outputs(project, 10)
    print(f"compose: first enriched records {time.monotonic() - first_healthy:.0f}s after the worker was healthy")
    assert len(found["enriched"]) == 5 and len(found["duplicates"]) == 5 and not found["deadletter"]
    for name in ("enriched.jsonl", "duplicates.jsonl"):  # the host user owns what the worker wrote
        assert (project.dir / "out" / name).stat().st_uid == HOST_USER

    tail = project.readme("--profile tail up tail", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = []
    while len(seen) < 5:
        line = tail.stdout.readline().decode()
        assert line, "tail ended before printing 5 records"
        if "{" in line:
            seen.append(json.loads(line[line.index("{"):]))
    tail.send_signal(signal.SIGINT)  # Ctrl-C
    tail.wait(60)
    assert {r["id"] for r in seen} == {r["id"] for r in found["enriched"]}
    [tail_container] = project.run("ps", "-aq", "tail").split()
    assert project.inspect(tail_container)["State"]["ExitCode"] == 0  # stopped, not killed

    project.readme("up -d --scale worker=3")
    workers = project.wait_healthy("worker", 3)
    synthesize(project, 150, seed=14)
    time.sleep(5)  # mid-stream: the three workers are busy with the synthetic load
    subprocess.run(["docker", "kill", workers[1]], check=True, capture_output=True)
    project.readme("up -d --scale worker=3")  # brings the killed worker back if its restart policy did not
    project.wait_healthy("worker", 3)
    found = wait_outputs(project, 160)
    assert_each_once(found, 160)
    assert not found["deadletter"]
    assert len({r["trace"]["entities"] for r in found["enriched"][5:]}) >= 2  # the work was shared
    untouched = [c for c in project.containers("worker") if c != workers[1]]
    assert all(project.inspect(c)["RestartCount"] == 0 for c in untouched)

    # layout switches: nothing already enriched goes through NER again, new articles do, once
    total = 160
    for switch, service, replicas in (("--profile split up -d --scale ner=3", "ner", 3), ("up -d", "worker", 1)):
        enriched = len(found["enriched"])
        if service == "worker":
            project.readme("--profile split rm -sf ner")
        project.readme(switch)
        containers = project.wait_healthy(service, replicas)
        project.wait_healthy("worker", 1)
        assert "starts where the other layout left off" in project.run("logs", "--no-color", service)
        assert project.ner_runs("worker", service) == 0  # the new layout's containers: no NER re-run
        synthesize(project, 30, seed=total)
        total += 30
        found = wait_outputs(project, total)
        assert_each_once(found, total)
        assert project.ner_runs("worker", service) == len(found["enriched"]) - enriched  # the new ones, once
        hosts = {project.inspect(c)["Config"]["Hostname"] for c in containers}
        taggers = {r["trace"]["entities"].split(":")[0] for r in found["enriched"][enriched:]}
        assert taggers <= hosts and len(taggers) >= min(replicas, 2), (taggers, hosts)
    print(f"compose: whole scenario {time.monotonic() - started:.0f}s")
    project.readme("down")
