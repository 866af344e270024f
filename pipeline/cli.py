"""The `newsfeed` command: run, worker, broker, replay, tail, topics, languages, detect, bench."""

from __future__ import annotations

import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import List, Optional

import orjson
import typer
from rich.console import Console
from rich.table import Table

from . import config as config_mod
from .broker import EmbeddedBroker, broker_address
from .kafka_io import with_broker_retry
from .topics import TOPICS
from .topics import create_topics as _create_topics

cli = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="newsfeed: stream news articles through language detection, deduplication and NER.")
console = Console(stderr=True)
out = Console()

PATHS = typer.Argument(None, help="files or directories (.txt, .jsonl, RSS/Atom); default: seeds/")
REPEAT = typer.Option(1, "--repeat", min=1, help="send everything N times; copies get new ids, same content")
LIMIT = typer.Option(None, "--limit", min=1, help="send at most N messages")
RATE = typer.Option(None, "--rate", min=0.1, help="messages per second (default: as fast as possible)")


def _settings() -> config_mod.Settings:
    try:
        return config_mod.load()
    except ValueError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2)


def create_topics(settings: config_mod.Settings, address: str) -> list[str]:
    try:
        return with_broker_retry("topics", lambda: _create_topics(settings, address), settings.broker_wait,
                                 log=lambda m: console.print(f"[yellow]{m}[/yellow]"))
    except ConnectionError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(3)


def _require_broker(settings: config_mod.Settings) -> str:
    if not settings.broker:
        console.print("[red]NEWSFEED_BROKER is not set.[/red] Start one with `newsfeed broker` and export the "
                      "address it prints, or point it at a Kafka cluster.")
        raise typer.Exit(2)
    return settings.broker


@cli.command()
def broker(port: int = typer.Option(9092, help="port on 127.0.0.1 (0: any free port)")) -> None:
    """Run the embedded broker (Tansu, memory storage, loopback only) in the foreground."""
    settings = _settings()
    b = EmbeddedBroker(port=port or None).start()
    create_topics(settings, b.address)
    out.print(f"newsfeed broker listening on {b.address} (loopback only, memory storage)")
    out.print(f"export NEWSFEED_BROKER={b.address}", highlight=False)
    stop = {"now": False}
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.update(now=True))
    try:
        while not stop["now"] and b.process and b.process.poll() is None:
            time.sleep(0.2)
    finally:
        b.stop()


@cli.command()
def topics() -> None:
    """Create the newsfeed topics (idempotent) and list them."""
    settings = _settings()
    created = create_topics(settings, _require_broker(settings))
    for name, what in TOPICS.items():
        mark = "created" if settings.topic(name) in created else "exists"
        out.print(f"{settings.topic(name):32} {mark:8} {what}", highlight=False)


@cli.command()
def worker(loglevel: str = typer.Option("warning", "--loglevel", "-l")) -> None:
    """Run the stream workers (the stages in NEWSFEED_STAGES). Starts an embedded broker when none is set."""
    settings = _settings()
    with broker_address(settings.broker) as address:
        create_topics(settings, address)
        os.environ["NEWSFEED_BROKER"] = address
        from workers.app import app, shutdown_children

        sys.argv = ["newsfeed-worker", "worker", "-l", loglevel, "--without-web"]
        code = 0
        try:
            app.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            # Faust has committed and flushed by now; a NER thread still busy with a batch it no longer
            # owns (handed back uncommitted) must not hold the exit for its whole duration.
            shutdown_children()
            sys.stdout.flush()
            sys.stderr.flush()
    os._exit(code)


@cli.command()
def replay(paths: Optional[List[Path]] = PATHS, repeat: int = REPEAT, limit: Optional[int] = LIMIT,
           rate: Optional[float] = RATE,
           synthesize: Optional[int] = typer.Option(None, "--synthesize", min=1,
                                                    help="send N synthetic articles built from the seed texts"),
           mix: str = typer.Option("unique=0.8,exact=0.1,near=0.1", help="with --synthesize: share of each kind"),
           seed: int = typer.Option(0, help="with --synthesize: random seed (same seed, same articles)"),
           truth: Path = typer.Option(Path("out/truth.jsonl"), help="with --synthesize: where the ground truth goes"),
           from_deadletter: Optional[Path] = typer.Option(
               None, "--from-deadletter", help="re-send the original payloads of a deadletter.jsonl (after a fix)")) -> None:
    """Send article files (or synthetic articles, or dead letters) to the raw topic."""
    from . import replay as rp

    settings = _settings()
    address = _require_broker(settings)
    create_topics(settings, address)
    if synthesize:
        result = _replay_synthetic(synthesize, mix, seed, truth, paths, rate, address, settings)
    elif from_deadletter:
        source = rp.from_deadletter(from_deadletter)
        result = rp.replay(source, address, settings, rate=rate, total=len(source), progress=sys.stderr.isatty())
    else:
        result = _replay(rp, paths, repeat, limit, rate, address, settings)
    out.print(f"sent {result.sent}, failed {result.failed}, {result.rate:.1f} msg/s")
    for error in result.errors[:10]:
        console.print(f"[red]{error}[/red]")
    raise typer.Exit(1 if result.failed else 0)


