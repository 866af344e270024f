"""The docker compose stack, run for real on a Docker engine: the README's compose commands, as typed, in a
fresh copy of the repository, the shipped docker-compose.yml used as it is (no override). No registry can be
reached here, so the images it names are built locally under their own names (tests/compose/standin.py):
python:3.11-slim, and apache/kafka:<KAFKA_VERSION> from the broker's jars on Maven Central. Then the
README's ways of reading the enriched topic from the host: its kcat line and its Python consumer, as written.
Skips where no engine or tool can run, except in CI (CI=true)."""

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
from conftest import open_story_ids  # noqa: E402
from pipeline.kafka.broker import MissingTool, free_port  # noqa: E402

pytestmark = pytest.mark.slow
HOST_USER = 4242  # ./out belongs to this (non-root) host user, as after a clone by a normal account


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    work = tmp_path_factory.mktemp("compose")
    try:
        daemon = harness.start_engine(work / "dockerd.log")
        harness.compose_binary()
        need_base = not standin.image_exists(standin.DEBIAN_IMAGE) and (
            not standin.image_exists(standin.PYTHON_IMAGE) or standin.kafka_needs_build())
        for tool in ("kcat", "jq") + (("debootstrap",) if need_base else ()):  # kcat, jq: the README's line
            if not harness.shutil.which(tool):
                raise harness.EngineMissing(f"{tool} is needed by the compose test (apt-get install {tool})")
        if standin.kafka_needs_build():
            standin.kafka_home()   # Java and Maven assemble the broker's jars (raises MissingTool without them)
    except (harness.EngineMissing, MissingTool) as why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the compose test: {why}")
        pytest.skip(str(why))
    log = open(work / "compose.log", "wb")
    built, stack = [], None   # the images this run built (removed at the end, those built on the base first)
    try:
        for image, build in ((standin.DEBIAN_IMAGE, standin.build_debian_base),
                             (standin.PYTHON_IMAGE, standin.build_python_base),
                             (standin.KAFKA_IMAGE, standin.build_kafka_image)):
            if (image != standin.DEBIAN_IMAGE or need_base) and build_timed(image, build, log):
                built.append(image)
        checkout = harness.fresh_copy(work / "newsfeed")
        os.chown(checkout / "out", HOST_USER, HOST_USER)
        stack = harness.Project(checkout, log)
        yield stack
    finally:
        if stack is not None:
            stack.cleanup()
        log.flush()   # the rmi output goes to the same file, after what the test wrote
        for image in reversed(built):
            subprocess.run(["docker", "rmi", image], stdout=log, stderr=subprocess.STDOUT)
        harness.stop_engine(daemon)
        log.close()


def build_timed(image: str, build, log) -> bool:
    started = time.monotonic()
    if not build(log):
        return False
    size = json.loads(subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True,
                                     check=True).stdout)[0]["Size"]
    print(f"compose: built {image} in {time.monotonic() - started:.0f}s, {size / 1e6:.0f} MB")
    return True


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


READING = "### Reading the enriched topic from another service"


def readme_kcat(project) -> list[dict]:
    """The README's kcat | jq line, run from the host as written: the JSON objects jq printed."""
    [line] = harness.readme_block(READING, "sh").strip().splitlines()
    done = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=project.dir, capture_output=True, text=True,
                          timeout=120)
    project.log.write(f"$ {line}\n{done.stdout}{done.stderr}".encode())
    assert done.returncode == 0, done.stderr
    print(f"compose: kcat | jq printed:\n{done.stdout.rstrip()}")
    decoder, text, objects, at = json.JSONDecoder(), done.stdout.strip(), [], 0
    while at < len(text):
        value, at = decoder.raw_decode(text, at)
        objects.append(value)
        at = len(text) - len(text[at:].lstrip())
    return objects


def readme_consumer(project, count: int) -> list[str]:
    """The README's Python consumer, run from the host as written (it never ends): its first `count` lines."""
    snippet = harness.readme_block(READING, "python")
    # -u: lines come through the pipe as printed; `timeout` bounds a consumer that prints too few
    consumer = subprocess.Popen(["timeout", "120", sys.executable, "-u", "-c", snippet], cwd=project.dir,
                                stdout=subprocess.PIPE, stderr=project.log, text=True)
    try:
        lines = [consumer.stdout.readline() for _ in range(count)]
    finally:
        consumer.terminate()
        consumer.wait(30)
    print("compose: the README's Python consumer printed:\n" + "".join(lines).rstrip())
    assert all(lines), f"the consumer printed {sum(map(bool, lines))} of {count} lines before it was stopped"
    return lines


def synthesize(project, n: int, seed: int) -> None:
    project.run("run", "--rm", "replay", "newsfeed", "replay", "--synthesize", str(n),
                "--seed", str(seed))


def web_stories(port: int, count: int, timeout: float = 60) -> set[str]:
    """The story ids the web service's first page lists, once it lists `count` (or what it has at the timeout)."""
    import urllib.request

    deadline, ids = time.monotonic() + timeout, set()
    while time.monotonic() < deadline:
        try:
            page = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stories", timeout=5).read())
            ids = {s["id"] for s in page["stories"]}
            if len(ids) >= count:
                break
        except OSError:
            pass
        time.sleep(1)
    return ids


def test_compose_stack_end_to_end(project):
    started = time.monotonic()
    web_port = free_port()
    project.env["NEWSFEED_WEB_PORT"] = str(web_port)   # the web service's host port: a free one, not 8080
    project.readme("up --build -d")
    project.wait_healthy("worker", 1)
    first_healthy = time.monotonic()

    project.readme("--profile replay up replay")
    found = wait_outputs(project, 10)
    print(f"compose: first enriched records {time.monotonic() - first_healthy:.0f}s after the worker was healthy")
    assert len(found["enriched"]) == 5 and len(found["duplicates"]) == 5 and not found["deadletter"]
    for name in ("enriched.jsonl", "duplicates.jsonl"):  # the host user owns what the worker wrote
        assert (project.dir / "out" / name).stat().st_uid == HOST_USER
    # the web page, published on the host's loopback, shows the seeds' stories
    stories = open_story_ids(found["enriched"])
    assert web_stories(web_port, len(stories)) == stories

    # another service reading the enriched topic from the host (127.0.0.1:29092, Kafka's EXTERNAL listener)
    expected = sorted(({"id": r["id"], "language": r["language"]["code"],
                        "entities": [e["name"] for e in r["entity_summary"]]} for r in found["enriched"]),
                      key=lambda r: r["id"])
    assert sorted(readme_kcat(project), key=lambda r: r["id"]) == expected
    printed = sorted(line.split(" ", 2)[:2] for line in readme_consumer(project, len(expected)))
    assert printed == [[r["id"], r["language"]] for r in expected]

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
    restarted = {c: project.inspect(c) for c in untouched if project.inspect(c)["RestartCount"]}
    assert not restarted, "\n".join(   # why it went: its log (kept across the restart)
        f"{c[:12]} restarted {i['RestartCount']}x:\n"
        + subprocess.run(["docker", "logs", "--tail", "60", c], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True).stdout
        for c, i in restarted.items())

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
