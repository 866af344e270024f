"""`bench/latency_curve.py`: end-to-end latency under open-loop load, the curve load testers ask for.

`newsfeed bench` replays its whole load at once, so its latency is the time an article waits in a backlog.
Here, per broker engine: first the capacity (closed loop: the load replayed at once, one worker, the bench's
default options; docs/s out between the 10th and 90th percentile of arrivals), then open-loop runs at a fixed
rate (`--points`, % of that capacity) long enough for a steady state. Each point prints produce → enriched-topic
latency p50 / p99 / max over the articles sent after the warm-up (the warm-up's own figures beside them), the
rate asked and the rate the producer achieved, and whether it held the rate. Every run is `newsfeed bench`'s
own `run_bench` (its broker, worker and replay) without the bare-spaCy baseline, which a latency curve does
not need. `--lock FILE` takes an flock on FILE around each run, so a shared machine's other heavy jobs can
run between the points.

    .venv/bin/python bench/latency_curve.py                       # tansu and kafka, 25/50/75/90 %
    .venv/bin/python bench/latency_curve.py --engine tansu --rates 3,6 --seconds 12   # fixed rates, no capacity run
"""

from __future__ import annotations

import argparse
import fcntl
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import orjson
from rich.table import Table

from pipeline import config
from pipeline.cli.bench import show
from pipeline.tools.bench import percentile, run_bench

ROOT = Path(__file__).resolve().parents[1]
HELD = 0.95   # the producer held the rate when it sent at least this share of the rate asked