def _replay_synthetic(n, mix, seed, truth, paths, rate, address, settings):
    from .replay import Item, replay as send
    from .synth import synthesize

    try:
        syn = synthesize(n, (paths or [Path("seeds")])[0], mix=mix, seed=seed)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2)
    truth.parent.mkdir(parents=True, exist_ok=True)
    truth.write_bytes(b"".join(orjson.dumps({"id": k, **v}) + b"\n" for k, v in syn.truth.items()))
    console.print(f"ground truth -> {truth}")
    return send([Item(key=a["id"], article=a) for a in syn.articles], address, settings, rate=rate,
                total=n, progress=sys.stderr.isatty())


def _replay(rp, paths, repeat, limit, rate, address, settings):
    try:
        source = list(rp.items(paths or [Path("seeds")], repeat=repeat, limit=limit))
    except (FileNotFoundError, OSError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2)
    return rp.replay(source, address, settings, rate=rate, total=len(source), progress=sys.stderr.isatty())


@cli.command()
def run(paths: Optional[List[Path]] = PATHS, repeat: int = REPEAT, limit: Optional[int] = LIMIT,
        rate: Optional[float] = RATE,
        output: Path = typer.Option(None, "--output", "-o", help="output directory (default: NEWSFEED_OUTPUT_DIR or out/)"),
        timeout: float = typer.Option(600, help="give up when articles have no outcome after this many seconds")) -> None:
    """The main job: broker (embedded unless configured) + worker + replay, until every article has an outcome."""
    from . import replay as rp
    from .outcomes import collect
    from .processes import start_worker, stop_workers

    started = time.monotonic()
    settings = _settings()
    output = output or settings.output_dir
    output.mkdir(parents=True, exist_ok=True)
    with broker_address(settings.broker) as address:
        create_topics(settings, address)
        env = {**os.environ, "NEWSFEED_BROKER": address, "NEWSFEED_OUTPUT_DIR": str(output)}
        log_path = output / "worker.log"
        proc = start_worker(env, log_path)
        startup = _StartupWatch(log_path, time.monotonic())
        startup.start()
        try:
            result = _replay(rp, paths, repeat, limit, rate, address, settings)
            try:
                outcomes = collect(address, settings, set(result.keys), timeout, alive=lambda: proc.poll() is None)
            except (TimeoutError, RuntimeError) as exc:
                console.print(f"[red]{exc}[/red] (worker log: {log_path})")
                raise typer.Exit(1)
        finally:
            stop_workers([proc], grace=20)
    elapsed = time.monotonic() - started
    _summary(result, outcomes, elapsed, output, startup)
    raise typer.Exit(1 if result.failed else 0)


