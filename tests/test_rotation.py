"""JSONL rotation: names that sort, retention, gzip, idempotence across rotation, takeover of one big file."""

import os
import shutil
import subprocess
import sys
import time

import orjson
import pytest

from pipeline.writers import rotation
from pipeline.writers.jsonl import JsonlFiles, JsonlSink, read_jsonl, read_output
from pipeline.writers.rotation import RotationPolicy


def _record(n: int) -> dict:
    return {"id": f"id-{n:05d}", "text": "x" * 80}


def _ids(current) -> list[str]:
    return [r["id"] for r in read_output(current)]


def test_the_current_file_rotates_by_size_into_names_that_sort(tmp_path):
    current = tmp_path / "enriched.jsonl"
    sink = JsonlSink(current, policy=RotationPolicy(max_bytes=1000))
    for n in range(50):
        assert sink.write(_record(n))
    closed = rotation.closed_files(current)
    assert len(closed) >= 4 and [p.name for p in closed] == sorted(p.name for p in closed)
    assert all(p.stat().st_size <= 1000 + 100 for p in closed)
    assert closed[0].name.startswith("enriched-000001-") and closed[0].name.endswith(".jsonl")
    assert _ids(current) == [f"id-{n:05d}" for n in range(50)]          # every line once, in order
    assert len(read_jsonl(current)) < 50                                  # the current file holds the newest


def test_idempotence_looks_back_across_a_rotation_but_not_forever(tmp_path):
    current = tmp_path / "enriched.jsonl"
    policy = RotationPolicy(max_bytes=1000)
    sink = JsonlSink(current, policy=policy)
    for n in range(30):
        sink.write(_record(n))
    again = JsonlSink(current, policy=policy)     # a restarted worker: the window is current + last 1000 bytes
    assert not again.write(_record(29)) and not sink.write(_record(29))
    newest_closed = read_jsonl(rotation.closed_files(current)[-1])
    assert not again.write(newest_closed[-1])     # just rotated away: still recognised
    assert again.write(_record(0))                # history far beyond the window is not re-read
    assert len(again._current) + len(again._recent) < 30


def test_retention_keeps_the_newest_closed_files(tmp_path):
    current = tmp_path / "duplicates.jsonl"
    sink = JsonlSink(current, policy=RotationPolicy(max_bytes=500, keep=2))
    for n in range(40):
        sink.write(_record(n))
    closed = rotation.closed_files(current)
    assert len(closed) == 2
    assert _ids(current)[-1] == "id-00039" and "id-00000" not in _ids(current)


def test_closed_files_are_gzipped_and_still_read_in_order(tmp_path):
    current = tmp_path / "enriched.jsonl"
    sink = JsonlSink(current, policy=RotationPolicy(max_bytes=1000, compress=True))
    for n in range(30):
        sink.write(_record(n))
    sink.close()
    for _ in range(100):   # the gzip runs in a thread
        if all(p.name.endswith(".gz") for p in rotation.closed_files(current)):
            break
        time.sleep(0.02)
    assert all(p.name.endswith(".jsonl.gz") for p in rotation.closed_files(current))
    assert _ids(current) == [f"id-{n:05d}" for n in range(30)]
    again = JsonlSink(current, policy=RotationPolicy(max_bytes=1000, compress=True))
    last_closed = list(read_output(current))[-len(read_jsonl(current)) - 1]
    assert not again.write(last_closed)           # the look-back reads the tail of a .gz too


def test_a_big_file_from_before_rotation_is_taken_over_reading_only_its_tail(tmp_path):
    current = tmp_path / "enriched.jsonl"
    current.write_bytes(b"".join(orjson.dumps(_record(n)) + b"\n" for n in range(5000)))
    size = current.stat().st_size
    sink = JsonlSink(current, policy=RotationPolicy(max_bytes=10_000, compress=True))
    closed = rotation.closed_files(current)
    assert [p.stat().st_size for p in closed] == [size]        # renamed whole, not gzipped (it is far too big)
    assert not current.exists() or current.stat().st_size == 0
    assert len(sink._recent) < 150                             # about 10 kB of it read, not 5000 lines
    assert not sink.write(_record(4999)) and sink.write(_record(5000))
    assert _ids(current) == [f"id-{n:05d}" for n in range(5001)]


def test_rotation_by_age(tmp_path):
    current = tmp_path / "enriched.jsonl"
    sink = JsonlSink(current, policy=RotationPolicy(max_seconds=0.2))
    sink.write(_record(1))
    time.sleep(0.3)
    sink.write(_record(2))
    assert len(rotation.closed_files(current)) == 1 and [r["id"] for r in read_jsonl(current)] == ["id-00002"]


WRITER = """
import sys, time
from pipeline.writers.jsonl import JsonlSink
from pipeline.writers.rotation import RotationPolicy
sink = JsonlSink(sys.argv[1], policy=RotationPolicy(max_bytes=3000))
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))   # all start together
for n in range(1000):
    sink.write({"id": f"id-{n:05d}", "by": sys.argv[3]})
    time.sleep(0.001)
"""


def test_processes_sharing_a_directory_rotate_without_losing_or_doubling_a_line(tmp_path):
    current = tmp_path / "enriched.jsonl"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    start = str(time.time() + 2)
    # four processes write the same ids at the same pace into one rotating output: each id once
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(current), start, str(w)], env=env)
               for w in range(4)]
    assert [w.wait(timeout=60) for w in writers] == [0, 0, 0, 0]
    ids = _ids(current)
    assert sorted(ids) == [f"id-{n:05d}" for n in range(1000)]
    assert len(rotation.closed_files(current)) > 5


def test_an_unwritable_output_still_fails_loudly(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")   # fails for root too, unlike a chmod
    with pytest.raises(OSError):
        JsonlFiles(blocked / "out", policy=RotationPolicy()).write("enriched.jsonl", _record(1))
    full = tmp_path / "out"
    sink = JsonlSink(full / "enriched.jsonl", policy=RotationPolicy(max_bytes=300))
    sink.write(_record(1))
    shutil.rmtree(full)
    full.write_text("now a file")           # the directory replaced under a running sink
    with pytest.raises(OSError):
        sink.write(_record(2))


def test_re_sending_dead_letters_reads_the_rotated_files_too(tmp_path):
    from pipeline.contracts.deadletter import dead_letter, letter_key
    from pipeline.kafka.replay import from_deadletter

    current = tmp_path / "deadletter.jsonl"
    sink = JsonlSink(current, key=letter_key, policy=RotationPolicy(max_bytes=600))
    for offset in range(12):
        sink.write(dead_letter(payload=b"p%d" % offset, kind="not_json", message="m", stage="language", topic="raw",
                               partition=0, offset=offset, key=b"k%d" % offset))
    assert rotation.closed_files(current)
    assert [item.payload for item in from_deadletter(current)] == [b"p%d" % n for n in range(12)]


def test_a_closed_file_gzipped_between_listing_and_reading_is_read_from_its_gz(tmp_path, monkeypatch):
    current = tmp_path / "enriched.jsonl"
    sink = JsonlSink(current, policy=RotationPolicy(max_bytes=1000))
    for n in range(30):
        sink.write(_record(n))
    sink.close()
    listed = rotation.closed_files(current)
    for plain in listed:   # as the gzip thread does, after closed_files listed the plain names
        rotation._gzip(plain)
    monkeypatch.setattr(rotation, "closed_files", lambda _current: listed)
    again = JsonlSink(current, policy=RotationPolicy(max_bytes=1000))
    assert not again.write(list(read_output(current))[-len(read_jsonl(current)) - 1])
