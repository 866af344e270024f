"""Labelled sets and clustering scores for bench/stories.py.

ECB+ (Cybulska & Vossen, LREC 2014; CC BY 3.0, NewsReader project; copy in github.com/tommasoc80/EventStoryLine,
folder `ECB+_LREC2014/ECB+`): 43 topics, each two look-alike events, the documents `<t>_<n>ecb.xml` about one
and `<t>_<n>ecbplus.xml` about the other; gold story = topic + sub-topic. Only the topics asked for are read.
`--data` is either a git directory of that repository (what `fetch` / `git clone --bare` gives) or a directory
holding the topic folders (`ECB+.zip` unpacked).

The multilingual set (bench/fixtures/stories_multilingual.jsonl, written for this bench): 10 events in pairs of
look-alikes (two earthquakes, two central-bank decisions, two derailments, two wildfires, two elections),
each told once in en, fr, de, es, pl and ru.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ECB = Path("/work/.mirror/tommasoc80+EventStoryLine/repo")
ECB_FOLDER = "ECB+_LREC2014/ECB+"
MULTILINGUAL = ROOT / "bench" / "fixtures" / "stories_multilingual.jsonl"
_NO_SPACE_BEFORE = re.compile(r" ([.,;:!?%)\]'’]|n't|'s|'re|'ll|'ve|'d|'m)")


def parse_topics(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


class _Source:
    """Reads ECB+ files from a git directory or a plain directory."""

    def __init__(self, data: Path):
        self.data = data
        self.git = (data / "HEAD").exists() and (data / "objects").exists()

    def names(self, topic: int) -> list[str]:
        if self.git:
            out = subprocess.run(["git", "--git-dir", str(self.data), "ls-tree", "--name-only", "HEAD",
                                  f"{ECB_FOLDER}/{topic}/"], capture_output=True, text=True, check=True).stdout
            return [Path(line).name for line in out.split()]
        folder = self._folder(topic)
        return sorted(p.name for p in folder.glob("*.xml")) if folder else []

    def _folder(self, topic: int) -> Path | None:
        for candidate in (self.data / ECB_FOLDER / str(topic), self.data / str(topic)):
            if candidate.is_dir():
                return candidate
        return None

    def read(self, topic: int, name: str) -> bytes:
        if self.git:
            return subprocess.run(["git", "--git-dir", str(self.data), "show", f"HEAD:{ECB_FOLDER}/{topic}/{name}"],
                                  capture_output=True, check=True).stdout
        return (self._folder(topic) / name).read_bytes()


def _detokenise(tokens: Iterable[str]) -> str:
    text = " ".join(tokens).replace("`` ", '"').replace(" ''", '"').replace("( ", "(")
    return _NO_SPACE_BEFORE.sub(r"\1", text)


def ecb_documents(data: Path, topics: list[int]) -> list[dict]:
    """One record per document of the given topics: id, title (first sentence), text (the rest), gold."""
    source = _Source(data)
    docs = []
    for topic in topics:
        for name in source.names(topic):
            if not name.endswith(".xml"):
                continue
            root = ElementTree.fromstring(source.read(topic, name))
            sentences: dict[int, list[str]] = defaultdict(list)
            for token in root.iter("token"):
                sentences[int(token.get("sentence"))].append(token.text or "")
            lines = [_detokenise(sentences[s]) for s in sorted(sentences)]
            sub = "ecbplus" if name.endswith("ecbplus.xml") else "ecb"
            docs.append({"id": f"ecb-{name[:-4]}", "title": lines[0], "text": "\n".join(lines[1:]) or lines[0],
                         "language": {"code": "en"}, "source": f"ecb-{topic}", "gold": f"{topic}/{sub}"})
    return docs


def multilingual_documents(path: Path = MULTILINGUAL) -> list[dict]:
    docs = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        docs.append({"id": f"ml-{i}-{row['lang']}", "title": row["title"], "text": row["text"],
                     "language": {"code": row["lang"]}, "source": row["source"], "gold": row["event"]})
    return docs


def bcubed(gold: dict[str, str], found: dict[str, str]) -> tuple[float, float, float]:
    by_gold, by_found = Counter(gold.values()), Counter(found.values())
    both = Counter((gold[d], found[d]) for d in gold)
    p = sum(n * n / by_found[f] for (g, f), n in both.items()) / len(gold)
    r = sum(n * n / by_gold[g] for (g, f), n in both.items()) / len(gold)
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def pairwise(gold: dict[str, str], found: dict[str, str]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(gold), 2):
        same_gold, same_found = gold[a] == gold[b], found[a] == found[b]
        tp += same_gold and same_found
        fp += same_found and not same_gold
        fn += same_gold and not same_found
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return p, r, 2 * p * r / (p + r) if p + r else 0.0