class _StartupWatch:
    """Reads the worker log as it grows: when models were loaded and when the worker joined its group."""

    def __init__(self, log_path: Path, since: float):
        import threading

        self.log_path, self.since = log_path, since
        self.seen: dict[str, float] = {}
        self._thread = threading.Thread(target=self._watch, daemon=True)

    MARKS = {"language models loaded": "language models", "NER models loaded": "NER models",
             "Joined group": "group joined", "Worker ready": "worker ready"}

    def start(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        deadline = time.monotonic() + 600
        while len(self.seen) < len(self.MARKS) and time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            for needle, name in self.MARKS.items():
                if needle in text and name not in self.seen:
                    self.seen[name] = time.monotonic() - self.since
            time.sleep(0.05)


def _summary(result, outcomes, elapsed: float, output: Path, startup: _StartupWatch | None = None) -> None:
    enriched = list(outcomes.records["enriched"].values())
    duplicates = list(outcomes.records["duplicates"].values())
    letters = list(outcomes.records["deadletter"].values())
    table = Table(title="newsfeed run")
    table.add_column("what")
    table.add_column("count / value", justify="right")
    table.add_row("articles in (replayed)", str(result.sent))
    if result.failed:
        table.add_row("[red]failed to send[/red]", str(result.failed))
    table.add_row("enriched (unique)", str(len(enriched)))
    exact = sum(1 for d in duplicates if d["dedup"]["status"] == "exact")
    table.add_row("duplicates: exact / near", f"{exact} / {len(duplicates) - exact}")
    table.add_row("dead letters", str(len(letters)))
    for stage in ("language", "dedup", "entities"):
        times = [r["timings"].get(f"{stage}_ms") for r in enriched + duplicates]
        times = [t for t in times if t is not None]
        if times:
            table.add_row(f"stage {stage}: median ms / article", f"{statistics.median(times):.2f}")
    languages = {}
    for r in enriched:
        languages[r["language"]["code"]] = languages.get(r["language"]["code"], 0) + 1
    table.add_row("languages", ", ".join(f"{k}={v}" for k, v in sorted(languages.items())) or "-")
    table.add_row("entities found", str(sum(len(r["entities"]) for r in enriched)))
    table.add_row("elapsed (incl. start-up)", f"{elapsed:.1f} s")
    if startup and startup.seen:
        marks = ", ".join(f"{name} {at:.1f}s" for name, at in sorted(startup.seen.items(), key=lambda kv: kv[1]))
        table.add_row("start-up timeline (since launch)", marks)
    table.add_row("throughput", f"{result.sent / elapsed:.2f} docs/s")
    out.print(table)
    for kind in ("enriched", "duplicates", "deadletter"):
        path = output / f"{kind}.jsonl"
        if path.exists():
            out.print(f"{kind:10} -> {path}", highlight=False)


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
                                     "articles) or 'short' (~2,000 chars)")) -> None:
    """Run the pipeline on a synthetic load and report throughput, latency, resources, dedup quality and
    the ratio to bare spaCy measured in the same run."""
    from .bench import chart, run_bench

    try:
        counts = [int(w) for w in workers.split(",") if w.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        console.print(f"[red]--workers:[/red] expected a count or a list of counts like 1,2; got {workers!r}")
        raise typer.Exit(2)
    settings = _settings()
    results = []
    for count in counts:
        result = run_bench(settings, n, mix, seed, count, rate, output, Path("seeds"), pin_ner=pin_ner,
                           length=length)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        json_path, png_path = output / f"bench-{stamp}-w{count}.json", output / f"bench-{stamp}-w{count}.png"
        chart(result, png_path)
        timeline = result.pop("timeline")
        json_path.write_bytes(orjson.dumps({**result, "timeline": timeline}, option=orjson.OPT_INDENT_2))
        out.print(_bench_table(result, f"newsfeed bench — {n} docs ({mix}, {length} length, "
                                       f"~{result['mean_chars']} chars), {count} worker(s), rate {rate or 'max'}"
                                       f"{', NER pinned' if pin_ner else ''}"))
        out.print(f"json -> {json_path}\nchart -> {png_path}", highlight=False)
        results.append(result)
    if len(results) > 1:
        out.print(_scaling_table(results))


def _bench_table(result: dict, title: str) -> Table:
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("start-up (model load + group join)", f"{result['startup_s']} s"),
        ("end-to-end", f"{result['end_to_end_docs_s']} docs/s ({result['docs']} docs in {result['wall_s']} s)"),
        ("outcomes", f"{result['enriched']} enriched, {result['duplicates']} duplicates, "
                     f"{result['dead_letters']} dead letters"),
    ]
    for stage, st in result["stages"].items():
        rows.append((f"stage {stage}", f"{st['docs_s_per_process']} docs/s/process, {st['time_share']:.1%} of stage time"))
    lat = result["latency_s"]
    rows.append(("latency produce→sink p50 / p95 / p99", f"{lat['p50']} / {lat['p95']} / {lat['p99']} s"))
    for name, proc in result["processes"].items():
        rows.append((f"{name}", f"{proc['cpu_util']:.2f} cores, peak RSS {proc['peak_rss_mb']} MB"))
    d = result["dedup"]
    rows.append(("dedup precision / recall", f"{d['precision']:.4f} / {d['recall']:.4f} (fp {d['fp']}, fn {d['fn']})"))
    rows.append(("pipeline NER docs/s (unique docs / wall)", f"{result['pipeline_ner_docs_s']}"))
    before, after = result["bare_spacy_before_after"]
    rows.append((f"bare spaCy nlp.pipe docs/s ({result['bare_processes']} process(es)), mean of before / after",
                 f"{result['bare_spacy_docs_s']} ({before} / {after})"))
    rows.append(("ratio pipeline ÷ bare (whole run)", f"{result['ratio_pipeline_to_bare']:.3f}"))
    if "steady_ner_docs_s" in result:
        rows.append(("pipeline NER docs/s, steady state (p10–p90 of outputs)", f"{result['steady_ner_docs_s']}"))
        rows.append(("ratio pipeline ÷ bare (steady state)", f"{result['steady_ratio_pipeline_to_bare']:.3f}"))
    for row in rows:
        table.add_row(*row)
    return table


