"""A story's top entities name one person once whatever the script (pipeline/stages/stories/names.py)."""

from collections import Counter

from pipeline.stages.stories.names import merge_names, skeleton


def test_one_person_in_six_scripts_is_one_entry():
    names = Counter({("Donald Trump", "PER"): 5, ("Трамп", "PER"): 3, ("ترامب", "PER"): 2,
                     ("ドナルド・トランプ", "PER"): 1, ("트럼프", "PER"): 1, ("ट्रम्प", "PER"): 1,
                     ("Путин", "PER"): 2, ("Vladimir Putin", "PER"): 2, ("بوتين", "PER"): 1})
    assert merge_names(names) == [{"name": "Donald Trump", "label": "PER", "count": 13},
                                  {"name": "Vladimir Putin", "label": "PER", "count": 5}]


def test_cross_script_merging_keeps_labels_and_different_names_apart():
    # same skeleton, other label: not merged; Moscow / Москве (an inflected form) differ: not merged
    names = Counter({("Trump", "PER"): 2, ("Трамп", "ORG"): 1, ("Moscow", "LOC"): 2, ("Москве", "LOC"): 1,
                     ("Макрон", "PER"): 1, ("Merkel", "PER"): 1})
    assert {(e["name"], e["label"]) for e in merge_names(names)} == {
        ("Trump", "PER"), ("Трамп", "ORG"), ("Moscow", "LOC"), ("Москве", "LOC"), ("Макрон", "PER"), ("Merkel", "PER")}
    assert skeleton("Дональд Трамп") == skeleton("ドナルド・トランプ") == ("dnrd", "trmp")
