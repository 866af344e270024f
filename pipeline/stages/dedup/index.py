"""Deduplication: exact (hash of the normalised text) and near (MinHash + LSH over word shingles,
candidates verified by their estimated Jaccard before anything is called a duplicate).

Signatures come from rensa's RMinHash (measured ~80x faster than datasketch's MinHash on the seeds,
bench/dedup.py). The LSH band index is ours because the libraries' indexes cost too much memory for a
long retention window (datasketch's MinHashLSH: ~1 GB per 100k articles, bench/dedup.py) and because rensa's LSH
cannot be rebuilt from stored signatures after a restart. Bands are one sorted numpy array pair (16 bytes per
band per article) plus a small dict of recent inserts, merged in bulk.

State is a `DedupIndex` per partition of the language-keyed topic. Its entries are plain dicts so the
worker can log them to the `dedup-index` topic and rebuild the index after a restart.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from rensa import RMinHash

ALGORITHM = f"rensa-rminhash-v{getattr(RMinHash, 'ALGORITHM_VERSION', 0)}"
_WORD = re.compile(r"\w+", re.UNICODE)


def normalise(text: str) -> list[str]:
    """Words of the text, NFKC-folded and case-folded, punctuation dropped."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def exact_hash(words: list[str]) -> str:
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).hexdigest()


def shingles(words: list[str], size: int) -> set[str]:
    """Every run of `size` words, space-joined. Sliced out of one joined string: ~30 % faster than a
    join per shingle, and the same strings (signatures in the dedup-index log depend on them)."""
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    joined = " ".join(words)
    starts = list(itertools.accumulate((len(w) + 1 for w in words), initial=0))
    return {joined[a:b - 1] for a, b in zip(starts, starts[size:])}


def choose_bands(threshold: float, num_perm: int, recall_at_threshold: float = 0.99) -> tuple[int, int]:
    """LSH (bands, rows): the most rows per band (fewest false candidates) that still makes a pair at
    exactly `threshold` a candidate with probability >= recall_at_threshold. Candidates are verified
    afterwards, so erring towards recall only costs verification time."""
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if 1 - (1 - threshold ** rows) ** bands >= recall_at_threshold:
            best = (bands, rows)
    return best


class BandIndex:
    """LSH buckets: one sorted (key, row) numpy pair for all bands (each band's keys salted apart) plus a
    dict of recent inserts, so a query is two vectorised searchsorted calls instead of two per band."""

    MERGE_EVERY = 2048

    def __init__(self, bands: int, rows: int, seed: int = 0x5EED):
        self.bands, self.rows = bands, rows
        rng = np.random.default_rng(seed)
        self._mult = rng.integers(1, 2**63, size=(bands, rows), dtype=np.uint64) | np.uint64(1)
        self._salt = rng.integers(0, 2**63, size=bands, dtype=np.uint64)
        self._keys = np.empty(0, np.uint64)
        self._rows = np.empty(0, np.int64)
        self._recent: dict[int, list[int]] = {}
        self._n_recent = 0

    def keys(self, signature: np.ndarray) -> np.ndarray:
        part = signature[: self.bands * self.rows].astype(np.uint64).reshape(self.bands, self.rows)
        return (part * self._mult).sum(axis=1, dtype=np.uint64) + self._salt  # wraps mod 2**64: a hash

    def insert(self, row: int, keys: np.ndarray) -> None:
        for key in keys.tolist():
            self._recent.setdefault(key, []).append(row)
        self._n_recent += 1

    def query(self, keys: np.ndarray) -> set[int]:
        found: set[int] = set()
        for key in keys.tolist():
            found.update(self._recent.get(key, ()))
        if self._keys.size:
            lo, hi = np.searchsorted(self._keys, keys, "left"), np.searchsorted(self._keys, keys, "right")
            hit = hi > lo
            for a, b in zip(lo[hit].tolist(), hi[hit].tolist()):
                found.update(self._rows[a:b].tolist())
        return found

    def load(self, sigs: np.ndarray, block: int = 16_384) -> None:
        """Bucket rows 0..len(sigs)-1 at once (a restored snapshot): keys in blocks, so the uint64
        intermediate stays ~16 MB, then one sort (the order among equal keys does not matter: `check`
        sorts the candidates it gets)."""
        keys = np.concatenate([self.keys_of(sigs[a:a + block]).ravel() for a in range(0, len(sigs), block)]
                              or [np.empty(0, np.uint64)])
        rows = np.repeat(np.arange(len(sigs), dtype=np.int64), self.bands)
        order = np.argsort(keys)
        self._keys, self._rows = keys[order], rows[order]
        self._recent.clear()
        self._n_recent = 0

    def keys_of(self, sigs: np.ndarray) -> np.ndarray:
        """`keys` of many signatures: one row of band keys per signature."""
        part = sigs[:, : self.bands * self.rows].astype(np.uint64).reshape(len(sigs), self.bands, self.rows)
        return (part * self._mult).sum(axis=2, dtype=np.uint64) + self._salt

    def needs_merge(self) -> bool:
        return self._n_recent >= self.MERGE_EVERY

    def merge(self, alive_rows: np.ndarray) -> None:
        """Fold recent inserts into the sorted arrays, dropping rows no longer alive once over a ninth of
        them are dead (`query` callers skip dead rows anyway). The arrays stay sorted: the few new keys are
        sorted alone and inserted after their equals, as a stable sort of the whole did, at O(n) copying
        instead of O(n log n): ~0.1 s instead of 0.4-0.9 s a merge at 214 k entries (BENCHMARKS.md, History)."""
        recent = self._recent
        new_keys = np.fromiter((k for k, rows in recent.items() for _ in rows), np.uint64)
        new_rows = np.fromiter((r for rows in recent.values() for r in rows), np.int64)
        keys, rows = self._keys, self._rows
        alive = np.zeros(max(rows.max(initial=-1), new_rows.max(initial=-1)) + 1, np.bool_)
        alive[alive_rows[alive_rows < len(alive)]] = True
        new_keys, new_rows = new_keys[alive[new_rows]], new_rows[alive[new_rows]]
        if len(rows) * 8 > self.bands * (len(alive_rows) - self._n_recent) * 9:   # over 1/9 of them dead
            keep = alive[rows]
            keys, rows = keys[keep], rows[keep]
        order = np.argsort(new_keys, kind="stable")
        at = np.searchsorted(keys, new_keys[order], "right")
        self._keys, self._rows = np.insert(keys, at, new_keys[order]), np.insert(rows, at, new_rows[order])
        recent.clear()
        self._n_recent = 0


