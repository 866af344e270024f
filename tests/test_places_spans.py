"""The spans toponyms.find reads and the keys it looks up, on the real gazetteer (issue 35 item 6): the checks
of any faster reading of them (BENCHMARKS.md, "Places cost, one pass over the capitalised words")."""

from __future__ import annotations

from pipeline.stages.places import gazetteer as gz
from pipeline.stages.places.name_keys import name_key
from pipeline.stages.places.toponyms import find


def found(text: str, lang: str = "en") -> list[tuple[str, bool]]:
    return [(t.text, t.needs_context) for t in find(text, lang, gz.shared())]


def test_a_word_that_is_no_place_alone_still_opens_a_longer_name():
    # "The", "New", "Rio": no place alone (or a small one), but the start of a longer name
    text = "The talks in The Hague ended. In April, He said New York, Saint-Denis and Rio de Janeiro matter."
    assert found(text) == [("The Hague", False), ("New York", False), ("Saint-Denis", False),
                           ("Rio de Janeiro", False)]


def test_names_inflected_unspaced_or_needing_context_are_still_found():
    assert found("Переговоры прошли в Москве и Киеве.", "ru") == [("Москве", False), ("Киеве", False)]
    assert [t for t, _ in found("他在北京说，东京也一样。", "zh")] == ["北京", "东京"]
    assert found("Reading is fun. Reading, England, is a town.") == [("Reading", True), ("Reading", True),
                                                                   ("England", True)]
    assert found("Later Jordan Henderson was injured.") == []   # inside a longer capitalised name


def test_name_keys_drop_accents_and_keep_other_scripts():
    """The lookup key of a name: accents, case, dots and hyphens gone, other scripts kept."""
    names = ("États-Unis", "Gdańsk", "Biélorussie", "Kraków", "U.S.", "Москве", "मुंबई")
    # Devanagari vowel signs have no combining class: kept, as the per-character reading keeps them
    assert [name_key(n) for n in names] == ["etats unis", "gdansk", "bielorussie", "krakow", "us", "москве", "मुंबई"]


def test_beside_a_model_only_strong_names_are_kept_and_no_strong_name_is_outside_the_strong_keys():
    import random

    from pipeline.stages.places.gazetteer import STRONG_PLACES
    from pipeline.stages.places.toponyms import _evidence

    gazetteer = gz.shared()
    text = "Smith met officials in Paris, Springfield and Germany. The Washington Post wrote from Reading."
    everything = find(text, "en", gazetteer)
    beside_model = find(text, "en", gazetteer, strong_only=True)
    assert [t.text for t in beside_model if t.strong] == [t.text for t in everything if t.strong]
    assert "Germany" in [t.text for t in beside_model if t.strong]
    assert {t.text for t in beside_model} <= {t.text for t in everything}
    # the strong keys are a superset of what _evidence calls strong: 20,000 other keys of the index, in the
    # writings that change its verdict (capitalised, in capitals, opening a sentence), in English and French
    strong = gazetteer.keys_of_places(STRONG_PLACES)
    keys = [key for key in gazetteer.key_trie() if key not in strong]
    assert len(strong) > 100_000 and len(keys) > 800_000
    for key in random.Random(35).sample(keys, 20_000):
        candidates = gazetteer.candidates(key)
        assert candidates, key
        for surface in (key.title(), key.upper()):
            for lang in ("en", "fr"):
                for sentence_start in (False, True):
                    verdict = _evidence(lang, surface, candidates, sentence_start, gazetteer)
                    assert verdict is None or not verdict[1], (key, surface, lang, sentence_start)
