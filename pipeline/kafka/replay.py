"""Replay: read article files (.txt, .jsonl, RSS/Atom) and produce them to the raw topic with kafka-python.

Nothing a user sent is dropped here: a line or file that cannot be read as an article is sent as it
is, so the first stage dead-letters it with a clear error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson

from pipeline.contracts import codec
from pipeline.config import Settings
from pipeline.kafka.authorization import find_refusal
from pipeline.contracts.records import check_dates, content_id, raw_article, utc_now
from pipeline.stages.text import title_and_body

FEED_SUFFIXES = {".xml", ".rss", ".atom"}
SUFFIXES = {".txt", ".jsonl", ".json"} | FEED_SUFFIXES


@dataclass
class Item:
    """One message to send: a raw article (dict) or, for unreadable input, the bytes as they were."""
    key: str
    article: dict[str, Any] | None = None
    payload: bytes | None = None


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files under the given paths, in name order; directories are walked for known suffixes."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")
    return files


def read_txt(path: Path) -> Iterator[Item]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        yield Item(key=path.stem, payload=data)
        return
    title, body = title_and_body(text)
    yield Item(key=path.stem, article=raw_article(id=path.stem, source=str(path), text=body, title=title))


def read_jsonl(path: Path) -> Iterator[Item]:
    for lineno, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        key = f"{path.stem}:{lineno}"
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield Item(key=key, payload=line)
            continue
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            yield Item(key=key, payload=line)  # the worker says precisely what is wrong with it
            continue
        record = dict(value)
        record.setdefault("schema_version", 1)
        record.setdefault("source", str(path))
        record.setdefault("id", str(value.get("id") or content_id(record["source"], record["text"])))
        check_dates(record)
        yield Item(key=str(record["id"]), article=record)


def read_feed(path: Path) -> Iterator[Item]:
    import feedparser

    feed = feedparser.parse(path.read_bytes())
    if feed.bozo and not feed.entries:
        yield Item(key=path.stem, payload=path.read_bytes())
        return
    for entry in feed.entries:
        body = ""
        if entry.get("content"):
            body = "\n\n".join(c.get("value", "") for c in entry.content)
        body = _strip_html(body or entry.get("summary", ""))
        link = entry.get("link")
        ident = entry.get("id") or link or content_id(str(path), body)
        published = entry.get("published_parsed") or entry.get("updated_parsed")
        yield Item(key=content_id(str(path), ident), article=raw_article(
            id=content_id(str(path), ident), source=feed.feed.get("link") or str(path), text=body,
            title=entry.get("title"), url=link,
            published_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", published) if published else None,
            lang_hint=feed.feed.get("language")))


def _strip_html(html: str) -> str:
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts: list[str] = []

        def handle_data(self, data):
            self.parts.append(data)

        def handle_starttag(self, tag, attrs):
            if tag in {"p", "br", "div", "li", "h1", "h2", "h3"}:
                self.parts.append("\n\n")

    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts).strip()


def read(path: Path) -> Iterator[Item]:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".json"}:
        return read_jsonl(path)
    if suffix in FEED_SUFFIXES:
        return read_feed(path)
    return read_txt(path)


def items(paths: Iterable[str | Path], repeat: int = 1, limit: int | None = None) -> Iterator[Item]:
    """Every item from `paths`, `repeat` times; copy k>0 gets its own id (same content) so deduplication
    is exercised. Stops after `limit` items."""
    sources = [item for path in expand(paths) for item in read(path)]
    sent = 0
    for copy in range(repeat):
        for item in sources:
            if limit is not None and sent >= limit:
                return
            if copy and item.article is not None:
                article = {**item.article, "id": f"{item.article['id']}~{copy}"}
                yield Item(key=article["id"], article=article)
            elif copy:
                yield Item(key=f"{item.key}~{copy}", payload=item.payload)
            else:
                yield item
            sent += 1


def from_deadletter(path: Path) -> list[Item]:
    """The original payloads of a deadletter.jsonl and its rotated files (or of one closed file), to send again
    after the cause was fixed."""
    from pipeline.contracts.deadletter import original_payload
    from pipeline.writers.jsonl import read_output

    out = []
    for letter in read_output(path):
        key = letter.get("id") or letter["source"].get("key") or f"deadletter:{letter['source']['offset']}"
        out.append(Item(key=str(key), payload=original_payload(letter)))
    return out


@dataclass
class ReplayResult:
    sent: int = 0
    failed: int = 0
    elapsed: float = 0.0
    keys: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: BaseException | None = None   # an authorisation refusal: every send would meet it

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0


def producer(bootstrap: str, settings: Settings):
    """Idempotent, acks=all; retries with backoff while the broker is away, up to NEWSFEED_BROKER_WAIT."""
    import sys

    from kafka import KafkaProducer

    from pipeline.kafka.io import with_broker_retry

    wait_ms = max(int(settings.broker_wait * 1000), 30000)
    linger_ms = 5
    return with_broker_retry("replay", lambda: KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=linger_ms,
        max_request_size=max(4 * 1024 * 1024, 2 * settings.max_message_bytes + 65536),
        retries=2**31 - 1, retry_backoff_ms=200, delivery_timeout_ms=wait_ms, max_block_ms=wait_ms,
        # kafka-python insists on delivery > linger + request (a NEWSFEED_BROKER_WAIT <= 30 s broke that)
        request_timeout_ms=min(30000, wait_ms - linger_ms - 1),
        **settings.kafka_python_security()),
        settings.broker_wait, log=lambda m: print(m, file=sys.stderr))


def replay(source: Iterable[Item], bootstrap: str, settings: Settings, rate: float | None = None,
           progress: bool = True, total: int | None = None) -> ReplayResult:
    """Send items to the raw topic, keyed by article id; at most `rate` messages a second."""
    from tqdm import tqdm

    result = ReplayResult()
    topic = settings.topic("raw")
    prod = producer(bootstrap, settings)
    futures = []
    started = time.monotonic()
    bar = tqdm(total=total, unit="msg", desc="replay", disable=not progress, leave=False)
    try:
        for n, item in enumerate(source):
            if rate:
                delay = started + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if item.article is not None:
                item.article["ingested_at"] = utc_now()
                payload = codec.encode(item.article)
            else:
                payload = item.payload or b""
            futures.append((item.key, prod.send(topic, key=item.key.encode(), value=payload)))
            bar.update(1)
        prod.flush()
        for key, future in futures:
            try:
                future.get(timeout=30)
                result.sent += 1
                result.keys.append(key)
            except Exception as exc:
                result.failed += 1
                result.errors.append(f"{key}: {type(exc).__name__}: {exc}")
                result.refused = result.refused or find_refusal(exc)
    finally:
        bar.close()
        prod.close()
        result.elapsed = time.monotonic() - started
    return result
