"""The worker's HTTP endpoints through a real worker process: /health, /ready, a port already taken."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import orjson
import pytest

from pipeline.kafka.broker import free_port

from conftest import ROOT
from http_helpers import get, wait_for

pytestmark = pytest.mark.slow


def test_health_answers_at_once_and_ready_waits_for_models_and_group(stack_factory):
    stack = stack_factory()
    port = free_port()
    proc = stack.start_worker(NEWSFEED_HTTP_PORT=port)
    base = f"http://127.0.0.1:{port}"
    assert orjson.loads(wait_for(f"{base}/health", proc)) == {"status": "alive"}
    # the server starts before the agents: the first answer comes while spaCy and lingua still load
    status, body = get(f"{base}/ready")
    report = orjson.loads(body)
    assert status == 503 and report["ready"] is False
    assert "models" in report["failing"] and report["failing"]["models"]["reason"]
    assert orjson.loads(wait_for(f"{base}/ready", proc)) == {"ready": True, "failing": {}}
    assert get(f"{base}/health")[0] == 200


def test_a_port_in_use_stops_the_worker_with_a_clear_message(broker, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {**os.environ, "NEWSFEED_BROKER": broker.address, "NEWSFEED_OUTPUT_DIR": str(tmp_path),
               "NEWSFEED_TOPIC_PREFIX": "port-in-use.", "NEWSFEED_HTTP_PORT": str(taken.getsockname()[1])}
        done = subprocess.run([sys.executable, "-m", "pipeline.cli", "worker"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Address already in use" in done.stderr and "NEWSFEED_HTTP_PORT" in done.stderr
