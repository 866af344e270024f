"""Deduplication: exact (hash of the normalised text) and near (MinHash + LSH over word shingles,
candidates verified by their estimated Jaccard before anything is called a duplicate).

State is a `DedupIndex` per routing key (language). Its entries serialise to plain dicts so the worker
can log them to the `dedup-index` topic and rebuild the index after a restart.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

# Pinned so signatures logged to the index topic stay comparable across datasketch upgrades.
SCHEME = "affine32"
_WORD = re.compile(r"\w+", re.UNICODE)


def normalise(text: str) -> list[str]:
    """Words of the text, NFKC-folded and case-folded, punctuation dropped."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def exact_hash(text: str) -> str:
    return hashlib.blake2b(" ".join(normalise(text)).encode("utf-8"), digest_size=16).hexdigest()


def shingles(words: list[str], size: int) -> set[str]:
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


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


@dataclass
class Verdict:
    status: str                       # unique | exact | near
    duplicate_of: str | None = None
    similarity: float | None = None
    exact: str = ""
    entry: dict[str, Any] | None = None   # the index entry to log and add (unique, not yet indexed)

    def as_field(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "exact_hash": self.exact}
        if self.status != "unique":
            out.update(duplicate_of=self.duplicate_of, similarity=self.similarity)
        return out


@dataclass
class DedupIndex:
    threshold: float = 0.7
    shingle_size: int = 5
    num_perm: int = 128
    retention_seconds: float = 7 * 86400
    _lsh: MinHashLSH = field(init=False, repr=False)
    _by_exact: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _entries: dict[str, tuple[str, MinHash, float]] = field(default_factory=dict, init=False, repr=False)
    _expiry: list[tuple[float, str]] = field(default_factory=list, init=False, repr=False)
    _newest: float = field(default=float("-inf"), init=False, repr=False)

    def __post_init__(self) -> None:
        self.bands, self.rows = choose_bands(self.threshold, self.num_perm)
        self._lsh = MinHashLSH(num_perm=self.num_perm, params=(self.bands, self.rows))

    def __len__(self) -> int:
        return len(self._entries)

    def _minhash(self, words: list[str]) -> MinHash:
        mh = MinHash(num_perm=self.num_perm, seed=1, scheme=SCHEME)
        mh.update_batch([s.encode("utf-8") for s in shingles(words, self.shingle_size)])
        return mh

    def check(self, record_id: str, text: str, ts: float) -> Verdict:
        """Judge one article against everything indexed. A unique verdict carries the entry to add;
        an article already indexed under its own id (re-delivered after a crash) is unique again,
        with no new entry, so reprocessing is idempotent."""
        words = normalise(text)
        exact = hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).hexdigest()
        original = self._by_exact.get(exact)
        if original is not None and original != record_id:
            return Verdict("exact", original, 1.0, exact)
        if record_id in self._entries:
            return Verdict("unique", exact=exact)
        mh = self._minhash(words)
        best_id, best_sim = None, 0.0
        for candidate in self._lsh.query(mh):
            similarity = mh.jaccard(self._entries[candidate][1])
            if similarity > best_sim:
                best_id, best_sim = candidate, similarity
        if best_id is not None and best_sim >= self.threshold:
            return Verdict("near", best_id, round(float(best_sim), 4), exact)
        entry = {"id": record_id, "exact": exact, "minhash": mh.hashvalues.tolist(), "ts": ts}
        return Verdict("unique", exact=exact, entry=entry)

    def add(self, entry: dict[str, Any]) -> None:
        """Index an entry (from `check`, or replayed from the index log); evict what fell out of the window."""
        record_id = entry["id"]
        if record_id in self._entries:
            return
        mh = MinHash(num_perm=self.num_perm, seed=1, scheme=SCHEME,
                     hashvalues=np.asarray(entry["minhash"], dtype=np.uint64))
        self._entries[record_id] = (entry["exact"], mh, entry["ts"])
        self._by_exact.setdefault(entry["exact"], record_id)
        self._lsh.insert(record_id, mh)
        heapq.heappush(self._expiry, (entry["ts"], record_id))
        self._newest = max(self._newest, entry["ts"])
        self.evict(self._newest - self.retention_seconds)

    def evict(self, before_ts: float) -> int:
        """Drop entries whose timestamp is older than `before_ts`; return how many."""
        dropped = 0
        while self._expiry and self._expiry[0][0] < before_ts:
            _, record_id = heapq.heappop(self._expiry)
            exact, _mh, _ts = self._entries.pop(record_id)
            if self._by_exact.get(exact) == record_id:
                del self._by_exact[exact]
            self._lsh.remove(record_id)
            dropped += 1
        return dropped
