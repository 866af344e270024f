"""`newsfeed bench`: the pipeline on a synthetic load, side by side with bare spaCy."""

from __future__ import annotations

import io
import statistics
import time
from pathlib import Path
from typing import Optional

import orjson
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from .common import RATE, cli, connect, console, out, settings_or_exit


@cli.command()
def bench(n: int = typer.Option(2000, "--n", min=10, help="synthetic articles"),
          mix: str = typer.Option("unique=0.8,exact=0.1,near=0.1"),
          seed: int = typer.Option(0),
          workers: str = typer.Option("1", help="worker processes in one consumer group; a list (1,2) runs "
                                      "each back to back and prints the speed-up"),
          rate: Optional[float] = RATE,
          output: Path = typer.Option(Path("bench/results"), help="where the JSON, PNG and worker logs go"),
          pin_ner: bool = typer.Option(False, "--pin-ner", help="pin each worker's NER child to a core of its own "
                                       "(NEWSFEED_NER_CPUS)"),
          length: str = typer.Option("seed", help="article length: 'seed' (3,000-6,000 chars, like the seed "
                                     "articles) or 'short' (~2,000 chars)"),
          metrics: str = typer.Option("on", help="worker metrics: 'on', 'off', or a list ('on,off') to run each "
                                      "worker count with and without them and print their cost"),
          seeds: Path = typer.Option(Path("seeds"), help="the articles the synthetic load is built from "
                                     "(bench/english: English ones)"),
          language: str = typer.Option("fr", help="the language of those articles: bare spaCy runs the model "
                                       "the pipeline picks for it"),
          engine: str = typer.Option("tansu", help="broker engine(s) the bench starts: tansu, kafka, or a list "
                                     "(tansu,kafka) to run everything on each and compare them in a last table"),
          before: str = typer.Option("", help="settings of a 'before' variant, e.g. 'NEWSFEED_LANG_ACCURACY=high "
                                     "NEWSFEED_LANG_VOTE=0': each worker count then runs before and after, side "
                                     "by side, and a last table compares them")) -> None:
    """Run the pipeline on a synthetic load and report throughput, latency, resources, dedup quality and
    the ratio to bare spaCy measured in the same run."""
    from pipeline.tools.bench import chart, run_bench
    from pipeline.tools.synth import seed_texts

    try:
        counts = [int(w) for w in workers.split(",") if w.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        console.print(f"[red]--workers:[/red] expected a count or a list of counts like 1,2; got {workers!r}")
        raise typer.Exit(2)
    switches = [m.strip() for m in metrics.split(",") if m.strip()]
    if not switches or set(switches) - {"on", "off"}:
        console.print(f"[red]--metrics:[/red] expected on, off or a list like on,off; got {metrics!r}")
        raise typer.Exit(2)
    try:
        before_env = dict(pair.split("=", 1) for pair in before.split())
    except ValueError:
        console.print(f"[red]--before:[/red] expected NAME=VALUE settings separated by spaces; got {before!r}")
        raise typer.Exit(2)
    variants = [("before", before_env), ("after", {})] if before_env else [("", {})]
    engines = [e.strip() for e in engine.split(",") if e.strip()]
    if not engines or set(engines) - {"tansu", "kafka"}:
        console.print(f"[red]--engine:[/red] expected tansu, kafka or a list like tansu,kafka; got {engine!r}")
        raise typer.Exit(2)
    try:
        seed_texts(seeds)
    except ValueError as exc:
        console.print(f"[red]--seeds:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    settings = settings_or_exit()
    if settings.broker:   # a cluster of yours: its certificate and our credentials checked first
        connect(settings, settings.broker)
    if language not in settings.ner_model_map():
        console.print(f"[red]--language:[/red] no spaCy model for {language!r} (see `newsfeed models`)")
        raise typer.Exit(2)
    results = []
    runs = ((e, c, v, m) for e in engines for c in counts for v in variants for m in switches)
    for eng, count, (variant, env), switch in runs:
        result = run_bench(settings, n, mix, seed, count, rate, output, seeds, pin_ner=pin_ner,
                           length=length, metrics=switch == "on", language=language, variant=variant, env_extra=env,
                           engine=eng)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"bench-{stamp}-{result['engine']}-w{count}"
        json_path, png_path = output / f"{name}.json", output / f"{name}.png"
        chart(result, png_path)
        timeline = result.pop("timeline")
        json_path.write_bytes(orjson.dumps({**result, "timeline": timeline}, option=orjson.OPT_INDENT_2))
        show(_bench_table(result, f"newsfeed bench — {n} {language} docs from {seeds} ({mix}, {length} length, "
                                       f"~{result['mean_chars']} chars), {count} worker(s), rate {rate or 'max'}"
                                       f"{', NER pinned' if pin_ner else ''}, metrics {switch}, broker {eng}"
                                       f"{', ' + variant if variant else ''}"))
        out.print(f"json -> {json_path}\nchart -> {png_path}", highlight=False)
        results.append(result)
    if len(counts) > 1:
        for eng in engines:
            for variant, _env in variants:
                show(_scaling_table([r for r in results if r["variant"] == variant and r["engine"] == eng],
                                         f"{eng} {variant}".strip()))
    if len(engines) > 1:
        show(_engines_table(results))
    if before_env:
        show(_before_after_table(results, before))
    if len(set(switches)) > 1:
        show(_metrics_cost_table(results))


def show(table: Table) -> None:
    """A table as rich draws it on a terminal; into a file or a pipe (a log, CI) a Markdown table at its natural
    width, title and caption on lines of their own: rich would wrap every cell to 80 columns there."""
    if out.is_terminal:
        out.print(table)
        return
    title, caption = table.title, table.caption
    table.title = table.caption = None
    table.box = box.MARKDOWN
    plain = Console(file=io.StringIO(), width=100_000, no_color=True, highlight=False, emoji=False, markup=False)
    plain.print(table)
    rows = [line.rstrip() for line in plain.file.getvalue().splitlines() if line.strip()]
    out.file.write("\n".join(["", *([str(title), ""] if title else []), *rows, *([str(caption)] if caption else []),
                              ""]) + "\n")
    out.file.flush()


def _median(runs: list[dict], value) -> float | None:
    """Median of value(run) over the runs that have one (None when none has)."""
    values = [v for v in map(value, runs) if v is not None]
    return statistics.median(values) if values else None


def _bench_table(result: dict, title: str) -> Table:
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("ready after launch (models loaded, group joined), per worker", " / ".join(f"{r} s" for r in result["ready_s"])),
        ("worker loop CPU per article (all but NER)", f"{result['loop_ms_per_article']} ms"),
        ("end-to-end", f"{result['end_to_end_docs_s']} docs/s ({result['docs']} docs in {result['wall_s']} s)"),
        ("outcomes", f"{result['enriched']} enriched, {result['duplicates']} duplicates, "
                     f"{result['dead_letters']} dead letters"),
    ]
    for stage, st in result["stages"].items():
        rows.append((f"stage {stage}", f"{st['docs_s_per_process']} docs/s/process, {st['time_share']:.1%} of stage time"))
    if result.get("places_ms_per_article"):
        pl = result["places_ms_per_article"]
        rows.append(("places per article (after NER, in the worker): CPU mean / p95, wall mean / p95",
                     f"{pl['cpu_mean']} / {pl['cpu_p95']} ms, {pl['mean']} / {pl['p95']} ms"))
    for name, mapped in (result.get("gazetteer_mapped_mb") or {}).items():
        rows.append((f"{name}: places index, memory-mapped (resident / private / PSS, over its mappings)",
                     f"{mapped['resident']} / {mapped['private']} / {mapped['pss']} MB ({mapped['maps']} maps)"
                     if mapped else "not mapped"))
    lat = result["latency_s"]
    rows.append(("latency produce→sink p50 / p95 / p99", f"{lat['p50']} / {lat['p95']} / {lat['p99']} s"))
    if "broker_cpu_ms_per_article" in result:
        rows.append((f"broker ({result['engine']}): start-up, CPU per article",
                     f"{result['broker_start_s']} s, {result['broker_cpu_ms_per_article']} ms"))
    for name, proc in result["processes"].items():
        rows.append((f"{name}", f"{proc['cpu_util']:.2f} cores, peak RSS {proc['peak_rss_mb']} MB"))
    d = result["dedup"]
    rows.append(("dedup precision / recall", f"{d['precision']:.4f} / {d['recall']:.4f} (fp {d['fp']}, fn {d['fn']})"))
    rows.append(("pipeline NER docs/s (unique docs / wall)", f"{result['pipeline_ner_docs_s']}"))
    before, after = result["bare_spacy_before_after"]
    rows.append((f"bare spaCy nlp.pipe docs/s ({result['model']}, {result['bare_processes']} process(es)), "
                 "mean of before / after",
                 f"{result['bare_spacy_docs_s']} ({before} / {after})"))
    rows.append(("ratio pipeline ÷ bare (whole run)", f"{result['ratio_pipeline_to_bare']:.3f}"))
    if "steady_ner_docs_s" in result:
        rows.append(("pipeline NER docs/s, steady state (p10–p90 of outputs)", f"{result['steady_ner_docs_s']}"))
        rows.append(("ratio pipeline ÷ bare (steady state)", f"{result['steady_ratio_pipeline_to_bare']:.3f}"))
    if result.get("cpu_ceiling_docs_s"):
        rows.append(("non-NER CPU per NER doc (loops, broker, bench)", f"{result['non_ner_cpu_ms_per_doc']} ms"))
        rows.append(("CPU ceiling: NER docs/s these cores allow at these costs, no idle time",
                     f"{result['cpu_ceiling_docs_s']}"))
    for row in rows:
        table.add_row(*row)
    return table


def _scaling_table(results: list[dict], variant: str = "") -> Table:
    """Each worker count against the first one listed; a count listed more than once (1,2,1,2) counts
    with the median of its runs, which evens out a shared machine's drift."""
    by_count: dict[int, list[dict]] = {}
    for r in results:
        by_count.setdefault(r["workers"], []).append(r)

    rows = {c: {k: _median(runs, lambda r: r.get(k) or None)
                for k in ("pipeline_ner_docs_s", "steady_ner_docs_s", "bare_spacy_docs_s", "cpu_ceiling_docs_s")}
            for c, runs in by_count.items()}
    base = rows[results[0]["workers"]]
    table = Table(title=f"{variant + ': ' if variant else ''}scaling against {results[0]['workers']} worker(s): "
                        "runs back to back in this command"
                        + (", medians of repeated counts" if len(by_count) < len(results) else ""))
    for column in ("workers", "runs", "NER docs/s whole / steady", "speed-up whole / steady", "bare docs/s",
                   "bare speed-up", "ratio to bare whole / steady", "CPU ceiling docs/s (speed-up)"):
        table.add_column(column, justify="right")

    def fmt(x: float | None, suffix: str = "", digits: int = 2) -> str:
        return "—" if x is None else f"{x:.{digits}f}{suffix}"

    for count, row in rows.items():
        whole, steady, bare = row["pipeline_ner_docs_s"], row["steady_ner_docs_s"], row["bare_spacy_docs_s"]
        ceiling = row["cpu_ceiling_docs_s"]
        table.add_row(str(count), str(len(by_count[count])), f"{fmt(whole)} / {fmt(steady)}",
                      f"{fmt(whole / base['pipeline_ner_docs_s'], '×')} / "
                      f"{fmt(steady / base['steady_ner_docs_s'] if steady and base['steady_ner_docs_s'] else None, '×')}",
                      fmt(bare), fmt(bare / base["bare_spacy_docs_s"], "×"),
                      f"{fmt(whole / bare, digits=3)} / {fmt(steady / bare if steady else None, digits=3)}",
                      f"{fmt(ceiling)} ({fmt(ceiling / base['pipeline_ner_docs_s'] if ceiling else None, '×')})")
    table.caption = ("CPU ceiling: the most NER docs/s these cores allow with the run's own costs and no idle "
                     "time (bare spaCy's CPU per doc + the loops', broker's and bench's CPU per doc), against "
                     "the first count's whole-run docs/s")
    return table


def _engines_table(results: list[dict]) -> Table:
    """Broker engines side by side, per worker count (medians of repeated runs in this command)."""
    table = Table(title="broker engines side by side in this command (medians of repeated runs)")
    for column in ("engine", "workers", "runs", "ratio to bare whole / steady", "NER docs/s whole",
                   "broker CPU ms/article", "broker peak RSS MB", "broker start s", "workers ready s (slowest)",
                   "latency p50 / p99 s"):
        table.add_column(column, justify="right")
    for eng, count in dict.fromkeys((r["engine"], r["workers"]) for r in results):
        runs = [r for r in results if r["engine"] == eng and r["workers"] == count]
        med = lambda key: _median(runs, key)  # noqa: E731
        table.add_row(eng, str(count), str(len(runs)),
                      f"{med(lambda r: r['ratio_pipeline_to_bare']):.3f} / "
                      f"{med(lambda r: r.get('steady_ratio_pipeline_to_bare')) or float('nan'):.3f}",
                      f"{med(lambda r: r['pipeline_ner_docs_s']):.2f}",
                      f"{med(lambda r: r.get('broker_cpu_ms_per_article')) or float('nan'):.2f}",
                      f"{med(lambda r: r.get('broker_peak_rss_mb')) or float('nan'):.0f}",
                      f"{med(lambda r: r.get('broker_start_s')) or float('nan'):.1f}",
                      f"{med(lambda r: max(r['ready_s'])):.1f}",
                      f"{med(lambda r: r['latency_s']['p50']):.2f} / {med(lambda r: r['latency_s']['p99']):.2f}")
    return table


def _metrics_cost_table(results: list[dict]) -> Table:
    """The cost of metrics: ratio to bare spaCy (each run against its own bare measure) with and without."""
    table = Table(title="cost of metrics: pipeline ÷ bare spaCy in the same command (medians of repeated runs)")
    for column in ("workers", "metrics", "runs", "ratio whole", "ratio steady"):
        table.add_column(column, justify="right")
    ratios: dict[tuple[int, bool], tuple[float, float]] = {}
    for count, on in dict.fromkeys((r["workers"], r["metrics"]) for r in results):
        runs = [r for r in results if r["workers"] == count and r["metrics"] == on]
        whole = _median(runs, lambda r: r["ratio_pipeline_to_bare"])
        steady = _median(runs, lambda r: r.get("steady_ratio_pipeline_to_bare") or whole)
        ratios[(count, on)] = (whole, steady)
        table.add_row(str(count), "on" if on else "off", str(len(runs)), f"{whole:.3f}", f"{steady:.3f}")
    for count in dict.fromkeys(c for c, _ in ratios):
        if (count, True) in ratios and (count, False) in ratios:
            (w_on, s_on), (w_off, s_off) = ratios[(count, True)], ratios[(count, False)]
            table.add_row(str(count), "cost", "", f"{1 - w_on / w_off:+.1%}", f"{1 - s_on / s_off:+.1%}")
    return table


def _before_after_table(results: list[dict], before: str) -> Table:
    """The issue's four figures per worker count, before and after (medians of repeated runs)."""
    table = Table(title=f"before ({before}) and after, side by side in this command: medians of repeated runs")
    for column in ("workers", "variant", "runs", "peak RSS worker / NER child MB", "ready s (slowest worker)",
                   "loop ms/article", "NER docs/s whole", "speed-up over 1 worker", "ratio to bare whole"):
        table.add_column(column, justify="right")
    one = {v: _median([r for r in results if r["variant"] == v and r["workers"] == 1],
                      lambda r: r["pipeline_ner_docs_s"]) for v in ("before", "after")}
    for count, variant in dict.fromkeys((r["workers"], r["variant"]) for r in results):
        runs = [r for r in results if r["workers"] == count and r["variant"] == variant]
        whole = _median(runs, lambda r: r["pipeline_ner_docs_s"])
        table.add_row(str(count), variant, str(len(runs)),
                      f"{_median(runs, lambda r: r['peak_rss_mb_worker']):.0f} / "
                      f"{_median(runs, lambda r: r['peak_rss_mb_ner']):.0f}",
                      f"{_median(runs, lambda r: max(r['ready_s'])):.1f}",
                      f"{_median(runs, lambda r: r['loop_ms_per_article']):.2f}",
                      f"{whole:.2f}", f"{whole / one[variant]:.2f}×" if one[variant] else "—",
                      f"{_median(runs, lambda r: r['ratio_pipeline_to_bare']):.3f}")
    return table
