import pytest

from pipeline.contracts import codec, schemas
from pipeline.contracts.records import parse_time, raw_article


def test_roundtrip_keeps_unicode():
    record = raw_article(id="a1", source="test", text="Sergueï Lavrov à Djeddah «citation»")
    assert codec.decode(codec.encode(record)) == record
    assert codec.encode_line(record).endswith(b"\n")


@pytest.mark.parametrize("payload, kind", [
    (b"\xff\xfe\x00bad", "not_utf8"),
    (b"{not json", "not_json"),
    (b"[1, 2]", "not_object"),
    (b"\"text\"", "not_object"),
    (None, "not_json"),
])
def test_decode_errors_name_their_kind(payload, kind):
    with pytest.raises(codec.DecodeError) as err:
        codec.decode(payload)
    assert err.value.kind == kind


def test_raw_article_is_schema_valid_and_omits_unknowns():
    record = raw_article(id="x", source="s", text="t", title=None, url="https://e.org/a", published_at="2025-03")
    assert "title" not in record and record["url"] == "https://e.org/a"
    assert schemas.errors("raw", record) == []


def test_raw_schema_rejects_wrong_types():
    problems = schemas.errors("raw", {"schema_version": 1, "id": 3, "source": "s", "text": ["no"]})
    assert any(p.startswith("id") for p in problems) and any(p.startswith("text") for p in problems)


@pytest.mark.parametrize("value, year, month, day", [
    ("2025-03", 2025, 3, 1), ("2025-03-16T19:07:00", 2025, 3, 16), ("2025-03-16T19:07:00Z", 2025, 3, 16),
    ("2025", 2025, 1, 1)])
def test_parse_time_accepts_reduced_precision(value, year, month, day):
    parsed = parse_time(value)
    assert (parsed.year, parsed.month, parsed.day) == (year, month, day) and parsed.tzinfo is not None


def test_parse_time_rejects_garbage():
    assert parse_time("yesterday") is None and parse_time(None) is None
