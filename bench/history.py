"""What a long history costs a worker's start: the sinks' opening (JsonlFiles and the first write of each
output, as a worker's first records do) in a fresh process, with 1 M articles of history in out/ next to
an empty out/, measured in the same run.

    flock /tmp/newsfeed-heavy.lock .venv/bin/python bench/history.py [--articles 1000000] [--dir /tmp/x]

Cases: `empty`; `legacy` (one big enriched.jsonl and duplicates.jsonl, as versions before rotation wrote:
the first start takes them over); `rotated` (the same directory started again, now in rotated files).
Goal (issue 28): within 3 s and 150 MB of peak memory of the empty start.

With `--state-entries N` (default 1000000; 0 skips it) it also writes N dedup-index entries spread over 30
days into one partition of an embedded broker (or `--broker`), with a snapshot cut `--state-tail` entries
before the end, and rebuilds the dedup index as a worker does on assignment: from the snapshot and the
entries after it, next to reading the log's window (retention + grace) as versions before did.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.tools.history import write_history  # noqa: E402

# a fresh interpreter per case: what a worker process pays, measured by itself (ru_maxrss is a peak)
# peak RSS from VmHWM: ru_maxrss would start at the parent's peak (kept across fork and exec)
HIGH_WATER = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024"
OPEN_SINKS = """
import sys, time
from pathlib import Path
from pipeline.config import load
from pipeline.writers.jsonl import JsonlFiles
from pipeline.writers.rotation import RotationPolicy
from pipeline.contracts.deadletter import letter_key
import orjson
before = """ + HIGH_WATER + """
started = time.monotonic()
files = JsonlFiles(Path(sys.argv[1]), RotationPolicy.from_settings(load()))
wrote = [files.write(name, {"id": "bench-new-" + name}, **kw) for name, kw in
         (("enriched.jsonl", {}), ("duplicates.jsonl", {}), ("deadletter.jsonl", {"key": lambda r: r["id"]}))]
elapsed = time.monotonic() - started
peak = """ + HIGH_WATER + """
print(orjson.dumps({"seconds": elapsed, "peak_mb": peak, "extra_mb": peak - before,
                    "wrote": wrote}).decode())
"""


def open_sinks(directory: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", OPEN_SINKS, str(directory)], cwd=ROOT, capture_output=True,
                            text=True, check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return orjson.loads(result.stdout.strip().splitlines()[-1])


REBUILD = """
import sys, time
import orjson
from pipeline.config import load
from pipeline.kafka.state import load_dedup_index
settings = load()
started = time.monotonic()
rebuilt = load_dedup_index(settings, 0, use_snapshot=sys.argv[1] == "snapshot", timeout=600)
seconds, peak = time.monotonic() - started, """ + HIGH_WATER + """
blob_mb = None
if sys.argv[1] == "cut":   # what a worker does when it cuts a snapshot: encode the index, write its chunks
    from kafka import KafkaProducer
    from pipeline.kafka.snapshots import chunk_records
    from pipeline.stages.dedup.snapshot import encode
    blob = encode(rebuilt.index)
    producer = KafkaProducer(bootstrap_servers=settings.broker, acks="all", max_request_size=2 << 20)
    for key, value in chunk_records(blob, rebuilt.end, time.time()):
        producer.send(settings.topic("dedup-snapshot"), key=key, value=value, partition=0).get(timeout=60)
    producer.close()
    blob_mb = len(blob) / 1e6
print(orjson.dumps({"seconds": seconds, "entries": len(rebuilt.index), "read": rebuilt.read, "peak_mb": peak,
                    "covers": rebuilt.snapshot_covers, "end": rebuilt.end, "blob_mb": blob_mb}).decode())
