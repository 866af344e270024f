"""The soak (issue 28): a 3-broker Apache Kafka cluster, replication 3 for every topic, a steady open-loop load
for 30 minutes (default) with a rolling restart of every broker, a worker SIGKILL (restarted) and a scale-out
during it; then each article once on the topics and in the JSONL, lag back to 0 after each fault, worker RSS
and open files over time (a plot), produce→sink latency before, during and after each fault.

    nice -n 5 .venv/bin/python bench/soak.py [--minutes 30] [--rate 5]

Not in CI (tests/test_soak_e2e.py runs a short one through the same code, pipeline/tools/soak.py). The rate
should stay well under one worker's capacity (`newsfeed bench --engine kafka`: 17.8 docs/s end-to-end on
2026-12-05): the soak is about faults and time, not throughput.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.table import Table  # noqa: E402

from pipeline.cli.bench import show  # noqa: E402
from pipeline.kafka.engines.apache_kafka import KafkaCluster  # noqa: E402
from pipeline.tools import soak_report  # noqa: E402
from pipeline.tools.soak import FAULTS, Soak, say  # noqa: E402


def table(rows: list[tuple[str, ...]], title: str) -> Table:
    made = Table(*rows[0], title=title)
    for row in rows[1:]:
        made.add_row(*row)
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30, help="how long the load runs")
    parser.add_argument("--rate", type=float, default=5, help="articles per second, open loop")
    parser.add_argument("--faults", default="rolling-restart,worker-kill,scale-out",
                        help=f"in order, spread evenly over the run; any of {', '.join(FAULTS)}")
    parser.add_argument("--workers", type=int, default=2, help="workers at the start (scale-out adds one)")
    parser.add_argument("--window", type=float, default=120, help="seconds of latency before and after a fault")
    parser.add_argument("--output", type=Path, default=None, help="the workers' out/ and logs (default: a temp dir)")
    parser.add_argument("--charts", type=Path, default=ROOT / "bench" / "charts")
    args = parser.parse_args()

    output = args.output or Path(tempfile.mkdtemp(prefix="newsfeed-soak-"))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    chart = args.charts / f"soak-{stamp}.png"
    say("starting 3 Kafka brokers")
    with KafkaCluster(nodes=3) as cluster:
        say(f"cluster up at {cluster.address}")
        soak = Soak(cluster, output / "out", rate=args.rate, duration=args.minutes * 60,
                    faults=[f.strip() for f in args.faults.split(",") if f.strip()], workers=args.workers)
        run = soak.run()
        say("stopping the cluster")
    soak_report.plot(run, chart)
    result = soak_report.report(run, args.window, chart)
    (args.charts / f"soak-{stamp}.json").write_text(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    show(table(soak_report.rows(result), "soak: faults, recovery and produce→sink latency"))
    show(table(soak_report.process_rows(result), "soak: processes over time"))
    print(soak_report.summary(result))
    print(f"chart -> {chart}\njson -> {args.charts / f'soak-{stamp}.json'}\noutput and worker logs -> {output}")
    return 0 if result["exactly_once"] and all(f["lag_back_to_0_s"] is not None for f in result["faults"]) else 1


if __name__ == "__main__":
    sys.exit(main())
