"""/metrics and `newsfeed status` through the real broker, a real worker and the real commands: counts per
stage and outcome, lag 0 once drained, a backlog while NER is slower than the input, and status agreeing
with the metrics."""

from __future__ import annotations

import orjson
import pytest

from conftest import SEEDS, make_stack
from http_helpers import newsfeed, scrape, series, serve_worker, value, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def observed(broker, tmp_path_factory):
    """One stack with one worker serving HTTP on a known port."""
    stack = make_stack(broker, tmp_path_factory.mktemp("observed"))
    yield stack, serve_worker(stack) + "/metrics"
    stack.stop()


def lags(samples: dict) -> dict:
    return series(samples, "newsfeed_consumer_lag")


def drained(url: str) -> dict | None:
    """The samples once every owned partition has lag 0 and the last batch reached the sink."""
    samples = scrape(url)
    done = value(samples, "newsfeed_records_out_total", stage="entities", outcome="tagged") == \
        value(samples, "newsfeed_records_in_total", stage="sink")
    return samples if lags(samples) and not any(lags(samples).values()) and done else None


def offsets_by_partition(samples: dict, name: str) -> dict[tuple[str, int], float]:
    return {(dict(labels)["stage"], int(dict(labels)["partition"])): v for labels, v in series(samples, name).items()}


def test_seeds_twice_counts_lag_zero_and_status_agrees(observed):
    stack, url = observed
    newsfeed(stack, "replay", str(SEEDS), "--repeat", "2")
    wait_until(lambda: value(scrape(url), "newsfeed_records_out_total", stage="sink", outcome="enriched") == 5,
               "5 enriched")
    samples = wait_until(lambda: drained(url), "lag 0 on every partition")
    assert value(samples, "newsfeed_records_out_total", stage="dedup", outcome="exact") == 5
    assert value(samples, "newsfeed_records_out_total", stage="dedup", outcome="unique") == 5
    assert value(samples, "newsfeed_records_in_total", stage="language") == 10
    assert value(samples, "newsfeed_records_out_total", stage="duplicates-sink", outcome="written") == 5
    assert value(samples, "newsfeed_stage_seconds_count", stage="entities") == 5
    assert value(samples, "newsfeed_ner_batch_size_sum") == 5
    assert value(samples, "newsfeed_last_processed_timestamp_seconds", stage="sink") > 0
    assert value(samples, "newsfeed_ready") == 1 and value(samples, "newsfeed_rebalances_total") >= 1
    assert value(samples, "process_resident_memory_bytes") > 0   # the default process collector
    # every owned partition of every agent, one worker: 5 input topics x partitions, and `tagged`'s one
    assert len(lags(samples)) == 5 * stack.settings.partitions + 1

    status = orjson.loads(newsfeed(stack, "status", "--json", "--interval", "0.5").stdout)
    committed = offsets_by_partition(samples, "newsfeed_consumer_committed_offset")
    highs = offsets_by_partition(samples, "newsfeed_consumer_high_watermark")
    for stage, row in status["stages"].items():
        assert row["group"] == stack.env["NEWSFEED_APP_ID"] and row["lag"] == 0
        for p in row["partitions"]:
            assert p["committed"] == committed[(stage, p["partition"])] == p["high_watermark"]
            assert p["high_watermark"] == highs[(stage, p["partition"])]
    assert status["stages"]["entities"]["partitions"][0]["committed"] + \
        status["stages"]["entities"]["partitions"][1]["committed"] == 5
    assert status["dead_letters"] == 0 and status["latency_s"]["records"] == 5
    assert 0 < status["latency_s"]["p50"] <= status["latency_s"]["p99"]


def test_a_backlog_shows_as_lag_while_ner_is_slower_than_input(observed):
    stack, url = observed
    newsfeed(stack, "replay", "--synthesize", "300", "--mix", "unique=1", "--seed", "5")
    backlog = wait_until(lambda: sum(v for labels, v in lags(scrape(url)).items()
                                     if dict(labels)["stage"] == "entities"), "lag on the NER stage's input")
    assert backlog > 0
    status = orjson.loads(newsfeed(stack, "status", "--json", "--interval", "0.5").stdout)
    assert status["stages"]["entities"]["lag"] > 0, "status sees the backlog too"
    # drained: all 310 articles through dedup, whatever it decided, and nothing left uncommitted anywhere
    samples = wait_until(lambda: drained(url), "every partition drained", timeout=400)
    assert sum(v for labels, v in series(samples, "newsfeed_records_out_total").items()
               if ("stage", "dedup") in labels) == 310
