"""The memory-mapped word frequencies answer exactly what wordfreq answers, in every language a worker loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import wordfreq

from pipeline.stages.stories import features, word_frequencies

# the languages of the shipped NER models, plus two wordfreq knows that no model covers (ar, zh: jieba or not)
LANGUAGES = ["de", "en", "es", "fr", "hi", "it", "nl", "pl", "pt", "ru", "tr", "uk", "ar", "zh"]
ODD_WORDS = ["", "chauffe", "l'état", "aujourd’hui", "covid19", "g7", "2024", "3,5", "état-major", "New York",
             "Москве", "İstanbul'da", "北京市", "xyzzyplugh", "—", "ﬁnance", "ÉTAT"]


def outcome(function, word, lang):
    try:
        return function(word, lang)
    except (LookupError, ImportError) as exc:
        return type(exc).__name__


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_kind_of_word_gets_wordfreqs_own_figure(lang):
    buckets = wordfreq.get_frequency_list(lang)
    listed = [w for bucket in buckets[::7] for w in bucket[:3]]   # a sample of every part of the list
    words = listed + [w.upper() for w in listed[:50]] + [f"{a} {b}" for a, b in zip(listed, listed[1:60])] + ODD_WORDS
    ours = [outcome(word_frequencies.zipf, w, lang) for w in words]
    theirs = [outcome(wordfreq.zipf_frequency, w, lang) for w in words]
    assert len(words) > 200
    assert [(w, a, b) for w, a, b in zip(words, ours, theirs) if a != b] == []


def test_languages_wordfreq_cannot_read_fail_the_same_way():
    for lang in ("ja", "ko", "xx"):   # ja/ko: MeCab is not installed; xx: no list
        assert outcome(word_frequencies.zipf, "東京", lang) == outcome(wordfreq.zipf_frequency, "東京", lang)
    assert features.rarity("東京", "ja") == features.rarity("東京", "xx") == (7.5 - 3.0) ** features.RARITY_POWER


def test_an_unwritable_cache_falls_back_to_wordfreqs_dict(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the directory would be")
    code = ("from pipeline.stages.stories import word_frequencies as w; import wordfreq;"
            "assert w.table('tr') is None; assert w.zipf('istanbul', 'tr') == wordfreq.zipf_frequency('istanbul', 'tr')")
    env = {**os.environ, "NEWSFEED_WORD_TABLES": str(blocked / "tables")}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    assert not (blocked.parent / "tables").exists()
