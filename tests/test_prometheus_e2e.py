"""A real Prometheus (Debian's package) scrapes a real worker with the project's scrape config
(deploy/prometheus/prometheus.yml, its DNS discovery swapped for the worker's local address) and answers a
PromQL query over its HTTP API with the enriched count."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.parse

import orjson
import pytest
import yaml

from pipeline.kafka.broker import free_port

from conftest import ROOT, SEEDS
from http_helpers import get, newsfeed, scrape, serve_worker, value, wait_until

pytestmark = pytest.mark.slow
CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"


def prometheus_binary() -> str:
    """Debian's prometheus, installed with apt when missing (CI runs as root); skipped only outside CI."""
    if not shutil.which("prometheus") and os.geteuid() == 0:
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
    found = shutil.which("prometheus")
    if not found:
        message = "Prometheus is not installed and apt could not install it (`apt-get install prometheus`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def local_config(target: str) -> dict:
    """The project's scrape config with the compose DNS discovery replaced by one static target."""
    config = yaml.safe_load(CONFIG.read_text("utf-8"))
    config["global"]["scrape_interval"] = "1s"
    (job,) = config["scrape_configs"]
    job.pop("dns_sd_configs")
    job["static_configs"] = [{"targets": [target]}]
    return config


def query(api: str, promql: str) -> list:
    status, body = get(f"{api}/api/v1/query?query={urllib.parse.quote(promql)}")
    assert status == 200, body
    return orjson.loads(body)["data"]["result"]


def test_the_project_scrape_config_is_valid():
    prometheus_binary()
    promtool = shutil.which("promtool")
    assert promtool, "Debian's prometheus package ships promtool"
    checked = subprocess.run([promtool, "check", "config", str(CONFIG)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_prometheus_scrapes_a_worker_and_promql_returns_the_enriched_count(stack_factory, tmp_path):
    binary = prometheus_binary()
    stack = stack_factory()
    base = serve_worker(stack)
    newsfeed(stack, "replay", str(SEEDS), "--repeat", "2")
    wait_until(lambda: value(scrape(f"{base}/metrics"), "newsfeed_records_out_total", stage="sink",
                             outcome="enriched") == 5, "5 enriched on the worker")
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(local_config(base.removeprefix("http://"))))
    port = free_port()
    prometheus = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                   f"--web.listen-address=127.0.0.1:{port}"],
                                  stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"))
    api = f"http://127.0.0.1:{port}"
    try:
        def enriched():
            try:
                return query(api, 'sum(newsfeed_records_out_total{job="newsfeed-worker",stage="sink",'
                                  'outcome="enriched"})')
            except OSError:   # Prometheus still starting
                return None
        result = wait_until(enriched, "Prometheus to have scraped the worker", timeout=120)
        assert float(result[0]["value"][1]) == 5
        (up,) = query(api, 'up{job="newsfeed-worker"}')
        assert up["value"][1] == "1" and up["metric"]["instance"] == base.removeprefix("http://")
        lag = query(api, 'sum(newsfeed_consumer_lag{job="newsfeed-worker"})')
        assert lag and float(lag[0]["value"][1]) >= 0
    finally:
        prometheus.terminate()
        prometheus.wait(30)
