"""Dead-letter header construction and readiness bookkeeping (pure functions; the end-to-end checks are in
test_deadletter_headers_e2e.py and test_http_e2e.py)."""

from pipeline.contracts.deadletter import HEADER_PREFIX, StageError, dead_letter, describe, error_headers
from pipeline.runtime.health import Readiness


def letter_for(exc: BaseException) -> dict:
    kind, message = describe(exc)
    return dead_letter(payload=b"x", kind=kind, message=message, stage="language", topic="t.raw", partition=1,
                       offset=42, key=b"k")


def test_describe_keeps_a_stage_errors_kind_and_calls_anything_else_a_stage_error():
    assert describe(StageError("too_large", "3 MB")) == ("too_large", "3 MB")
    assert describe(KeyError("text")) == ("stage_error", "KeyError: 'text'")


def test_error_headers_keep_the_original_headers_first_then_where_and_why():
    exc = StageError("not_json", "line 1")
    for original in ([("trace-id", b"1"), ("trace-id", b"2")], {"trace-id": b"1"}, None):
        headers = error_headers(letter_for(exc), exc, original)
        kept = [h for h in headers if not h[0].startswith(HEADER_PREFIX)]
        assert kept == (list(original.items()) if isinstance(original, dict) else original or [])
        assert headers[:len(kept)] == kept
    facts = {k[len(HEADER_PREFIX):]: v for k, v in error_headers(letter_for(exc), exc) if k.startswith(HEADER_PREFIX)}
    assert facts == {"topic": b"t.raw", "partition": b"1", "offset": b"42", "stage": b"language", "kind": b"not_json",
                     "exception.class": b"pipeline.contracts.deadletter.StageError", "exception.message": b"line 1"}


def test_a_condition_with_parts_is_ready_when_the_last_part_is_done():
    readiness = Readiness()
    readiness.pending("models", {"language", "entities"}, "models not loaded yet")
    readiness.done("models", "language")
    assert readiness.report()["failing"]["models"]["reason"] == "models not loaded yet: entities"
    readiness.done("models", "entities")
    assert readiness.ready
    readiness.pending("models", set(), "models not loaded yet")   # a worker without model stages
    assert readiness.ready
