"""What a soak measured (pipeline/tools/soak.py), as a JSON-able report, table rows and a plot."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from pipeline.contracts.records import parse_time
from pipeline.tools.soak import SoakRun


def latencies(run: SoakRun) -> list[tuple[float, float]]:
    """(produced at, produce→sink seconds) of every enriched article, from its own ingested_at and sink_at."""
    points = []
    for record in run.exactness.outcomes.records["enriched"].values():
        produced, sunk = parse_time(record.get("ingested_at")), parse_time(record.get("timings", {}).get("sink_at"))
        if produced and sunk:
            points.append((produced.timestamp(), (sunk - produced).total_seconds()))
    return sorted(points)


def percentiles(values: list[float]) -> dict[str, Any]:
    if len(values) < 2:
        return {"n": len(values), "p50": values[0] if values else None, "p99": values[0] if values else None}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50": round(cuts[49], 3), "p99": round(cuts[98], 3)}


def _window(points: list[tuple[float, float]], start: float, end: float) -> dict[str, Any]:
    return percentiles([seconds for produced, seconds in points if start <= produced < end])


def report(run: SoakRun, window: float, chart: Path | None = None) -> dict[str, Any]:
    """Per fault: how long it took, when the backlog it left was drained, and produce→sink latency of the
    articles produced in the `window` s before it, during it (until drained) and in the `window` s after."""
    points = latencies(run)
    check = run.exactness
    faults = []
    for i, fault in enumerate(run.faults):
        back = fault.recovered or fault.ended
        # the windows stop at the neighbouring faults: "after" is never the next fault's "during"
        previous = (run.faults[i - 1].recovered or run.faults[i - 1].ended) if i else run.started
        following = run.faults[i + 1].started if i + 1 < len(run.faults) else run.load_ended
        faults.append({
            "fault": fault.kind, "detail": fault.detail, "at_s": round(fault.started - run.started, 1),
            "took_s": round(fault.ended - fault.started, 1),
            "lag_back_to_0_s": round(fault.recovered - fault.ended, 1) if fault.recovered else None,
            "latency_before": _window(points, max(previous, fault.started - window), fault.started),
            "latency_during": _window(points, fault.started, back),
            "latency_after": _window(points, back, min(following, back + window))})
    by_process: dict[str, list[tuple[float, int, int]]] = {}
    for t, name, rss, fds in run.series:
        if rss == 0:   # a process that just exited (a zombie until reaped)
            continue
        by_process.setdefault(name, []).append((t, rss, fds))
    return {
        "rate": run.rate, "duration_s": run.duration, "sent": run.sent,
        "load_s": round(run.load_ended - run.started, 1),
        "outcomes": check.counts, "lost": len(check.lost), "in_two_outputs": check.in_two_outputs,
        "twice_on_topic": check.twice_topic, "twice_in_files": check.twice_files,
        "topic_and_files_differ": check.files_differ, "exactly_once": check.ok,
        "lag_0_after_load_s": round(run.drained - run.load_ended, 1) if run.drained else None,
        "latency_whole_run": percentiles([s for _, s in points]),
        "faults": faults,
        "processes": {name: {"rss_mb_first": round(s[0][1] / 1e6), "rss_mb_last": round(s[-1][1] / 1e6),
                             "rss_mb_max": round(max(r for _, r, _ in s) / 1e6),
                             "open_files_first": s[0][2], "open_files_last": s[-1][2],
                             "open_files_max": max(f for _, _, f in s), "minutes": round((s[-1][0] - s[0][0]) / 60, 1)}
                      for name, s in by_process.items()},
        "chart": str(chart) if chart else None,
    }


def _lat(w: dict[str, Any]) -> str:
    return f"{w['p50']} / {w['p99']} s (n={w['n']})" if w["n"] else "no article"


def rows(result: dict[str, Any]) -> list[tuple[str, ...]]:
    """Header then rows: one per fault, then one per process."""
    table = [("fault", "at", "took", "lag back to 0 after", "p50 / p99 before", "p50 / p99 during",
              "p50 / p99 after")]
    for f in result["faults"]:
        drained = f"{f['lag_back_to_0_s']} s" if f["lag_back_to_0_s"] is not None else "NOT within the limit"
        table.append((f"{f['fault']} ({f['detail']})", f"{f['at_s']} s", f"{f['took_s']} s", drained,
                      _lat(f["latency_before"]), _lat(f["latency_during"]), _lat(f["latency_after"])))
    return table


def process_rows(result: dict[str, Any]) -> list[tuple[str, ...]]:
    table = [("process", "watched", "RSS first / last / max", "open files first / last / max")]
    for name, p in result["processes"].items():
        table.append((name, f"{p['minutes']} min", f"{p['rss_mb_first']} / {p['rss_mb_last']} / {p['rss_mb_max']} MB",
                      f"{p['open_files_first']} / {p['open_files_last']} / {p['open_files_max']}"))
    return table


def summary(result: dict[str, Any]) -> str:
    o = result["outcomes"]
    return (f"{result['sent']} messages at {result['rate']}/s over {result['load_s']} s: {o['enriched']} enriched, "
            f"{o['duplicates']} duplicates, {o['deadletter']} dead letters; lost {result['lost']}, in two outputs "
            f"{result['in_two_outputs']}, twice on a topic {sum(result['twice_on_topic'].values())}, twice in a "
            f"file {sum(result['twice_in_files'].values())}, topic and files differ by "
            f"{sum(result['topic_and_files_differ'].values())}; lag 0 {result['lag_0_after_load_s']} s after the "
            f"load ended; whole-run latency p50 / p99 {_lat(result['latency_whole_run'])}")


def plot(run: SoakRun, path: Path) -> None:
    """RSS and open files per process, total lag, and each article's latency over time; faults shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, figsize=(11, 11), sharex=True)
    minutes = lambda t: (t - run.started) / 60   # noqa: E731
    names = sorted({name for _, name, _, _ in run.series})
    for name in names:
        mine = [(t, rss, fds) for t, n, rss, fds in run.series if n == name and rss]
        axes[0].plot([minutes(t) for t, _, _ in mine], [rss / 1e6 for _, rss, _ in mine], label=name)
        axes[1].plot([minutes(t) for t, _, _ in mine], [fds for _, _, fds in mine], label=name)
    axes[0].set_ylabel("RSS (MB)")
    axes[0].legend(fontsize=7, ncol=3)
    axes[1].set_ylabel("open files")
    axes[2].plot([minutes(t) for t, _ in run.lag_samples], [n for _, n in run.lag_samples], drawstyle="steps-post")
    axes[2].set_ylabel("lag, all stages (messages)")
    points = latencies(run)
    axes[3].scatter([minutes(t) for t, _ in points], [s for _, s in points], s=3)
    axes[3].set_ylabel("produce→sink (s)")
    axes[3].set_xlabel("minutes since the load started")
    for fault in run.faults:
        for ax in axes:
            ax.axvspan(minutes(fault.started), minutes(fault.recovered or fault.ended), color="orange", alpha=0.25)
        axes[0].annotate(fault.kind, (minutes(fault.started), 0), xycoords=("data", "axes fraction"), fontsize=7,
                         rotation=90, va="bottom")
    axes[0].set_title(f"soak: {run.rate}/s for {run.duration / 60:.0f} min, 3 Kafka brokers, RF 3 "
                      f"(shaded: a fault until its backlog drained)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
