"""What the places stage's cost work rests on (bench/places_ab.py measures the cost): the trie of the index's
name keys answers as the index does and is rebuilt beside a newer index; GiNZA's label table is
read without importing spaCy (a worker's parent process never loads it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from pipeline.stages.places import gazetteer as gz

NAMES = ["paris", "washington", "the president", "zelensky", "us", "gdansk", "新宿", "москва", ""]


def test_the_key_trie_answers_as_the_index(tmp_path):
    index = tmp_path / "gazetteer.sqlite"
    shutil.copyfile(gz.shared().path, index)
    trie_file = index.with_name(index.name + ".keys.marisa")
    trie_file.write_bytes(b"an older index's trie")
    os.utime(trie_file, (0, 0))   # older than the index: rebuilt, never read
    ours = gz.Gazetteer(index)
    assert ours.key_trie() is not None and len(ours.key_trie()) > 1_000_000
    for key in NAMES:
        rows = ours._db().execute("SELECT 1 FROM names WHERE key = ? LIMIT 1", (key,)).fetchall()
        assert (key in ours.key_trie()) == bool(rows), key
        assert ours.candidates(key) == gz.Gazetteer.candidates.__wrapped__(gz.shared(), key)


def test_place_labels_do_not_import_spacy():
    code = ("import sys; from pipeline.stages.entities.adapters import place_labels; labels = place_labels(); "
            "print('spacy' in sys.modules, 'City' in labels, 'Country' in labels, 'GPE' in labels)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "True", "True"]
