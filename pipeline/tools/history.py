"""Write a realistic output directory with a long history, fast: `python -m pipeline.tools.history
--articles 1000000 --output DIR` (about 7.5 kB an enriched record, as the real ones weigh; ~20 % more
duplicates and a few dead letters). `--layout legacy` writes one big file per output, as versions before
rotation did; `--layout rotated` writes closed files of NEWSFEED_OUTPUT_ROTATE_MB each.

Records come from a few dozen templates built from the seed texts (sentences recombined, capitalised words
as entities, real field layout); each line gets its own id, so the sinks' id look-back does real work.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from pathlib import Path

import orjson

from pipeline.tools.synth import sentences
from pipeline.writers.rotation import RotationPolicy, close_current

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
_NAME = re.compile(r"\b[A-ZÀ-Ý][a-zà-ÿ]+(?: [A-ZÀ-Ý][a-zà-ÿ]+)*")


def _enriched_template(rng: random.Random, pool: list[str]) -> dict:
    text = "\n\n".join(" ".join(rng.sample(pool, 6)) for _ in range(6))[:4500]
    entities = [{"text": m.group(), "label": rng.choice(("PER", "ORG", "LOC", "MISC")), "start": m.start(),
                 "end": m.end()} for m in list(_NAME.finditer(text))[:40]]
    return {"schema_version": 1, "id": "", "source": "history", "title": text[:80], "url": None,
            "published_at": "2026-11-01T08:00:00Z", "ingested_at": "2026-11-01T08:00:01.000Z", "text": text,
            "cleaning": {"removed_chars": 0}, "language": {"code": "fr", "confidence": 0.98, "method": "lingua"},
            "dedup": {"status": "unique", "exact_hash": f"{rng.getrandbits(64):016x}"}, "entities": entities,
            "entity_summary": [{"name": e["text"], "label": e["label"], "count": 1} for e in entities[:15]],
            "ner": {"status": "ok", "model": "fr_core_news_md"},
            "trace": {"language": "host:1", "dedup": "host:1", "entities": "host:1", "sink": "host:1"},
            "timings": {"language_ms": 1.2, "dedup_ms": 0.4, "entities_ms": 31.0, "sink_at": "2026-11-01T08:00:02Z"}}


def _duplicate_template(rng: random.Random, pool: list[str]) -> dict:
    return {"schema_version": 1, "id": "", "source": "history", "text": " ".join(rng.sample(pool, 8)),
            "language": {"code": "fr", "confidence": 0.97, "method": "lingua"},
            "dedup": {"status": "near", "duplicate_of": "history-x", "similarity": 0.83},
            "timings": {"language_ms": 1.1, "dedup_ms": 0.5}}


def _split(template: dict) -> tuple[bytes, bytes]:
    """The encoded record around its id, so a line is two joins, not an encode."""
    encoded = orjson.dumps({**template, "id": "\0"})
    head, tail = encoded.split(b'"\\u0000"')
    return head + b'"', b'"' + tail + b"\n"


def _write(current: Path, templates: list[tuple[bytes, bytes]], count: int, prefix: str, layout: str,
           policy: RotationPolicy) -> int:
    buffer, size = [], 0
    out = open(current, "wb")
    for n in range(count):
        head, tail = templates[n % len(templates)]
        line = b"".join((head, f"{prefix}-{n:08d}".encode(), tail))
        buffer.append(line)
        size += len(line)
        if len(buffer) >= 4096 or n == count - 1:
            out.write(b"".join(buffer))
            buffer.clear()
            if layout == "rotated" and out.tell() >= policy.max_bytes:
                out.close()
                close_current(current, policy)
                out = open(current, "wb")
    out.close()
    return size


def write_history(output: Path, articles: int, layout: str = "legacy", policy: RotationPolicy | None = None,
                  seed: int = 7) -> dict[str, int]:
    """Write `articles` enriched records (and a fifth as many duplicates, a thousandth as many dead letters'
    stand-ins) into output/; return the bytes written per file."""
    rng, policy = random.Random(seed), policy or RotationPolicy()
    pool = [s for path in sorted(SEEDS.glob("*.txt")) for s in sentences(path.read_text())]
    output.mkdir(parents=True, exist_ok=True)
    enriched = [_split(_enriched_template(rng, pool)) for _ in range(48)]
    duplicates = [_split(_duplicate_template(rng, pool)) for _ in range(16)]
    return {"enriched.jsonl": _write(output / "enriched.jsonl", enriched, articles, "history", layout, policy),
            "duplicates.jsonl": _write(output / "duplicates.jsonl", duplicates, articles // 5, "history-dup",
                                       layout, policy)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--layout", choices=("legacy", "rotated"), default="legacy")
    args = parser.parse_args()
    started = time.monotonic()
    sizes = write_history(args.output, args.articles, args.layout)
    print(f"wrote {args.articles} articles of history to {args.output} ({args.layout}): "
          + ", ".join(f"{name} {size / 1e6:.0f} MB" for name, size in sizes.items())
          + f" in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