@contextmanager
def heavy_lock(path: Path | None):
    """An exclusive flock on `path` for one run (none without a path)."""
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        waited = time.monotonic()
        fcntl.flock(handle, fcntl.LOCK_EX)
        print(f"lock {path} taken after {time.monotonic() - waited:.0f} s", file=sys.stderr, flush=True)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _steady_out_rate(arrivals: list[float]) -> float:
    """docs/s out between the 10th and 90th percentile of arrival times (no fill-up, no drain)."""
    arrivals = sorted(arrivals)
    lo, hi = arrivals[len(arrivals) // 10], arrivals[(len(arrivals) * 9) // 10]
    return (len(arrivals) * 8 // 10) / (hi - lo) if hi > lo else float("nan")


def _latencies(samples: list[dict]) -> dict:
    values = [s["arrived_s"] - s["sent_s"] for s in samples if s["sink"] == "enriched"]
    return {"docs": len(values), "p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": max(values, default=float("nan"))}


def summarize(result: dict, asked: float, warmup: float) -> dict:
    """A point's figures from run_bench's per-output samples (times in s from the replay's start)."""
    samples = result["samples"]   # sorted by send time
    steady = [s for s in samples if s["sent_s"] >= warmup]
    half = len(steady) // 2
    sent = [s["sent_s"] for s in steady]
    # how far the producer fell behind its schedule (i / rate): replay catches up in a burst when it lags
    behind = max(s["sent_s"] - samples[0]["sent_s"] - i / asked for i, s in enumerate(samples))
    achieved = (len(sent) - 1) / (sent[-1] - sent[0]) if len(sent) > 1 and sent[-1] > sent[0] else float("nan")
    return {"engine": result["engine"], "asked": asked, "achieved": achieved, "achieved_whole": result["replay_msg_s"],
            "behind_s": behind, "held": achieved >= HELD * asked, "docs": result["docs"],
            "out_docs_s": _steady_out_rate([s["arrived_s"] for s in steady]),
            "steady": _latencies(steady), "warmup": _latencies([s for s in samples if s["sent_s"] < warmup]),
            "first_half_p50": _latencies(steady[:half])["p50"], "second_half_p50": _latencies(steady[half:])["p50"],
            "dead_letters": result["dead_letters"], "samples": samples}


def capacity(settings, args, engine: str) -> dict:
    with heavy_lock(args.lock):
        result = run_bench(settings, args.capacity_n, args.mix, args.seed, args.workers, None, args.output,
                           args.seeds, length=args.length, language=args.language, engine=engine, baseline=False)
    return {"engine": result["engine"], "n": result["docs"],
            "docs_s": _steady_out_rate([s["arrived_s"] for s in result["samples"]]),
            "whole_docs_s": result["end_to_end_docs_s"], "latency_s": result["latency_s"]}


def point(settings, args, engine: str, rate: float) -> dict:
    n = max(20, round(rate * args.seconds))
    with heavy_lock(args.lock):
        result = run_bench(settings, n, args.mix, args.seed, args.workers, rate, args.output, args.seeds,
                           length=args.length, language=args.language, engine=engine, baseline=False)
    return summarize(result, rate, args.warmup)


def _s(x: float) -> str:
    return f"{x:.2f}"


def curve_table(points: list[dict], title: str) -> Table:
    table = Table(title=title)
    for column in ("engine", "load", "asked msg/s", "achieved msg/s", "producer held the rate", "out docs/s",
                   "enriched measured", "p50 s", "p99 s", "max s", "p50 1st / 2nd half s",
                   "warm-up: enriched, p50 / max s"):
        table.add_column(column, justify="right")
    for p in points:
        held = "yes" if p["held"] else f"NO: {p['achieved'] / p['asked']:.0%} of the rate asked"
        st, wu = p["steady"], p["warmup"]
        table.add_row(p["engine"], p["load"], _s(p["asked"]), _s(p["achieved"]),
                      f"{held} (at most {p['behind_s']:.2f} s behind schedule)", _s(p["out_docs_s"]),
                      str(st["docs"]), _s(st["p50"]), _s(st["p99"]), _s(st["max"]),
                      f"{_s(p['first_half_p50'])} / {_s(p['second_half_p50'])}",
                      f"{wu['docs']}, {_s(wu['p50'])} / {_s(wu['max'])}")
    table.caption = ("latency: produce (ingested_at) → arrival on the enriched topic, articles sent after the "
                     "warm-up; achieved: the producer's send rate over those articles; out: docs/s on the output "
                     "topics between the 10th and 90th percentile of arrivals")
    return table


def capacity_table(caps: list[dict]) -> Table:
    table = Table(title="capacity: closed loop (the load replayed at once), one run per engine")
    for column in ("engine", "articles", "capacity docs/s (steady)", "docs/s whole run", "backlog latency p50 / p99 s"):
        table.add_column(column, justify="right")
    for c in caps:
        table.add_row(c["engine"], str(c["n"]), _s(c["docs_s"]), _s(c["whole_docs_s"]),
                      f"{_s(c['latency_s']['p50'])} / {_s(c['latency_s']['p99'])}")
    return table


def chart(points: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    for colour, engine in zip(("tab:blue", "tab:orange", "tab:green"), dict.fromkeys(p["engine"] for p in points)):
        mine = [p for p in points if p["engine"] == engine]
        x = [p["achieved"] for p in mine]
        for stat, style in (("p50", "-o"), ("p99", "--s"), ("max", ":^")):
            ax.plot(x, [p["steady"][stat] for p in mine], style, color=colour, label=f"{engine} {stat}")
    ax.set_xlabel("achieved open-loop rate (msg/s)")
    ax.set_ylabel("produce → enriched latency (s)")
    ax.set_yscale("log")
    ax.set_title(textwrap.fill(title, 110), fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _numbers(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) <= 0:
        raise SystemExit(f"{what}: expected a list of positive numbers like 25,50; got {text!r}")
    return values


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--engine", default="tansu,kafka", help="broker engine(s): tansu, kafka or tansu,kafka")
    ap.add_argument("--points", default="25,50,75,90", help="open-loop rates in %% of the measured capacity")
    ap.add_argument("--rates", default="", help="open-loop rates in msg/s instead (no capacity run)")
    ap.add_argument("--seconds", type=float, default=60, help="load duration of each point")
    ap.add_argument("--warmup", type=float, default=10, help="seconds of sending whose articles are reported apart")
    ap.add_argument("--capacity-n", type=int, default=500, help="articles of the closed-loop capacity run")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--mix", default="unique=0.8,exact=0.1,near=0.1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--length", default="seed")
    ap.add_argument("--language", default="fr")
    ap.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    ap.add_argument("--output", type=Path, default=ROOT / "bench/results", help="JSON and worker logs")
    ap.add_argument("--chart", type=Path, default=ROOT / "bench/charts/latency-curve.png")
    ap.add_argument("--lock", type=Path, default=None, help="flock this file around each run (a shared machine)")
    args = ap.parse_args(argv)
    engines = [e.strip() for e in args.engine.split(",") if e.strip()]
    if not engines or set(engines) - {"tansu", "kafka"}:
        raise SystemExit(f"--engine: expected tansu, kafka or tansu,kafka; got {args.engine!r}")
    fixed = _numbers(args.rates, "--rates") if args.rates else None
    shares = None if fixed else _numbers(args.points, "--points")
    if args.warmup >= args.seconds:
        raise SystemExit("--warmup must be shorter than --seconds")
    settings = config.load()
    caps, points = [], []
    args.output.mkdir(parents=True, exist_ok=True)
    json_path = args.output / f"latency-curve-{time.strftime('%Y%m%d-%H%M%S')}.json"

    def save() -> None:   # after every run: a curve stopped half-way keeps what it measured
        json_path.write_bytes(orjson.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "capacity": caps,
                                            "points": points}, option=orjson.OPT_INDENT_2))

    for engine in engines:
        if shares:
            caps.append(capacity(settings, args, engine))
            save()
            print(f"{engine}: capacity {caps[-1]['docs_s']:.2f} docs/s", file=sys.stderr, flush=True)
            rates = [(f"{share:g} %", caps[-1]["docs_s"] * share / 100) for share in shares]
        else:
            rates = [("fixed", rate) for rate in fixed]
        for load, rate in rates:
            points.append({**point(settings, args, engine, rate), "load": load})
            save()
            print(f"{engine} {load}: {rate:.2f} msg/s done", file=sys.stderr, flush=True)
    title = (f"latency under open-loop load: {args.workers} worker(s), {args.language} {args.length}-length articles "
             f"({args.mix}), {args.seconds:g} s a point, first {args.warmup:g} s reported apart")
    if caps:
        show(capacity_table(caps))
    show(curve_table(points, title))
    chart(points, args.chart, title)
    print(f"json -> {json_path}\nchart -> {args.chart}")
    slow = [p for p in points if not p["held"]]
    if slow:
        print(f"the producer did not hold the rate asked at {len(slow)} point(s): "
              + ", ".join(f"{p['engine']} {p['load']} ({p['achieved']:.2f} of {p['asked']:.2f} msg/s)" for p in slow))


if __name__ == "__main__":
    main()
