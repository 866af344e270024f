"""The on-disk cache for spaCy's huge tokenizer patterns: a cached pattern matches exactly what
re.compile's does, and the cache is skipped (never trusted) when its directory or file is not right."""

from __future__ import annotations

import json
import re

import pytest

from pipeline.stages import regex_cache
from pipeline.stages.regex_cache import big_patterns_cached, compile_cached

WORDS = ["new-york", "Hip-hop", "faux-vampire", "saut-de-ski", "aujourd'hui", "bonjour", "États-Unis",
         "pet-en-l'air", "entr'abat", "zig-zag", "BURN-OUT", "anti-américain", "grand'mère", "l'homme",
         "droits-de-l'homme", "c'est-à-dire", "Jean-Pierre", "Saint-Étienne", "-", "", "a-b-c-d-e-f"]


@pytest.fixture(scope="module")
def french_token_match() -> str:
    """The real thing: spaCy French tokenizer's hyphenated-word pattern (1.45 MB)."""
    from spacy.lang.fr.tokenizer_exceptions import TOKEN_MATCH

    return TOKEN_MATCH.__self__.pattern


def same_behaviour(a: re.Pattern, b: re.Pattern) -> None:
    assert (a.pattern, a.flags, a.groups, a.groupindex) == (b.pattern, b.flags, b.groups, b.groupindex)
    for word in WORDS:
        ma, mb = a.match(word), b.match(word)
        assert (ma and ma.span()) == (mb and mb.span()), word


def test_a_cached_pattern_matches_like_a_compiled_one(tmp_path, french_token_match):
    plain = re.compile(french_token_match)
    cold = compile_cached(french_token_match, 0, tmp_path)          # compiles, writes the file
    [written] = tmp_path.glob("*.json")
    warm = compile_cached(french_token_match, 0, tmp_path)          # from the file
    for cached in (cold, warm):
        same_behaviour(cached, plain)
    assert sum(bool(plain.match(w)) for w in WORDS) >= 10           # the word list does exercise it
    flags = re.IGNORECASE | re.MULTILINE                            # flags are part of the key
    named = "|".join(rf"(?P<g{i}>w{i}-\w+)" for i in range(1500))   # named groups survive the round trip
    same_behaviour(compile_cached(named, flags, tmp_path), re.compile(named, flags))
    assert len(list(tmp_path.glob("*.json"))) == 2 and written.exists()


def test_a_damaged_file_falls_back_to_compiling(tmp_path, french_token_match):
    compile_cached(french_token_match, 0, tmp_path)
    [written] = tmp_path.glob("*.json")
    data = json.loads(written.read_bytes())
    data[1] = data[1][:100]                                          # truncated engine code
    written.write_text(json.dumps(data))
    same_behaviour(compile_cached(french_token_match, 0, tmp_path), re.compile(french_token_match))
    written.write_text("{not json")
    same_behaviour(compile_cached(french_token_match, 0, tmp_path), re.compile(french_token_match))


def test_only_a_private_directory_is_used(tmp_path, monkeypatch):
    big = "(?:" + "|".join(f"word{i}" for i in range(4000)) + ")"
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)                                              # others could plant a file here
    with big_patterns_cached(shared):
        assert re.compile(big).match("word3999")
    assert not list(shared.iterdir())
    private = tmp_path / "private"
    with big_patterns_cached(private):
        assert re.compile(big).match("word3999")
        assert re.compile("small").match("small")                   # small patterns: not cached
    assert len(list(private.glob("*.json"))) == 1
    assert oct(private.stat().st_mode & 0o777) == "0o700"
    assert re.compile is not None and re.compile.__module__ == "re"  # put back afterwards
    monkeypatch.setenv("NEWSFEED_CACHE_DIR", str(private))
    assert regex_cache.default_directory() == private
