from pipeline.contracts.deadletter import dead_letter, letter_key
from pipeline.writers.jsonl import JsonlSink, read_jsonl


def test_write_is_idempotent_by_id(tmp_path):
    sink = JsonlSink(tmp_path / "enriched.jsonl")
    assert sink.write({"id": "a", "n": 1}) and not sink.write({"id": "a", "n": 2}) and sink.write({"id": "b"})
    assert read_jsonl(tmp_path / "enriched.jsonl") == [{"id": "a", "n": 1}, {"id": "b"}]


def test_a_restarted_sink_remembers_what_the_file_holds(tmp_path):
    JsonlSink(tmp_path / "e.jsonl").write({"id": "a"})
    again = JsonlSink(tmp_path / "e.jsonl")
    assert not again.write({"id": "a"}) and len(read_jsonl(tmp_path / "e.jsonl")) == 1


def test_two_writers_on_one_file_see_each_other(tmp_path):
    first, second = JsonlSink(tmp_path / "e.jsonl"), JsonlSink(tmp_path / "e.jsonl")
    assert first.write({"id": "x"})
    assert not second.write({"id": "x"})      # written by the other process after this one opened the file
    assert [r["id"] for r in read_jsonl(tmp_path / "e.jsonl")] == ["x"]


def test_a_torn_last_line_is_dropped_and_rewritten(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_bytes(b'{"id": "a"}\n{"id": "b", "te')
    sink = JsonlSink(path)
    assert not sink.write({"id": "a"}) and sink.write({"id": "b"})
    assert read_jsonl(path) == [{"id": "a"}, {"id": "b"}]


def test_dead_letters_are_keyed_by_stage_and_source_message(tmp_path):
    sink = JsonlSink(tmp_path / "deadletter.jsonl", key=letter_key)
    letter = dict(payload=b"x", kind="not_json", message="m", stage="language", topic="raw", partition=1, key=b"k")
    assert sink.write(dead_letter(offset=5, **letter))
    assert not sink.write(dead_letter(offset=5, **letter))   # the same failure, re-delivered
    assert sink.write(dead_letter(offset=6, **letter))
    assert len(read_jsonl(tmp_path / "deadletter.jsonl")) == 2
