"""What the pipeline costs besides NER: CPU per article in the worker loop(s), the broker and this
harness (replay + reader), with NER pointed at a model package that is not installed (every record
gets `ner.status = "no_model"` at once), and the stage functions timed alone in one process.

    .venv/bin/python bench/overhead.py [--n 1200] [--workers 1]

Why: with two workers on two cores this work competes with the NER children for the same cores, so it
sets how close two workers can get to twice one worker (BENCHMARKS.md, "What limits the pipeline").
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import orjson
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.contracts import codec, schemas  # noqa: E402
from pipeline.stages import steps  # noqa: E402
from pipeline.tools.process_monitor import ProcessMonitor  # noqa: E402
from pipeline.kafka.engines.tansu import EmbeddedBroker  # noqa: E402
from pipeline.config import load  # noqa: E402
from pipeline.stages.dedup.index import DedupIndex, normalise, shingles  # noqa: E402
from pipeline.stages.language import LanguageDetector  # noqa: E402
from pipeline.kafka.outcomes import collect  # noqa: E402
from pipeline.tools.processes import start_worker, stop_workers, wait_workers_ready  # noqa: E402
from pipeline.contracts.records import utc_now  # noqa: E402
from pipeline.kafka.replay import Item, replay  # noqa: E402
from pipeline.tools.synth import synthesize  # noqa: E402
from pipeline.stages.text import clean  # noqa: E402
from pipeline.kafka.topics import create_topics  # noqa: E402

MISSING_MODEL = "fr=newsfeed_bench_no_such_model,en=none"   # no NER model at all: only non-NER work


def stage_costs(articles: list[dict]) -> dict[str, float]:
    """ms per article of each stage function, alone in this process."""
    payloads = [orjson.dumps({**a, "ingested_at": utc_now(), "schema_version": 1}) for a in articles]
    detector = LanguageDetector()
    detector.warm_up()
    index = DedupIndex(threshold=0.5, shingle_size=5, retention_seconds=7 * 86400, grace_seconds=3600)
    costs: dict[str, float] = {}

    def timed(name, fn, items):
        started = time.perf_counter()
        out = [fn(x) for x in items]
        costs[name] = round(1000 * (time.perf_counter() - started) / len(items), 3)
        return out

    decoded = timed("decode raw JSON", codec.decode, payloads)
    timed("validate raw schema", lambda r: schemas.errors("raw", r), decoded)
    timed("clean page noise", lambda r: clean(r["text"]), decoded)
    records = timed("ingest (all of the above)", lambda p: steps.ingest(p, 2**21), payloads)
    records = timed("language", lambda r: steps.detect_language(r, detector), records)
    words = [normalise(r["text"]) for r in records]
    timed("  dedup: normalise", lambda r: normalise(r["text"]), records)
    timed("  dedup: shingles", lambda w: shingles(w, 5), words)

    def dedup(record):
        verdict = steps.deduplicate(record, index)
        if verdict.entry is not None:
            index.add(verdict.entry)

    timed("dedup", dedup, records)
    timed("encode record", codec.encode, records)
    return costs


def pipeline_costs(n_workers: int, articles: list[dict]) -> dict:
    settings = load()
    prefix = f"overhead-{uuid.uuid4().hex[:6]}."
    broker = EmbeddedBroker().start()
    out = Path(tempfile.mkdtemp(prefix="newsfeed-overhead-"))
    run = replace(settings, broker=broker.address, topic_prefix=prefix, app_id=prefix.rstrip("."), output_dir=out)
    procs = []
    try:
        create_topics(run, broker.address)
        env = {**os.environ, "NEWSFEED_BROKER": broker.address, "NEWSFEED_TOPIC_PREFIX": prefix,
               "NEWSFEED_APP_ID": run.app_id, "NEWSFEED_OUTPUT_DIR": str(out), "NEWSFEED_NER_MODELS": MISSING_MODEL}
        logs = [out / f"worker-{i}.log" for i in range(n_workers)]
        procs = [start_worker(env, log, cwd=ROOT) for log in logs]
        wait_workers_ready(logs, procs)
        time.sleep(settings.session_timeout)   # let a rebalance between the workers settle
        # a worker's NER child stays in its figure: it still answers every batch (with no_model)
        watched = {f"worker-{i}": p.pid for i, p in enumerate(procs)}
        watched |= {f"worker-{i}-ner-{j}": child.pid for i, p in enumerate(procs)
                    for j, child in enumerate(psutil.Process(p.pid).children(recursive=True))}
        monitor = ProcessMonitor({**watched, "broker": broker.process.pid, "harness": os.getpid()})

        def cpu():
            monitor.sample()
            return dict(monitor.cpu)

        idle0 = cpu()
        time.sleep(10)
        idle1 = cpu()
        before, started = cpu(), time.time()
        sent = replay([Item(key=a["id"], article=a) for a in articles], broker.address, run, progress=False,
                      total=len(articles))
        outcomes = collect(broker.address, run, set(sent.keys), timeout=600)
        wall = time.time() - started
        after = cpu()
    finally:
        stop_workers(procs)
        broker.stop()
    n = len(articles)
    return {"wall_s": round(wall, 2), "outputs": sum(len(v) for v in outcomes.records.values()),
            "idle_cores": {k: round((idle1[k] - idle0[k]) / 10, 3) for k in idle0},
            "ms_per_article": {k: round(1000 * (after[k] - before[k]) / n, 2) for k in before}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    articles = synthesize(args.n, ROOT / "seeds", mix="unique=0.8,exact=0.1,near=0.1", seed=args.seed,
                          source="bench", length="seed").articles
    print(f"{args.n} seed-length articles, {args.workers} worker(s), NER models: {MISSING_MODEL} (not installed)")
    result = pipeline_costs(args.workers, articles)
    print(f"through the broker: {result['outputs']} outcomes in {result['wall_s']} s")
    print("  CPU ms per article: " + ", ".join(f"{k} {v}" for k, v in result["ms_per_article"].items())
          + f"; total {sum(result['ms_per_article'].values()):.2f}")
    print("  idle (10 s before the replay), cores: " + ", ".join(f"{k} {v}" for k, v in result["idle_cores"].items()))
    costs = stage_costs(articles[: min(600, len(articles))])
    print("stage functions alone, ms per article:")
    for name, ms in costs.items():
        print(f"  {name:28} {ms:.3f}")
    logic = costs["ingest (all of the above)"] + costs["language"] + costs["dedup"]
    worker_ms = sum(v for k, v in result["ms_per_article"].items() if k.startswith("worker"))
    print(f"stage logic {logic:.2f} ms of the workers' {worker_ms:.2f} ms an article; the rest "
          f"({worker_ms - logic:.2f} ms) is Faust/aiokafka over the topic hops, the sink and the event loop")


if __name__ == "__main__":
    main()