"""


def write_index_log(address: str, topic: str, entries: int, first: int, stop: int, days: int = 30) -> None:
    """Entries [first, stop) of `entries` dedup-index entries (random signatures, as unrelated articles have),
    stamped evenly over the last `days` days, message timestamps = article times, as a worker running all
    along would have written."""
    import numpy as np
    from kafka import KafkaProducer

    from pipeline.stages.dedup.index import ALGORITHM

    producer = KafkaProducer(bootstrap_servers=address, linger_ms=50, batch_size=1 << 20, acks=1)
    rng, now = np.random.default_rng(7 + first), time.time()
    for block in range(first, stop, 10_000):
        sigs = rng.integers(0, 2**32, size=(min(10_000, stop - block), 128), dtype=np.uint32)
        for n, sig in enumerate(sigs, start=block):
            ts = now - days * 86400 * (1 - n / entries)
            producer.send(topic, key=b"fr", partition=0, timestamp_ms=int(ts * 1000), value=orjson.dumps(
                {"id": f"history-{n:08d}", "exact": f"{n:016x}", "sig": sig, "n": 400, "ts": ts,
                 "indexed_at": ts, "algo": ALGORITHM}, option=orjson.OPT_SERIALIZE_NUMPY))
    producer.flush()
    producer.close()


def rebuild(address: str, prefix: str, how: str) -> dict:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "NEWSFEED_BROKER": address,
           "NEWSFEED_TOPIC_PREFIX": prefix}
    result = subprocess.run([sys.executable, "-c", REBUILD, how], cwd=ROOT, capture_output=True, text=True,
                            check=True, env=env)
    return orjson.loads(result.stdout.strip().splitlines()[-1])


def state_bench(entries: int, tail: int, broker: str | None) -> None:
    """The log minus its last `tail` entries is written, a snapshot cut on it as a worker cuts one, the tail
    written after it (a snapshot is cut every NEWSFEED_DEDUP_SNAPSHOT_ENTRIES, 20,000: the longest tail a
    rebuild reads); then the index is rebuilt both ways, each in a fresh process."""
    from kafka.admin import KafkaAdminClient, NewTopic

    from pipeline.kafka.engines.tansu import EmbeddedBroker

    own = None if broker else EmbeddedBroker().start()
    address, prefix = broker or own.address, f"history{int(time.time())}."
    try:
        admin = KafkaAdminClient(bootstrap_servers=address)
        admin.create_topics([NewTopic(f"{prefix}{name}", 1, 1) for name in ("dedup-index", "dedup-snapshot")])
        admin.close()
        started = time.monotonic()
        write_index_log(address, f"{prefix}dedup-index", entries, 0, entries - tail)
        written = time.monotonic() - started
        cut = rebuild(address, prefix, "cut")
        started = time.monotonic()
        write_index_log(address, f"{prefix}dedup-index", entries, entries - tail, entries)
        print(f"\ndedup-index: {entries} entries over 30 days written in {written + time.monotonic() - started:.0f}s "
              f"({'embedded Tansu' if own else address}); a snapshot cut at offset {cut['end']} "
              f"({cut['entries']} entries, {cut['blob_mb']:.0f} MB), {tail} entries after it")
        rows = [("window: 7 days + 1 h of the log (before)", rebuild(address, prefix, "window")),
                ("snapshot + the entries after it (now)", rebuild(address, prefix, "snapshot"))]
        print(f"{'dedup index rebuild':42} {'seconds':>8} {'log records read':>17} {'entries kept':>13} {'peak RSS':>9}")
        for name, row in rows:
            print(f"{name:42} {row['seconds']:>8.1f} {row['read']:>17} {row['entries']:>13} {row['peak_mb']:>6.0f} MB")
    finally:
        if own:
            own.stop()


def _tail(path: Path, size: int = 200_000) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - size))
            return f.read()
    except FileNotFoundError:
        return b""


def first_article(address: str, output: Path) -> dict:
    """A real `newsfeed worker` on `output`: seconds from launch until one new article is in enriched.jsonl,
    and the worker's peak RSS meanwhile (NER off: a model that is not installed, so models do not blur it)."""
    from kafka import KafkaProducer

    from pipeline.config import load
    from pipeline.contracts.records import raw_article
    from pipeline.kafka.topics import create_topics
    from pipeline.tools.bench import ProcessMonitor
    from pipeline.tools.processes import start_worker, stop_workers

    prefix = f"w{time.monotonic_ns() % 10**9}."
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEWSFEED_BROKER": address,
           "NEWSFEED_TOPIC_PREFIX": prefix, "NEWSFEED_APP_ID": f"history-{prefix[:-1]}",
           "NEWSFEED_OUTPUT_DIR": str(output), "NEWSFEED_NER_MODELS": "fr=newsfeed_bench_no_such_model,en=none",
           "NEWSFEED_NER_PROCESSES": "0"}
    os.environ.update({"NEWSFEED_TOPIC_PREFIX": prefix})
    create_topics(load(), address)
    article_id = f"new-{prefix[:-1]}"
    producer = KafkaProducer(bootstrap_servers=address)
    producer.send(f"{prefix}raw", orjson.dumps(raw_article(id=article_id, source="bench", text=(
        "Le gouvernement a présenté mardi un nouveau projet de loi sur l'énergie. " * 20))))
    producer.flush()
    producer.close()
    started, log = time.monotonic(), output.parent / f"{output.name}-worker.log"
    worker = start_worker(env, log, cwd=ROOT)
    monitor = ProcessMonitor({"worker": worker.pid})
    monitor.start()
    try:
        while article_id.encode() not in _tail(output / "enriched.jsonl"):
            if worker.poll() is not None or time.monotonic() - started > 300:
                raise RuntimeError(f"the worker did not write the article; see {log}")
            time.sleep(0.05)
        seconds = time.monotonic() - started
    finally:
        monitor.stop()
        stop_workers([worker])
    return {"seconds": seconds, "peak_mb": monitor.peak_rss["worker"] / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the history (default: a temp dir)")
    parser.add_argument("--state-entries", type=int, default=1_000_000)
    parser.add_argument("--state-tail", type=int, default=20_000, help="dedup-index entries after the snapshot")
    parser.add_argument("--worker", action="store_true", help="also start a real worker on each directory")
    parser.add_argument("--broker", default=None, help="a Kafka to use for the state part (default: embedded Tansu)")
    args = parser.parse_args()
    if args.state_entries:
        state_bench(args.state_entries, args.state_tail, args.broker)
    if not args.articles:
        return
    base = args.dir or Path(tempfile.mkdtemp(prefix="newsfeed-history-"))
    empty, history = base / "empty", base / "history"
    try:
        empty.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        sizes = write_history(history, args.articles)
        print(f"history: {args.articles} articles, " + ", ".join(f"{k} {v / 1e9:.2f} GB" for k, v in sizes.items())
              + f", written in {time.monotonic() - started:.0f}s")
        if args.worker:
            from pipeline.kafka.engines.tansu import EmbeddedBroker

            with EmbeddedBroker() as own:   # first, so the worker takes over the one big file
                workers = [("worker, empty out/", first_article(own.address, empty)),
                           (f"worker, {args.articles} articles (one big file)", first_article(own.address, history))]
            print(f"\n{'a real worker: launch to first article written':52} {'seconds':>8} {'peak RSS':>9}")
            for name, row in workers:
                print(f"{name:52} {row['seconds']:>8.2f} {row['peak_mb']:>6.0f} MB")
        rows = [("empty out/", open_sinks(empty))]
        if not args.worker:   # the worker took the big file over already
            rows.append((f"{args.articles} articles, one big file (takeover)", open_sinks(history)))
        rows.append((f"{args.articles} articles, rotated (next start)", open_sinks(history)))
        base_row = rows[0][1]
        print(f"\n{'case':48} {'open + first writes':>20} {'peak RSS':>10} {'extra vs empty':>22}")
        for name, row in rows:
            print(f"{name:48} {row['seconds']:>18.3f} s {row['peak_mb']:>7.0f} MB "
                  f"{row['seconds'] - base_row['seconds']:>+8.3f} s {row['peak_mb'] - base_row['peak_mb']:>+8.0f} MB")
        print(f"\nfiles now: {sorted(p.name for p in history.iterdir())[:3]} ... "
              f"({len(list(history.iterdir()))} files)")
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
