"""Extraction quality of the poller's page extractor on trafilatura's own evaluation set, scored exactly as
trafilatura scores itself (tests/eval_common.py: per document, the annotated text segments that must appear
in the output ("with") and the boilerplate that must not ("without"), matched after whitespace normalisation).

Data: trafilatura's repository (Apache-2.0, https://github.com/adbar/trafilatura), not kept here (~150 MB):
    .venv/bin/python bench/extraction.py --download          # fetches the pinned commit's tests/ into bench/data/
    .venv/bin/python bench/extraction.py --data DIR          # DIR: a trafilatura checkout's tests/ directory
Prints precision, recall, accuracy and F1 of `pipeline.feeds.extract.extract_page` (what the poller runs),
of `trafilatura.extract` with the benchmark's own settings on this machine, and trafilatura's published figures.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMMIT = "e90b0ef51ab026fdb905fb6c5b3c84dd3d784fd5"   # adbar/trafilatura master of the docs' 2026-08-04 results; the set the figures below come from
DATA = ROOT / "bench" / "data" / "trafilatura-eval"
# docs/evaluation.rst, "Results (2026-08-04)": 990 documents, trafilatura 2.2.0 (standard)
PUBLISHED = {"precision": 0.906, "recall": 0.943, "accuracy": 0.923, "f1": 0.924}


def download(commit: str, target: Path) -> Path:
    """The repository's tests/evaldata.json, tests/eval/, tests/cache/ and LICENSE from GitHub's tarball."""
    url = f"https://codeload.github.com/adbar/trafilatura/tar.gz/{commit}"
    print(f"downloading {url} ...", file=sys.stderr)
    with urllib.request.urlopen(url, timeout=600) as response:
        data = response.read()
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.split("/", 1)[-1]
            if member.isfile() and (name == "LICENSE" or name == "tests/evaldata.json"
                                    or name.startswith(("tests/eval/", "tests/cache/"))):
                member.name = name
                tar.extract(member, target, filter="data")
    return target / "tests"


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def count(item: dict, result: str | None) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) for one document, as trafilatura's eval_common.count_item."""
    text = norm(result) if isinstance(result, str) else ""
    tp = sum(1 for w in item["with"] if text and norm(w) in text)
    fp = sum(1 for w in item["without"] if text and norm(w) in text)
    return tp, fp, len(item["with"]) - tp, len(item["without"]) - fp


def scores(tp: int, fp: int, fn: int, tn: int) -> dict[str, float]:
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return {"precision": precision, "recall": recall, "accuracy": (tp + tn) / (tp + fp + fn + tn),
            "f1": 2 * precision * recall / (precision + recall)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="a trafilatura checkout's tests/ directory")
    parser.add_argument("--download", action="store_true", help=f"fetch the evaluation set into {DATA}")
    parser.add_argument("--limit", type=int, help="first N documents only")
    args = parser.parse_args()
    from trafilatura import __version__, extract

    from pipeline.feeds.extract import extract_page

    here = args.data or (download(COMMIT, DATA) if args.download else DATA / "tests")
    if not (here / "evaldata.json").exists():
        sys.exit(f"no evaluation set at {here}: run with --download, or --data a trafilatura checkout's tests/")
    evaldata = json.loads((here / "evaldata.json").read_text("utf-8"))
    runners = {
        "newsfeed extract_page (the poller)": lambda html, url: getattr(extract_page(html, url), "text", None),
        f"trafilatura {__version__} extract(), benchmark settings": lambda html, url: extract(
            html, url=url, include_comments=False, include_tables=True, include_formatting=False),
    }
    totals = {name: [0, 0, 0, 0] for name in runners}
    seconds = {name: 0.0 for name in runners}
    docs = 0
    for url in sorted(evaldata)[:args.limit]:
        item = evaldata[url]
        path = next((here / sub / item["file"] for sub in ("cache", "eval") if (here / sub / item["file"]).is_file()), None)
        if path is None:
            continue
        html = path.read_bytes()
        docs += 1
        for name, run in runners.items():
            started = time.process_time()
            try:
                result = run(html, url)
            except Exception:  # a crash is a full miss, as in trafilatura's own evaluation
                result = None
            seconds[name] += time.process_time() - started
            for i, n in enumerate(count(item, result)):
                totals[name][i] += n
    segments = sum(totals[next(iter(totals))][i] for i in (0, 2)), sum(totals[next(iter(totals))][i] for i in (1, 3))
    print(f"{docs} documents, {segments[0]} text & {segments[1]} boilerplate segments (trafilatura evaluation set, "
          f"{COMMIT[:8] if not args.data else here})")
    print(f"{'extractor':55} {'precision':>9} {'recall':>7} {'accuracy':>8} {'F1':>6} {'CPU ms/doc':>10}")
    for name, counts in totals.items():
        s = scores(*counts)
        print(f"{name:55} {s['precision']:9.3f} {s['recall']:7.3f} {s['accuracy']:8.3f} {s['f1']:6.3f} "
              f"{1000 * seconds[name] / max(docs, 1):10.1f}")
    p = PUBLISHED
    print(f"{'published: trafilatura 2.2.0 (standard), 990 docs':55} {p['precision']:9.3f} {p['recall']:7.3f} "
          f"{p['accuracy']:8.3f} {p['f1']:6.3f} {'':>10}")


if __name__ == "__main__":
    main()
