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