@dataclass
class Verdict:
    status: str                       # unique | exact | near
    duplicate_of: str | None = None
    similarity: float | None = None
    exact: str = ""
    containment: float | None = None
    entry: dict[str, Any] | None = None   # the index entry to log and add (unique, not yet indexed)

    def as_field(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "exact_hash": self.exact}
        if self.status != "unique":
            out.update(duplicate_of=self.duplicate_of, similarity=self.similarity)
        if self.containment is not None:
            out["containment"] = self.containment
        return out


class DedupIndex:
    # A shorter text almost wholly inside a longer one (a truncated copy, a teaser) is a duplicate even
    # when their Jaccard is low; below CONTAINMENT_FLOOR the Jaccard estimate is too noisy to say so.
    CONTAINMENT = 0.9
    CONTAINMENT_FLOOR = 0.2

    def __init__(self, threshold: float = 0.5, shingle_size: int = 5, num_perm: int = 128,
                 retention_seconds: float = 7 * 86400, grace_seconds: float = 3600,
                 clock: Callable[[], float] = time.time):
        """Entries live `retention_seconds` of article time (published_at, else ingested_at, measured
        against the newest article seen) and never less than `grace_seconds` of wall time after they
        were indexed, so a burst of re-sent old articles (a backfill, a replay of last year's seeds)
        is still deduplicated instead of evicted on arrival."""
        self.threshold, self.shingle_size, self.num_perm = threshold, shingle_size, num_perm
        self.retention_seconds, self.grace_seconds, self.clock = retention_seconds, grace_seconds, clock
        self.bands, self.rows = choose_bands(threshold, num_perm)
        self._lsh = BandIndex(self.bands, self.rows)
        self._next_row = 0
        # row -> (id, exact, sig, ts, n shingles, indexed_at)
        self._entries: dict[int, tuple[str, str, np.ndarray, float, int, float]] = {}
        self._row_of: dict[str, int] = {}
        self._by_exact: dict[str, str] = {}
        self._expiry: list[tuple[float, int]] = []
        self._newest = float("-inf")
        self.skipped_foreign = 0   # logged entries made by another signature algorithm

    def __len__(self) -> int:
        return len(self._entries)

    def signature(self, words: list[str]) -> tuple[np.ndarray, int]:
        """MinHash signature and the number of distinct shingles (for containment estimates)."""
        grams = shingles(words, self.shingle_size)
        mh = RMinHash(num_perm=self.num_perm, seed=1)
        mh.update(list(grams))   # a minimum per permutation: order-free, so no sort (it took 0.11 ms of 0.14)
        return np.asarray(mh.digest(), dtype=np.uint32), len(grams)

    @staticmethod
    def containment(jaccard: float, n_a: int, n_b: int) -> float:
        """Estimated share of the smaller shingle set inside the larger: |A∩B| / min(|A|, |B|)."""
        if not n_a or not n_b:
            return 0.0
        return min(1.0, jaccard * (n_a + n_b) / ((1 + jaccard) * min(n_a, n_b)))

    def check(self, record_id: str, text: str, ts: float) -> Verdict:
        """Judge one article against everything indexed. A unique verdict carries the entry to add;
        an article already indexed under its own id (re-delivered after a crash) is unique again,
        with no new entry, so reprocessing is idempotent."""
        words = normalise(text)
        exact = exact_hash(words)
        original = self._by_exact.get(exact)
        if original is not None and original != record_id:
            return Verdict("exact", original, 1.0, exact)
        if record_id in self._row_of:
            return Verdict("unique", exact=exact)
        sig, n = self.signature(words)
        best: tuple[float, float, str] | None = None   # (jaccard, containment, id)
        for row in sorted(self._lsh.query(self._lsh.keys(sig))):   # ties: the oldest entry, however rows were numbered
            entry = self._entries.get(row)
            if entry is None:   # evicted, not yet compacted out of the bands
                continue
            similarity = float(np.count_nonzero(entry[2] == sig)) / self.num_perm
            contained = self.containment(similarity, n, entry[4]) if similarity >= self.CONTAINMENT_FLOOR else 0.0
            if (similarity >= self.threshold or contained >= self.CONTAINMENT) and \
                    (best is None or similarity > best[0]):
                best = (similarity, contained, entry[0])
        if best is not None:
            contained = round(best[1], 4) if best[0] < self.threshold else None
            return Verdict("near", best[2], round(best[0], 4), exact, containment=contained)
        entry = {"id": record_id, "exact": exact, "sig": sig.tolist(), "n": n, "ts": ts,
                 "indexed_at": self.clock(), "algo": ALGORITHM}
        return Verdict("unique", exact=exact, entry=entry)

    def add(self, entry: dict[str, Any]) -> None:
        """Index an entry (from `check`, or replayed from the index log); evict what fell out of the window."""
        if entry.get("algo") != ALGORITHM or len(entry.get("sig", ())) != self.num_perm:
            self.skipped_foreign += 1
            return
        record_id = entry["id"]
        if record_id in self._row_of:
            return
        row, self._next_row = self._next_row, self._next_row + 1
        sig = np.asarray(entry["sig"], dtype=np.uint32)
        self._entries[row] = (record_id, entry["exact"], sig, entry["ts"], entry.get("n", 0),
                              entry.get("indexed_at", 0.0))
        self._row_of[record_id] = row
        self._by_exact.setdefault(entry["exact"], record_id)
        self._lsh.insert(row, self._lsh.keys(sig))
        heapq.heappush(self._expiry, (entry["ts"], row))
        self._newest = max(self._newest, entry["ts"])
        self.evict(self._newest - self.retention_seconds)
        if self._lsh.needs_merge():
            self._lsh.merge(np.fromiter(self._entries, np.int64))

    def columns(self) -> dict[str, Any]:
        """The live entries in the order they were indexed, column-wise (pipeline/stages/dedup/snapshot.py)."""
        entries = list(self._entries.values())
        return {"ids": [e[0] for e in entries], "exact": [e[1] for e in entries],
                "holds_exact": np.fromiter((self._by_exact.get(e[1]) == e[0] for e in entries), np.bool_, len(entries)),
                "sigs": np.array([e[2] for e in entries], np.uint32).reshape(len(entries), self.num_perm),
                "ts": np.fromiter((e[3] for e in entries), np.float64, len(entries)),
                "n": np.fromiter((e[4] for e in entries), np.int64, len(entries)),
                "indexed_at": np.fromiter((e[5] for e in entries), np.float64, len(entries)), "newest": self._newest}

    def load_columns(self, c: dict[str, Any]) -> None:
        """Replace the state with `columns()` output: the same entries, exact-hash owners, expiry order and
        band buckets as the index they came from, built in bulk (band keys in vectorised blocks)."""
        count = len(c["ids"])
        rows = range(count)
        self._entries = {row: (c["ids"][row], c["exact"][row], sig.copy(), ts, n, at) for row, sig, ts, n, at in
                         zip(rows, c["sigs"], c["ts"].tolist(), c["n"].tolist(), c["indexed_at"].tolist())}
        self._row_of = dict(zip(c["ids"], rows))
        self._by_exact = {c["exact"][row]: c["ids"][row] for row in np.flatnonzero(c["holds_exact"]).tolist()}
        self._expiry = list(zip(c["ts"].tolist(), rows))
        heapq.heapify(self._expiry)
        self._next_row, self._newest = count, c["newest"]
        self._lsh.load(c["sigs"])

    def evict(self, before_ts: float) -> int:
        """Drop entries whose article time is older than `before_ts` and whose grace has passed."""
        dropped = 0
        grace_ends = self.clock() - self.grace_seconds
        while self._expiry and self._expiry[0][0] < before_ts:
            if self._entries[self._expiry[0][1]][5] > grace_ends:
                break   # the oldest is still in its grace period: try again on a later add
            _, row = heapq.heappop(self._expiry)
            record_id, exact, *_rest = self._entries.pop(row)
            del self._row_of[record_id]
            if self._by_exact.get(exact) == record_id:
                del self._by_exact[exact]
            dropped += 1
        return dropped
