"""Word frequencies (`wordfreq`'s lists) without holding them in memory: one memory-mapped trie per language.

`wordfreq.zipf_frequency` reads a language's whole list into a Python dict on first use: for the fourteen
languages a worker has NER models for, 3 s of start-up CPU and ~550 MB of RSS per worker process (measured,
4.2 M words). Here each list is written once per machine into a marisa trie (word -> its centibel bucket) that
every worker maps from the page cache, and `zipf(word, lang)` answers what `wordfreq.zipf_frequency(word,
lang)` answers: the same tokenisation (`wordfreq.lossy_tokenize`), digits smashed, several tokens combined as
1/f = 1/f1 + 1/f2 + ..., rounded as wordfreq rounds (tests/test_word_frequencies.py compares the two).
The tries live under `NEWSFEED_WORD_TABLES` (default ~/.cache/newsfeed/wordfreq-<version>); where that
cannot be written, wordfreq's own dict is used, as before.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from importlib.metadata import version
from pathlib import Path

import marisa_trie
import wordfreq
from wordfreq.language_info import get_language_info
from wordfreq.numbers import digit_freq, smash_numbers

from pipeline.atomic_files import written_whole

_MISSING = 1e-9   # wordfreq.zipf_frequency's default minimum (Zipf 0): a word not in the list
_tables: dict[str, marisa_trie.RecordTrie | None] = {}
_lock = threading.Lock()


def directory() -> Path:
    override = os.environ.get("NEWSFEED_WORD_TABLES")
    return Path(override) if override else Path.home() / ".cache" / "newsfeed" / f"wordfreq-{version('wordfreq')}"


def table(lang: str) -> marisa_trie.RecordTrie | None:
    """The language's trie (built on first use on this machine); None where it cannot be written. Raises
    LookupError, as wordfreq does, for a language it has no list for."""
    with _lock:
        if lang not in _tables:
            _tables[lang] = _open(lang)
        return _tables[lang]


def _open(lang: str) -> marisa_trie.RecordTrie | None:
    path = directory() / f"{lang}.marisa"
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with written_whole(path) as partial:   # two workers may build it at once
                partial.touch()   # writable? asked before the list is read: the fallback then costs what it did
                buckets = wordfreq.get_frequency_list(lang)   # LookupError for a language without a list
                last = {word: index for index, bucket in enumerate(buckets) for word in bucket}   # last wins
                marisa_trie.RecordTrie("<H", ((w, (i,)) for w, i in last.items())).save(str(partial))
        except OSError as exc:   # not writable, or full: the cache is an optimisation
            logging.getLogger(__name__).info("word frequencies of %r not cached in %s (%s): wordfreq's dict used",
                                             lang, path.parent, exc)
            return None
        finally:
            wordfreq.get_frequency_list.cache_clear()   # wordfreq keeps every list it read, ~40 MB a language
    return marisa_trie.RecordTrie("<H").mmap(str(path))


def zipf(word: str, lang: str) -> float:
    """`wordfreq.zipf_frequency(word, lang)`, read from the language's trie. Raises what wordfreq raises:
    ImportError where its tokenizer needs a package that is not installed (MeCab for ja/ko), LookupError
    where it has no list."""
    tokens = wordfreq.lossy_tokenize(word, lang)
    if not tokens:
        return 0.0
    words = table(lang)
    if words is None:
        return wordfreq.zipf_frequency(word, lang)
    one_over = 0.0
    for token in tokens:
        smashed = smash_numbers(token)
        found = words.get(smashed)
        if not found:
            return 0.0
        freq = wordfreq.cB_to_freq(-found[0][0])   # a bucket's index is minus its frequency in centibels
        if smashed != token:
            freq *= digit_freq(token)
        one_over += 1.0 / freq
    freq = 1.0 / one_over
    if get_language_info(lang)["tokenizer"] == "jieba":
        freq *= wordfreq.INFERRED_SPACE_FACTOR ** -(len(tokens) - 1)
    freq = max(freq, _MISSING)
    freq = round(freq, math.floor(-math.log(freq, 10)) + 3)
    return round(wordfreq.freq_to_zipf(freq), 2)


if __name__ == "__main__":   # build ahead of time (the Docker image does): python -m pipeline.stages.stories.word_frequencies
    from pipeline.stages.entities import models

    for code in sorted(models.resolve()):   # the languages with NER models: a worker loads them before any article
        try:
            table(code)
        except (LookupError, ImportError):
            pass   # no list, or a tokenizer not installed: rarity() gives every word a middling figure
    print(directory())
