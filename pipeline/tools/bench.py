"""`newsfeed bench`: the pipeline on a synthetic load, measured, beside bare spaCy in the same run.

Reports end-to-end docs/s, per-stage docs/s and time share, produce→sink latency p50/p95/p99, CPU and
peak RSS per process, dedup precision/recall against the ground truth, and bare `nlp.pipe` docs/s on
the same unique documents with the same model, components and number of processes.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil

from pipeline.kafka.broker import make_broker
from pipeline.config import Settings
from pipeline.kafka.outcomes import collect
from pipeline.tools.process_monitor import ProcessMonitor, mapped_file_mb
from pipeline.tools.processes import start_worker, stop_workers, wait_workers_ready
from pipeline.contracts.records import parse_time
from pipeline.kafka.replay import Item, replay
from pipeline.tools.synth import synthesize
from pipeline.stages.text import clean
from pipeline.kafka.topics import create_topics
from pipeline.stages.places import gazetteer

ROOT = Path(__file__).resolve().parents[2]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


_bare_nlp = None


def _bare_init(model: str) -> None:
    global _bare_nlp

    from pipeline.stages.entities.tagging import EntityTagger  # the same exclusions the stage uses

    _bare_nlp = EntityTagger(models={"xx": model}).load()._nlp["xx"]
    list(_bare_nlp.pipe(["Chauffe."]))


def _bare_pipe(texts: list[str], batch_size: int) -> int:
    return sum(1 for _ in _bare_nlp.pipe(texts, batch_size=batch_size))


def bare_spacy(texts: list[str], processes: int, model: str, batch_size: int) -> float:
    """docs/s of bare nlp.pipe (NER only) on `texts` over `processes` processes; load time excluded.
    With several processes the texts go out in chunks of 4 batches, so no process idles while
    another finishes a bigger share (the pipeline's workers also take work as they free up)."""
    with ProcessPoolExecutor(processes, initializer=_bare_init, initargs=(model,)) as pool:
        list(pool.map(_bare_pipe, [["Chauffe."]] * processes, [1] * processes))   # every process loaded
        size = len(texts) if processes == 1 else 4 * batch_size
        chunks = [texts[i:i + size] for i in range(0, len(texts), size)]
        started = time.perf_counter()
        done = sum(pool.map(_bare_pipe, chunks, [batch_size] * len(chunks)))
        elapsed = time.perf_counter() - started
    return done / elapsed


def run_bench(settings: Settings, n: int, mix: str, seed: int, workers: int, rate: float | None,
              output: Path, seed_dir: Path, pin_ner: bool = False, length: str = "seed",
              metrics: bool = True, language: str = "fr", variant: str = "",
              env_extra: dict[str, str] | None = None, engine: str = "tansu", baseline: bool = True) -> dict[str, Any]:
    """`language`: the language of the texts in `seed_dir`; bare spaCy runs the model the pipeline picks
    for it (the registry's choice, or NEWSFEED_NER_MODELS). `engine`: the broker this run starts (tansu or
    kafka), unless NEWSFEED_BROKER names one. `baseline=False` leaves bare spaCy and the figures derived
    from it out (a latency curve needs none of them, and they take as long as the run itself)."""
    model = settings.ner_model_map().get(language)
    if model is None:
        raise ValueError(f"no spaCy model for language {language!r} (see `newsfeed models`)")
    output.mkdir(parents=True, exist_ok=True)
    syn = synthesize(n, seed_dir, mix=mix, seed=seed, source="bench", length=length)
    prefix = f"bench-{uuid.uuid4().hex[:6]}."
    result: dict[str, Any] = {"n": n, "mix": mix, "seed": seed, "workers": workers, "rate": rate,
                              "pin_ner": pin_ner, "length": length, "metrics": metrics, "language": language,
                              "model": model, "variant": variant, "engine": engine if not settings.broker else "external",
                              "mean_chars": round(statistics.mean(len(a["text"]) for a in syn.articles))}
    embedded = None
    if not settings.broker:
        launched = time.monotonic()
        embedded = make_broker(engine).start()
        result["broker_start_s"] = round(time.monotonic() - launched, 2)   # launch -> answering metadata
    address = settings.broker or embedded.address
    try:
        run_settings = replace(settings, broker=address, topic_prefix=prefix, app_id=prefix.rstrip("."),
                               output_dir=output / prefix.rstrip("."))
        create_topics(run_settings, address)
        # bare spaCy just before the pipeline run, on the load's unique articles (cleaned as ingest does)
        bare_processes = workers * max(1, settings.ner_processes)   # as many spaCy processes as the pipeline has
        result["bare_processes"] = bare_processes
        bare_before = baseline and bare_spacy([clean(a["text"]).text for a in syn.articles if syn.truth[a["id"]]["kind"] == "unique"],
                                 bare_processes, model, settings.ner_batch_size)
        env = {**os.environ, "NEWSFEED_BROKER": address, "NEWSFEED_TOPIC_PREFIX": prefix,
               "NEWSFEED_APP_ID": run_settings.app_id, "NEWSFEED_OUTPUT_DIR": str(run_settings.output_dir),
               # metrics off: no HTTP server, and the agents' meters record nothing (NEWSFEED_HTTP_PORT=0)
               **({} if metrics else {"NEWSFEED_HTTP_PORT": "0"}), **(env_extra or {})}
        started = time.monotonic()
        logs = [output / f"{run_settings.app_id}-worker-{i}.log" for i in range(workers)]
        cpus = sorted(os.sched_getaffinity(0))
        # --pin-ner: worker i's NER child gets a core of its own, counting down from the last one
        pins = [{"NEWSFEED_NER_CPUS": str(cpus[-1 - i % len(cpus)])} if pin_ner else {} for i in range(workers)]
        procs = [start_worker({**env, **pin}, log) for log, pin in zip(logs, pins)]
        try:
            result["ready_s"] = wait_workers_ready(logs, procs, since=started)   # launch -> models + group
            time.sleep(settings.session_timeout)   # let a rebalance between the workers settle
            result["startup_s"] = round(time.monotonic() - started, 2)
            watched = {f"worker-{i}": p.pid for i, p in enumerate(procs)}
            for i, p in enumerate(procs):   # NER child processes (NEWSFEED_NER_PROCESSES > 0)
                for j, child in enumerate(psutil.Process(p.pid).children(recursive=True)):
                    watched[f"worker-{i}-ner-{j}"] = child.pid
            if embedded:
                watched.update(embedded.pids())
            watched["bench (replay + reader)"] = os.getpid()
            monitor = ProcessMonitor(watched)
            monitor.sample()
            cpu_before = dict(monitor.cpu)
            monitor.start()
            items = [Item(key=a["id"], article=a) for a in syn.articles]
            t0 = time.time()
            sent = replay(items, address, run_settings, rate=rate, progress=sys.stderr.isatty(), total=len(items))
            result["replay_msg_s"] = round(sent.rate, 1)
            outcomes = collect(address, run_settings, set(sent.keys), timeout=max(600, n),
                               alive=lambda: all(p.poll() is None for p in procs))
            monitor.stop()
            # the places index in each worker, mapped read-only: resident pages and how many are shared
            index = str(gazetteer.default_path().resolve())
            result["gazetteer_mapped_mb"] = {f"worker-{i}": mapped_file_mb(p.pid, index) for i, p in enumerate(procs)}
        finally:
            stop_workers(procs)
    finally:
        if embedded:
            embedded.stop()
    t_end = max(outcomes.arrived_ms.values()) / 1000
    wall = t_end - t0
    enriched = list(outcomes.records["enriched"].values())
    duplicates = list(outcomes.records["duplicates"].values())
    result["wall_s"] = round(wall, 2)
    result["docs"] = len(sent.keys)
    result["end_to_end_docs_s"] = round(len(sent.keys) / wall, 2)
    result["enriched"], result["duplicates"] = len(enriched), len(duplicates)
    result["dead_letters"] = len(outcomes.records["deadletter"])
    # per-stage: per-record processing time inside each stage
    stage_ms = {s: [r["timings"][f"{s}_ms"] for r in enriched + duplicates if f"{s}_ms" in r["timings"]]
                for s in ("language", "dedup", "entities", "places")}
    total_ms = sum(sum(v) for v in stage_ms.values()) or 1
    result["stages"] = {s: {"docs": len(v), "docs_s_per_process": round(1000 / statistics.mean(v), 1) if v else None,
                            "time_share": round(sum(v) / total_ms, 4)} for s, v in stage_ms.items()}
    # places (after NER, in a thread of the worker): wall time and the thread's CPU time per article
    cpu_ms = [r["timings"]["places_cpu_ms"] for r in enriched if "places_cpu_ms" in r["timings"]]
    result["places_ms_per_article"] = {"mean": round(statistics.mean(stage_ms["places"]), 3),
                                       "p95": round(percentile(stage_ms["places"], 95), 3),
                                       "cpu_mean": round(statistics.mean(cpu_ms), 3),
                                       "cpu_p95": round(percentile(cpu_ms, 95), 3)} if cpu_ms else None
    # latency: produce (ingested_at) -> output topic timestamp
    latencies, timeline, samples = [], [], []
    for sink, records in (("enriched", enriched), ("duplicates", duplicates)):
        for record in records:
            produced = parse_time(record["ingested_at"]).timestamp()
            arrived = outcomes.arrived_ms[record["id"]] / 1000
            latencies.append(arrived - produced)
            timeline.append((arrived - t0, arrived - produced))
            samples.append({"sink": sink, "sent_s": round(produced - t0, 4), "arrived_s": round(arrived - t0, 4)})
    result["latency_s"] = {f"p{q}": round(percentile(latencies, q), 3) for q in (50, 95, 99)}
    result["samples"] = sorted(samples, key=lambda s: s["sent_s"])   # each output: produced and arrived, from t0
    # CPU seconds to the millisecond: a per-article figure of a light process over a short run needs them
    result["processes"] = {name: {"cpu_s": round(monitor.cpu[name] - cpu_before.get(name, 0), 3),
                                  "cpu_util": round((monitor.cpu[name] - cpu_before.get(name, 0)) / wall, 2),
                                  "peak_rss_mb": round(monitor.peak_rss[name] / 1e6)} for name in monitor.procs}
    # the worker loops' CPU (everything but NER) per article, and peak RSS of the worker and NER processes
    loops = [p for p in result["processes"] if p.startswith("worker-") and "-ner-" not in p]
    result["loop_ms_per_article"] = round(1000 * sum(result["processes"][p]["cpu_s"] for p in loops) / n, 2)
    for kind, names in (("worker", loops), ("ner", [p for p in result["processes"] if "-ner-" in p])):
        result[f"peak_rss_mb_{kind}"] = max((result["processes"][p]["peak_rss_mb"] for p in names), default=None)
    brokers = [p for p in result["processes"] if p.startswith("broker")]
    if brokers:   # the broker's own cost, to compare engines: CPU per article and memory (all nodes)
        result["broker_cpu_ms_per_article"] = round(1000 * sum(result["processes"][p]["cpu_s"] for p in brokers) / n, 2)
        result["broker_peak_rss_mb"] = sum(result["processes"][p]["peak_rss_mb"] for p in brokers)
    # dedup quality against the ground truth, by story: across partitions a copy can overtake its
    # original, and then the copy is the one indexed first; a pair within one story is right either way
    root = {k: (t["of"] if t["kind"] != "unique" else k) for k, t in syn.truth.items()}
    tp = fp = 0
    for key, dup in outcomes.records["duplicates"].items():
        if root.get(key) == root.get(dup["dedup"]["duplicate_of"]):
            tp += 1
        else:
            fp += 1
    expected = sum(1 for t in syn.truth.values() if t["kind"] != "unique")
    fn = expected - tp
    result["dedup"] = {"precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
                       "recall": round(tp / expected, 4) if expected else 1.0, "tp": tp, "fp": fp, "fn": fn}
    result["timeline"] = sorted(timeline)
    # cores each process used between samples, from replay start: shows where the ramp and tail go
    result["cpu_timeline"] = [
        {"t": round(t1 - t0, 2), **{name: round((c1[name] - c0[name]) / (t1 - t0_), 2) for name in c1}}
        for (t0_, c0), (t1, c1) in zip(monitor.samples, monitor.samples[1:]) if t1 > t0_ and t1 >= t0]
    if not baseline:
        return result
    # bare spaCy on the documents the pipeline tagged, same model/components/processes, right after the
    # pipeline run; with the measurement from just before it, the mean is the baseline (a shared machine
    # drifts: `bare_spacy_before_after` shows by how much during this run)
    texts = [r["text"] for r in enriched if r["ner"]["status"] == "ok"]
    used = {r["ner"]["model"] for r in enriched if r["ner"]["status"] == "ok"}
    if used != {model}:   # the ratio would compare different models: refuse it
        raise RuntimeError(f"the pipeline tagged with {sorted(used)}, bare spaCy runs {model}: "
                           f"is --language right for the articles?")
    bare_after = bare_spacy(texts, bare_processes, model, settings.ner_batch_size)
    bare = (bare_before + bare_after) / 2
    result["bare_spacy_before_after"] = [round(bare_before, 2), round(bare_after, 2)]
    ner_docs = len(texts)
    pipeline_ner_docs_s = ner_docs / wall
    result["ner_processes"] = settings.ner_processes
    result["bare_spacy_docs_s"] = round(bare, 2)
    result["pipeline_ner_docs_s"] = round(pipeline_ner_docs_s, 2)
    result["ratio_pipeline_to_bare"] = round(pipeline_ner_docs_s / bare, 3)
    # the most NER docs/s these cores allow with this run's costs and no idle time: each doc needs bare
    # spaCy's CPU plus this run's non-NER CPU (worker loops, broker, this harness) per doc, and no more
    # than `bare_processes` spaCy processes can run (what two workers on two cores can reach at best)
    cores = len(os.sched_getaffinity(0))
    other_cpu_s = sum(v["cpu_s"] for k, v in result["processes"].items() if "-ner-" not in k)
    per_process = bare / bare_processes
    result["non_ner_cpu_ms_per_doc"] = round(1000 * other_cpu_s / ner_docs, 2) if ner_docs else None
    result["cpu_ceiling_docs_s"] = round(min(bare, cores / (1 / per_process + other_cpu_s / ner_docs)), 2) \
        if ner_docs else None
    # steady state: enriched outputs between the 10th and 90th percentile of their arrival times
    # (leaves out the pipeline filling up and draining, which bare nlp.pipe does not have)
    arrivals = sorted(outcomes.arrived_ms[r["id"]] / 1000 for r in enriched)
    if len(arrivals) >= 20:
        lo, hi = arrivals[len(arrivals) // 10], arrivals[(len(arrivals) * 9) // 10]
        steady = (len(arrivals) * 8 // 10) / (hi - lo) if hi > lo else float("nan")
        result["steady_ner_docs_s"] = round(steady, 2)
        result["steady_ratio_pipeline_to_bare"] = round(steady / bare, 3)
    return result


def chart(result: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib
    except ImportError:  # an extra: the runtime image leaves it out
        raise SystemExit("the bench's charts need matplotlib: `pip install 'newsfeed[bench]'`") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timeline = result["timeline"]
    if not timeline:
        return
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    end = int(max(t for t, _ in timeline)) + 1
    per_second = [0] * (end + 1)
    for t, _lat in timeline:
        per_second[int(max(t, 0))] += 1
    ax1.plot(range(len(per_second)), per_second, drawstyle="steps-post")
    ax1.set_ylabel("docs/s out")
    ax1.set_title(f"newsfeed bench: {result['docs']} docs, {result['workers']} worker(s), "
                  f"rate {result['rate'] or 'max'}")
    ax2.scatter([t for t, _ in timeline], [lat for _, lat in timeline], s=4)
    ax2.set_ylabel("produce→sink latency (s)")
    ax2.set_xlabel("seconds since replay start")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
