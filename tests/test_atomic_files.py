"""`written_whole`: the helper behind every cache and compressed output file written beside its readers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.atomic_files import written_whole


def test_the_file_appears_whole_once_the_block_ends(tmp_path):
    target = tmp_path / "table.bin"
    with written_whole(target) as partial:
        partial.write_bytes(b"x" * 1000)
        assert not target.exists()            # readers see nothing until the block ends
        assert partial.parent == tmp_path and partial.name.startswith("table.bin.")
    assert target.read_bytes() == b"x" * 1000
    assert [p.name for p in tmp_path.iterdir()] == ["table.bin"]


def test_a_failure_leaves_the_old_file_and_no_temporary_one(tmp_path):
    target = tmp_path / "table.bin"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="No space left"):
        with written_whole(target, hidden=True) as partial:
            assert partial.name.startswith(".table.bin.")
            partial.write_bytes(b"half")
            raise OSError(28, "No space left on device")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.bin"]


def test_processes_writing_the_same_file_at_once_leave_one_of_them_whole(tmp_path):
    target = tmp_path / "shared.txt"
    writer = ("import sys; from pathlib import Path; from pipeline.atomic_files import written_whole\n"
              "with written_whole(Path(sys.argv[1])) as partial:\n"
              "    with open(partial, 'w') as f:\n"
              "        for _ in range(20000): f.write(sys.argv[2] * 50 + '\\n')\n")
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(target), tag]) for tag in "abcd"]
    assert [p.wait(60) for p in procs] == [0, 0, 0, 0]
    lines = target.read_text().splitlines()
    assert len(lines) == 20000 and len(set(lines)) == 1   # one writer's whole file, not a mix
    assert [p.name for p in tmp_path.iterdir()] == ["shared.txt"]