def _scaling_table(results: list[dict]) -> Table:
    """Each worker count against the first one listed; a count listed more than once (1,2,1,2) counts
    with the median of its runs, which evens out a shared machine's drift."""
    by_count: dict[int, list[dict]] = {}
    for r in results:
        by_count.setdefault(r["workers"], []).append(r)

    def median(runs: list[dict], key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key)]
        return statistics.median(values) if values else None

    rows = {c: {k: median(runs, k) for k in ("pipeline_ner_docs_s", "steady_ner_docs_s", "bare_spacy_docs_s")}
            for c, runs in by_count.items()}
    base = rows[results[0]["workers"]]
    table = Table(title=f"scaling against {results[0]['workers']} worker(s): runs back to back in this command"
                        + (", medians of repeated counts" if len(by_count) < len(results) else ""))
    for column in ("workers", "runs", "NER docs/s whole / steady", "speed-up whole / steady", "bare docs/s",
                   "bare speed-up", "ratio to bare whole / steady"):
        table.add_column(column, justify="right")

    def fmt(x: float | None, suffix: str = "", digits: int = 2) -> str:
        return "—" if x is None else f"{x:.{digits}f}{suffix}"

    for count, row in rows.items():
        whole, steady, bare = row["pipeline_ner_docs_s"], row["steady_ner_docs_s"], row["bare_spacy_docs_s"]
        table.add_row(str(count), str(len(by_count[count])), f"{fmt(whole)} / {fmt(steady)}",
                      f"{fmt(whole / base['pipeline_ner_docs_s'], '×')} / "
                      f"{fmt(steady / base['steady_ner_docs_s'] if steady and base['steady_ner_docs_s'] else None, '×')}",
                      fmt(bare), fmt(bare / base["bare_spacy_docs_s"], "×"),
                      f"{fmt(whole / bare, digits=3)} / {fmt(steady / bare if steady else None, digits=3)}")
    return table


@cli.command()
def tail(topic: str = typer.Option("enriched", "--topic", "-t", help="topic name, with or without the prefix"),
         from_beginning: bool = typer.Option(False, "--from-beginning"),
         max_messages: Optional[int] = typer.Option(None, "--max", min=1),
         group: Optional[str] = typer.Option(None, "--group", help="consumer group (default: a new one)")) -> None:
    """Print records from a topic as JSON lines: the example consumer for other services."""
    import uuid

    from kafka import KafkaConsumer

    settings = _settings()
    name = topic if topic.startswith(settings.topic_prefix) else settings.topic(topic)
    consumer = KafkaConsumer(
        name, bootstrap_servers=_require_broker(settings), group_id=group or f"newsfeed-tail-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest" if from_beginning else "latest", enable_auto_commit=True,
        session_timeout_ms=int(settings.session_timeout * 1000),
        heartbeat_interval_ms=int(settings.session_timeout * 1000 / 6), **settings.kafka_python_security())
    count = 0
    try:
        for message in consumer:
            sys.stdout.buffer.write((message.value or b"") + b"\n")
            sys.stdout.flush()
            count += 1
            if max_messages and count >= max_messages:
                break
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


@cli.command()
def languages() -> None:
    """List the languages the detector supports (ISO 639-1, or 639-3 where there is no 639-1 code)."""
    from .language import LanguageDetector

    supported = LanguageDetector.supported()
    for lang in supported:
        out.print(f"{lang['code']}\t{lang['name']}", highlight=False)
    console.print(f"{len(supported)} languages")


@cli.command()
def detect() -> None:
    """Detect the language of each line on stdin; print one JSON result per line."""
    from .language import LanguageDetector

    settings = _settings()
    detector = LanguageDetector.from_settings(settings)
    for line in sys.stdin:
        sys.stdout.buffer.write(orjson.dumps(detector.detect(line.rstrip("\n"))) + b"\n")
    sys.stdout.flush()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
