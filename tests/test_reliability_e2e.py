"""Reliability through the real broker: dead letters for bad input, exactly one outcome across SIGKILLs,
graceful SIGTERM, survival of a broker bounce."""

from __future__ import annotations

import random
import signal
import time

import orjson
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from kafka import KafkaProducer

from pipeline.contracts import codec, schemas
from pipeline.contracts.deadletter import original_payload
from pipeline.contracts.records import raw_article, utc_now
from pipeline.kafka.broker import make_broker
from pipeline.kafka.lag import snapshot as lag_snapshot
from pipeline.kafka.outcomes import outcome_key
from pipeline.writers.jsonl import read_jsonl
from pipeline.kafka.replay import Item
from pipeline.tools.synth import synthesize
from pipeline.kafka.topics import create_topics
from pipeline.tools.exactly_once import read_outputs

from conftest import NO_NER, SEEDS, make_stack, send_raw, send_with_kills, wait_for_workers

pytestmark = pytest.mark.slow
MAX_BYTES = 100_000


def good(i: int, text: str) -> dict:
    return raw_article(id=f"good-{i}", source="fuzz", text=text, ingested_at=utc_now())


def bad_inputs() -> list[tuple[str, bytes | None, str]]:
    """(key, payload, expected error kind): at least 20 kinds of malformed input."""
    ok = {"schema_version": 1, "id": "x", "source": "fuzz", "text": "Un texte parfaitement valable."}
    j = lambda **kw: orjson.dumps({**ok, **kw})  # noqa: E731
    drop = lambda field: orjson.dumps({k: v for k, v in ok.items() if k != field})  # noqa: E731
    return [
        ("bad-latin1", '{"text": "café"}'.encode("latin-1"), "not_utf8"),
        ("bad-binary", bytes(range(256)), "not_utf8"),
        ("bad-truncated-utf8", b'{"text": "\xc3"}', "not_utf8"),
        ("bad-plain-text", b"hello, this is not json", "not_json"),
        ("bad-truncated-json", b'{"id": "x", "text": "abc', "not_json"),
        ("bad-empty-payload", b"", "not_json"),
        ("bad-tombstone", None, "not_json"),
        ("bad-nan", b'{"id": "x", "text": NaN}', "not_json"),
        ("bad-bom", b"\xef\xbb\xbf" + j(id="bom"), "not_json"),
        ("bad-deep", b"[" * 2000 + b"]" * 2000, "not_json"),
        ("bad-array", b"[1, 2, 3]", "not_object"),
        ("bad-string", b'"just a string"', "not_object"),
        ("bad-number", b"42", "not_object"),
        ("bad-null", b"null", "not_object"),
        ("bad-no-text", drop("text"), "invalid_record"),
        ("bad-no-id", drop("id"), "invalid_record"),
        ("bad-no-version", drop("schema_version"), "invalid_record"),
        ("bad-text-int", j(id="bad-text-int", text=12345), "invalid_record"),
        ("bad-id-list", j(id=["a", "b"]), "invalid_record"),
        ("bad-version", j(id="bad-version", schema_version=99), "invalid_record"),
        ("bad-url", j(id="bad-url", url=12), "invalid_record"),
        ("bad-title", j(id="bad-title", title=3.14), "invalid_record"),
        ("bad-source", j(id="bad-source", source=""), "invalid_record"),
        ("bad-empty-text", j(id="bad-empty-text", text=""), "empty_text"),
        ("bad-blank-text", j(id="bad-blank-text", text="  \n\t  "), "empty_text"),
        ("bad-huge", j(id="bad-huge", text="mot " * (MAX_BYTES // 3)), "too_large"),
    ]


def generated_payloads(n: int = 25) -> list[bytes]:
    """Hypothesis-generated junk: random bytes and random JSON values (never a valid raw article)."""
    found: list[bytes] = []
    json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(max_size=30),
                               lambda children: st.lists(children, max_size=4)
                               | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)
    payloads = st.binary(max_size=200) | json_values.map(lambda v: orjson.dumps(v))

    @hsettings(max_examples=n, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(payloads)
    def collect(payload):
        found.append(payload)

    collect()
    return found


def test_bad_input_goes_to_dead_letters_with_the_right_kind_and_good_input_is_enriched(stack_factory):
    stack = stack_factory(NEWSFEED_MAX_MESSAGE_BYTES=MAX_BYTES)
    stack.start_worker()
    texts = [a["text"] for a in synthesize(12, SEEDS, mix="unique=1", seed=3).articles]
    # noise removal never empties an article (issue 35): a text that is all "noise" is enriched as it came
    noise_only = good(len(texts), "Menu\nCrédit photo, Getty Images\nLibération")
    goods = [good(i, t) for i, t in enumerate(texts)] + [noise_only]
    bads = bad_inputs()
    assert len({kind for _k, _p, kind in bads}) >= 6 and len(bads) >= 20
    junk = [(f"junk-{i}", p) for i, p in enumerate(generated_payloads())]
    producer = KafkaProducer(bootstrap_servers=stack.address, acks="all", max_request_size=4 * MAX_BYTES)
    topic = stack.settings.topic("raw")
    stream = [(a["id"], codec.encode(a)) for a in goods] + [(k, p) for k, p, _ in bads] + junk
    random.Random(1).shuffle(stream)           # bad and good interleaved
    for key, payload in stream:
        producer.send(topic, key=key.encode(), value=payload)
    producer.flush()
    producer.close()
    # keys: a dead letter is named by the article id when the payload has one, else by its message key
    expected_keys = {a["id"] for a in goods}
    outcomes = stack.outcomes(expected_keys, timeout=240)
    time.sleep(2)   # deadletter.jsonl is written by its own agent, after the letters reach the topic
    letters = read_jsonl(stack.output / "deadletter.jsonl")
    by_key = {letter["source"]["key"]: letter for letter in letters}
    for key, payload, kind in bads:
        assert key in by_key, f"{key} was not dead-lettered"
        letter = by_key[key]
        assert letter["error"]["kind"] == kind, (key, letter["error"])
        assert letter["error"]["message"]
        assert schemas.errors("deadletter", letter) == []
        # the original payload is kept byte for byte (base64 when it is not UTF-8)
        assert original_payload(letter) == (payload or b"")
        assert (letter["payload_encoding"] == "base64") == (kind == "not_utf8")
    for key, payload in junk:
        assert key in by_key, f"generated junk {payload[:40]!r} was not dead-lettered"
    assert set(outcomes.records["enriched"]) == expected_keys
    assert outcomes.records["enriched"][noise_only["id"]]["text"] == noise_only["text"]
    assert len(letters) == len(bads) + len(junk)   # logged once each


def test_replay_from_deadletter_sends_the_original_payloads(stack_factory, tmp_path):
    from pipeline.kafka.replay import from_deadletter

    letters = tmp_path / "deadletter.jsonl"
    from pipeline.contracts.deadletter import dead_letter
    rows = [dead_letter(payload=b"\xff\xfe", kind="not_utf8", message="m", stage="language", topic="t",
                        partition=0, offset=1, key=b"k1"),
            dead_letter(payload=codec.encode(raw_article(id="fixed", source="s", text="Bonjour à tous.")),
                        kind="stage_error", message="m", stage="entities", topic="t", partition=0, offset=2,
                        key=b"fixed", record_id="fixed")]
    letters.write_bytes(b"".join(codec.encode_line(r) for r in rows))
    items = from_deadletter(letters)
    assert [i.payload for i in items] == [b"\xff\xfe", codec.encode(orjson.loads(rows[1]["payload"]))]
    assert [i.key for i in items] == ["k1", "fixed"]


def test_every_input_has_exactly_one_outcome_across_three_sigkills(stack_factory):
    stack = stack_factory()
    syn = synthesize(150, SEEDS, mix="unique=0.8,exact=0.1,near=0.1", seed=21)
    bads = [(k, p) for k, p, _ in bad_inputs()[:6]]
    stack.start_worker()
    wait_for_workers(stack, settle=1)
    started = time.monotonic()
    steps = [[(a["id"].encode(), codec.encode({**a, "ingested_at": utc_now()}))]
             + [(k.encode(), p) for k, p in bads[i:i + 1]] for i, a in enumerate(syn.articles)]
    kills = send_with_kills(stack, steps, kill_after={30, 75, 120}, pause=4)   # mid-stream, restarted at once
    assert kills == 3
    keys = {a["id"] for a in syn.articles} | {k for k, _ in bads}
    outcomes = stack.outcomes(keys, timeout=400)
    enriched, dups, dead = (set(outcomes.records[k]) for k in ("enriched", "duplicates", "deadletter"))
    assert enriched | dups | dead == keys                                 # none lost
    assert not (enriched & dups) and not (enriched & dead) and not (dups & dead)   # exactly one
    assert outcomes.copies == {"enriched": 0, "duplicates": 0, "deadletter": 0}   # none twice on a topic
    time.sleep(3)   # duplicates.jsonl is written by its own agent
    for name, expected in (("enriched.jsonl", enriched), ("duplicates.jsonl", dups)):
        ids = [r["id"] for r in read_jsonl(stack.output / name)]
        assert len(ids) == len(set(ids)), f"{name} has a record twice"
        assert set(ids) == expected
    print(f"kills survived: {kills}; {len(keys)} inputs; lost 0; duplicated 0; "
          f"{time.monotonic() - started:.0f}s")


def test_a_sigkill_while_raw_records_are_read_again_writes_no_enriched_record_twice(stack_factory):
    """Killed a moment into a fast backlog: the raw records it read after its last commit go through
    language again and reach `languaged` twice (new offsets); both copies must still make one enriched
    record (unique is partitioned by id, so the second copy meets the first's read-back)."""
    stack = stack_factory(NEWSFEED_PARTITIONS=6, NEWSFEED_NER_MODELS=NO_NER, NEWSFEED_NER_PROCESSES=0)
    stack.start_worker()
    wait_for_workers(stack, settle=1)
    syn = synthesize(1500, SEEDS, mix="unique=1.0", seed=3)
    stack.replay_items([Item(a["id"], article=dict(a)) for a in syn.articles])
    time.sleep(1.5)   # mid-backlog: language is ahead of its last commit (every 1 s)
    stack.workers[0].send_signal(signal.SIGKILL)
    stack.workers[0].wait()
    stack.start_worker()
    keys = {a["id"] for a in syn.articles}
    outcomes = stack.outcomes(keys, timeout=300)
    assert set(outcomes.records["enriched"]) == keys
    assert outcomes.copies["enriched"] == 0, f"{outcomes.copies['enriched']} enriched records twice on the topic"
    ids = [r["id"] for r in read_jsonl(stack.output / "enriched.jsonl")]
    assert len(ids) == len(set(ids)) == len(keys)


def test_every_input_read_again_writes_no_output_twice(stack_factory):
    """Every stage reads all of its input again (a worker group of another name over the same topics, as after
    an operator's rewind, or a crash's uncommitted tail at every stage at once): each input keeps its one
    outcome, once on each output topic and once in each file."""
    stack = stack_factory(NEWSFEED_NER_MODELS=NO_NER, NEWSFEED_NER_PROCESSES=0)
    stack.start_worker()
    wait_for_workers(stack, settle=1)
    syn = synthesize(40, SEEDS, mix="unique=0.6,exact=0.2,near=0.2", seed=8)
    bads = [(k, p) for k, p, _ in bad_inputs()[:5]]
    send_raw(stack, syn.articles)
    producer = KafkaProducer(bootstrap_servers=stack.address, acks="all")
    for key, payload in bads:
        producer.send(stack.settings.topic("raw"), key=key.encode(), value=payload)
    producer.flush()
    producer.close()
    keys = {a["id"] for a in syn.articles} | {k for k, _ in bads}
    first = stack.outcomes(keys, timeout=240)
    assert first.copies == {"enriched": 0, "duplicates": 0, "deadletter": 0}
    assert first.records["duplicates"] and len(first.records["deadletter"]) == len(bads)
    stack.stop()

    stack.env["NEWSFEED_APP_ID"] += "-again"   # a group with no offsets: every input from its beginning
    stack.start_worker()
    deadline, previous_calm = time.monotonic() + 240, False
    while True:   # the worker read everything again: no stage lags, twice in a row
        calm = all(p.lag == 0 for p in lag_snapshot(stack.settings, stack.address))
        if calm and previous_calm:
            break
        previous_calm = calm
        assert time.monotonic() < deadline, "the rewound worker did not catch up"
        time.sleep(3)
    stack.stop()
    again = read_outputs(stack.address, stack.settings)
    assert again.copies == {"enriched": 0, "duplicates": 0, "deadletter": 0}, again.copies
    assert {k: set(v) for k, v in again.records.items()} == {k: set(v) for k, v in first.records.items()}
    for name in ("enriched.jsonl", "duplicates.jsonl", "deadletter.jsonl"):
        lines = [outcome_key(name.split(".")[0], r) for r in read_jsonl(stack.output / name)]
        assert len(lines) == len(set(lines)), f"{name} has a record twice"


def test_sigterm_with_a_batch_in_flight_exits_within_ten_seconds_and_loses_nothing(stack_factory):
    stack = stack_factory(NEWSFEED_NER_BATCH_SIZE=24, NEWSFEED_NER_BATCH_WAIT=1)
    worker = stack.start_worker()
    wait_for_workers(stack, settle=1)
    syn = synthesize(40, SEEDS, mix="unique=1", seed=8)
    articles = [{**a, "text": a["text"] * 4} for a in syn.articles]   # long: the batch takes a while
    keys = send_raw(stack, articles)
    time.sleep(6)    # language and dedup are done, a NER batch is running
    stopped = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    worker.wait(30)
    took = time.monotonic() - stopped
    assert took < 10, f"SIGTERM took {took:.1f}s"
    stack.start_worker()
    outcomes = stack.outcomes(keys, timeout=300)
    assert set(outcomes.records["enriched"]) == set(keys) and outcomes.copies["enriched"] == 0
    ids = [r["id"] for r in read_jsonl(stack.output / "enriched.jsonl")]
    assert sorted(ids) == sorted(keys)
    print(f"SIGTERM shutdown took {took:.2f}s")


# The first absence: several of the watchdog's checks (1 s apart) see the broker unreachable.
BOUNCE_AWAY = 4
# The give-up (NEWSFEED_BROKER_WAIT, the documented setting) outlasts that absence plus the engine's restart with
# the same ~8 s margin on both (Tansu restarts in under a second, Kafka in ~8 s here); it is also how long the
# test then waits for the exit, so no longer than that.
BOUNCE_BROKER_WAIT = {"tansu": 12, "kafka": 20}


def test_worker_survives_a_broker_bounce_and_gives_up_when_it_stays_away(engine, tmp_path):
    broker = make_broker(engine).start()
    stack = make_stack(broker, tmp_path, NEWSFEED_BROKER_WAIT=BOUNCE_BROKER_WAIT[engine])
    worker = stack.start_worker()
    try:
        wait_for_workers(stack, settle=1)
        first = send_raw(stack, [raw_article(id="before", source="t", text="Emmanuel Macron est arrivé à Berlin.")])
        assert stack.outcomes(first).records["enriched"]
        broker.halt()
        time.sleep(BOUNCE_AWAY)                          # away for a while: the worker must not die
        assert worker.poll() is None
        broker.start()       # back on the same port (Tansu: memory storage, empty; Kafka: its storage kept)
        create_topics(stack.settings, broker.address)
        after = send_raw(stack, [raw_article(id="after", source="t", text="Olaf Scholz a reçu Emmanuel Macron.")])
        outcomes = stack.outcomes(after, timeout=120)
        assert "after" in outcomes.records["enriched"]
        log = (stack.output / "worker-0.log").read_text(errors="replace")
        assert "unreachable" in log and "is back" in log
        broker.halt()                                     # now it stays away
        deadline = time.monotonic() + 60
        while worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert worker.poll() == 3, "the worker should exit with an error once NEWSFEED_BROKER_WAIT passed"
        assert "exiting" in (stack.output / "worker-0.log").read_text(errors="replace")
    finally:
        stack.stop()
        broker.stop()
