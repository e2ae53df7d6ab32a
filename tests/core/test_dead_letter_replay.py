"""Dead letters in PostgreSQL and their replay onto the real broker (no worker processes here).

The whole original — key, raw headers, an 800 KB non-UTF-8 payload — survives the
round trip; a replay puts it back once, with a ``dlq-replayed-from`` header; a
lead that already ended is refused unless forced.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from leadstream.dlq import H_REPLAYED_FROM, Replayer, parse_since
from schemas import Lead, TerminalState
from storage.dead_letters import DeadLetterStore
from storage.records import DeadLetter, LeadRecords, RecordUpdate
from streams.admin import bootstrap_servers, ensure_topics

pytestmark = pytest.mark.services

BIG = b"\xff\x00\xfe" + bytes(range(256)) * 3125  # 800,003 bytes, not UTF-8


def letter(
    offset: int, lead_id: str | None, *, topic: str = "t.leads.scraped", payload: bytes = b"{}", **kw
) -> DeadLetter:
    values = dict(
        stage="enrich",
        lead_id=lead_id,
        geo_key="z989",
        topic=topic,
        partition=0,
        offset=offset,
        error_type="TransientProviderError",
        reason="gave up after 4 attempts: hunter: HTTP 503",
        attempts=4,
        payload=payload,
        trace_id="t" * 32,
        ingest_ms=1_700_000_000_000,
        key=b"z989",
        headers=(("lead-id", (lead_id or "").encode()), ("x-bin", b"\x00\xff\x80"), ("empty", b"")),
    )
    values.update(kw)
    return DeadLetter(**values)  # type: ignore[arg-type]


async def test_the_whole_original_is_kept_and_read_back(pool):
    await LeadRecords(pool).dead_letter([letter(85, "ld_big", payload=BIG)])
    store = DeadLetterStore(pool)
    [listed] = await store.recent(stage="enrich")
    assert listed.size == len(BIG) and listed.sha256 == hashlib.sha256(BIG).hexdigest()
    assert listed.lead_state == "dead_lettered" and listed.replay_status is None and listed.payload is None
    full = await store.get(listed.id)
    assert full is not None and full.payload == BIG and full.key == b"z989"
    assert full.headers == (("lead-id", b"ld_big"), ("x-bin", b"\x00\xff\x80"), ("empty", b""))
    assert await store.find("enrich", "t.leads.scraped", 0, 85) == listed.id


async def test_filters_and_only_the_latest_dead_letter_of_a_lead_is_replayable(pool):
    records, store = LeadRecords(pool), DeadLetterStore(pool)
    await records.dead_letter([letter(1, "ld_a"), letter(2, "ld_b", error_type="InvalidMessage"), letter(3, None)])
    await records.dead_letter([letter(4, "ld_a")])  # the same lead again, later: supersedes offset 1
    await records.dead_letter([letter(5, "ld_c", stage="email", topic="t.emails.queued")])
    replayable = await store.replayable(stages=["enrich"])
    assert [(d.offset, d.lead_id) for d in replayable] == [(2, "ld_b"), (3, None), (4, "ld_a")]
    assert [d.offset for d in await store.replayable(stages=["enrich"], reasons=["InvalidMessage"])] == [2]
    both = await store.replayable(stages=["enrich"], reasons=["InvalidMessage", "TransientProviderError"])
    assert [d.offset for d in both] == [2, 3, 4]
    assert await store.replayable(stages=["enrich"], since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert await store.replayable(stages=["enrich"], before=datetime.now(UTC) - timedelta(minutes=1)) == []  # too new
    assert len(await store.replayable(stages=["enrich"], before=datetime.now(UTC) + timedelta(minutes=1))) == 3
    assert [d.lead_id for d in await store.replayable(stages=["email"])] == ["ld_c"]
    assert [d.offset for d in await store.replayable(stages=["enrich", "email"])] == [2, 3, 4, 5]  # one query


async def test_a_claim_is_taken_once_and_clears_the_lead_state_and_release_gives_it_back(pool):
    records, store = LeadRecords(pool), DeadLetterStore(pool)
    await records.dead_letter([letter(1, "ld_a")])
    [d] = await store.replayable(stages=["enrich"])
    assert (await store.claim(d)).ok
    assert await pool.fetchval("SELECT state FROM leads WHERE lead_id = 'ld_a'") is None  # the runner will not skip it
    again = await store.claim(d)
    assert not again.ok and again.refusal == "already replayed"
    assert await store.replayable(stages=["enrich"]) == []
    assert [x.id for x in await store.replayable(stages=["enrich"], include_claimed=True)] == [d.id]  # never sent
    await store.release(d)  # the broker did not take it
    row = await pool.fetchrow("SELECT state, state_reason FROM leads WHERE lead_id = 'ld_a'")
    assert row["state"] == "dead_lettered" and row["state_reason"].startswith("TransientProviderError")
    assert [x.id for x in await store.replayable(stages=["enrich"])] == [d.id]


async def test_a_lead_that_already_ended_otherwise_is_refused_unless_forced(pool):
    records, store = LeadRecords(pool), DeadLetterStore(pool)
    await records.dead_letter([letter(1, "ld_done")])
    await pool.execute("UPDATE leads SET state = NULL WHERE lead_id = 'ld_done'")  # a later copy got through...
    lead = Lead(lead_id="ld_done", geo_key="z989", source="test", name="Valley Heating")
    await records.write([RecordUpdate(lead, "email", "t" * 32, 1, TerminalState.emailed)])  # ...and was emailed
    [d] = await store.replayable(stages=["enrich"])
    refused = await store.claim(d)
    assert not refused.ok and "already ended as 'emailed'" in (refused.refusal or "")
    assert await pool.fetchval("SELECT state FROM leads WHERE lead_id = 'ld_done'") == "emailed"
    assert (await store.claim(d, force=True)).ok
    assert await pool.fetchval("SELECT previous_state FROM dead_letter_replays") == "emailed"


def test_since_takes_an_age_or_a_time():
    now = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2025-04-30T08:00", now) == datetime(2025, 4, 30, 8, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="neither an age"):
        parse_since("yesterday", now)


async def _end_offset(broker: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers(broker))
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(2)])
        return sum(ends.values())
    finally:
        await consumer.stop()


async def _read_all(broker: str, topic: str) -> list:
    """Every message on `topic` (up to its end offsets now)."""
    expected = await _end_offset(broker, topic)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap_servers(broker), auto_offset_reset="earliest")
    await consumer.start()
    out: list = []
    try:
        while len(out) < expected:
            batch = await consumer.getmany(timeout_ms=1000)
            out.extend(record for records in batch.values() for record in records)
        return out
    finally:
        await consumer.stop()


async def test_replay_puts_the_original_back_once_with_its_headers(pool, kafka_broker, unique):
    topic = f"replay-{unique}.leads.scraped"
    await ensure_topics(kafka_broker, partitions=2, replication=1, prefix=f"replay-{unique}.")
    records, store = LeadRecords(pool), DeadLetterStore(pool)
    await records.dead_letter([letter(85, "ld_big", topic=topic, payload=BIG), letter(86, "ld_small", topic=topic)])
    async with Replayer(store, kafka_broker) as replayer:
        dry = await replayer.replay(stages=["enrich"], dry_run=True)
        assert len(dry.would_replay) == 2 and await _end_offset(kafka_broker, topic) == 0  # nothing sent
        first = await replayer.replay(stages=["enrich"])
        second = await replayer.replay(stages=["enrich"])  # the same command again
    assert len(first.replayed) == 2 and second.replayed == [] and second.refused == []
    messages = await _read_all(kafka_broker, topic)
    assert len(messages) == 2  # one copy each, however often the replay ran
    big = next(m for m in messages if m.value == BIG)
    assert big.key == b"z989"
    assert big.headers[:3] == (("lead-id", b"ld_big"), ("x-bin", b"\x00\xff\x80"), ("empty", b""))
    ids = {row["lead_id"]: row["id"] for row in await pool.fetch("SELECT id, lead_id FROM dead_letters")}
    assert big.headers[3] == (H_REPLAYED_FROM, str(ids["ld_big"]).encode())
    sent = await pool.fetch("SELECT status, kafka_offset FROM dead_letter_replays ORDER BY dead_letter_id")
    assert [r["status"] for r in sent] == ["sent", "sent"] and all(r["kafka_offset"] is not None for r in sent)
    assert await pool.fetchval("SELECT count(*) FROM leads WHERE state IS NULL") == 2  # in flight again


async def test_the_runner_writes_hostile_dead_letters_into_postgresql(pool):
    """NUL characters and absurd sizes in headers and keys must not make the dead letter itself fail."""
    from types import SimpleNamespace

    from streams.runner import StageRunner
    from streams.stage import Stage

    sent = []

    async def send(topic, key, value, headers):
        sent.append((topic, key, value, headers))

        async def delivered():
            return None

        return delivered()

    class Enrich(Stage[Lead]):
        name = "enrich"

    message = SimpleNamespace(
        topic="t.leads.scraped",
        partition=3,
        offset=9,
        key=b"k" * 300_000,
        timestamp=1.0,
        headers=[("lead-id", b"ld_\x00nul"), ("trace-id", b"\x00" * 40), ("x\x00name", b"v")],
        tp=("t.leads.scraped", 3),
    )
    runner = StageRunner(Enrich(), LeadRecords(pool), send)
    await runner.process_batch([SimpleNamespace(message=message, value=BIG)])
    row = await pool.fetchrow("SELECT id, lead_id, octet_length(payload) AS size, message_key FROM dead_letters")
    assert row["lead_id"] is None  # a header with NUL in it is no lead id (PostgreSQL could not even store it)
    assert row["size"] == len(BIG) and len(row["message_key"]) == 300_000
    stored = await DeadLetterStore(pool).get(row["id"])
    assert stored is not None and stored.headers[0] == ("lead-id", b"ld_\x00nul")  # kept as sent, for replay
    assert stored.headers[2] == ("x\x00name", b"v")
    [(topic, key, value, headers)] = sent
    assert topic == "deadletter.enrich" and len(value) + len(key) + sum(map(len, headers.values())) < 64 * 1024


async def test_an_unattended_replay_leaves_a_lead_that_keeps_failing_to_an_operator(pool, kafka_broker, unique):
    """``--max-replays 2``: a lead is replayed after its first and second dead letters; when it fails a third
    time its cause did not go away, and the replay refuses it (an operator can still replay it without the cap).
    Only the transient reasons named are replayed."""
    topic = f"cap-{unique}.leads.scraped"
    await ensure_topics(kafka_broker, partitions=2, replication=1, prefix=f"cap-{unique}.")
    records, store = LeadRecords(pool), DeadLetterStore(pool)
    transient = ["TransientProviderError", "ProviderUnavailable"]
    await records.dead_letter([letter(90, "ld_bad", topic=topic, error_type="InvalidMessage")])
    async with Replayer(store, kafka_broker) as replayer:
        for n, error_type in enumerate(("TransientProviderError", "ProviderUnavailable", "TransientProviderError")):
            # the lead failed again after each replay (a new dead letter, as the runner writes one)
            await records.dead_letter([letter(100 + n, "ld_flaky", topic=topic, error_type=error_type)])
            report = await replayer.replay(stages=["enrich"], reasons=transient, max_replays=2)
            if n < 2:
                assert len(report.replayed) == 1 and report.refused == [], report
            else:
                assert report.replayed == [] and len(report.refused) == 1
                assert "replayed 2 times and failed again" in report.refused[0][1]
        assert await pool.fetchval("SELECT state FROM leads WHERE lead_id = 'ld_flaky'") == "dead_lettered"
        by_hand = await replayer.replay(stages=["enrich"], reasons=transient)  # the guard: without the cap it goes
    assert len(by_hand.replayed) == 1
    assert len(await _read_all(kafka_broker, topic)) == 3  # the invalid message was never put back


async def test_the_unattended_replays_backlog_is_the_age_of_what_it_should_have_sent(pool):
    """`oldest_unattended_s` asks what the CronJob would send (`UNATTENDED`), as of a given time: a transient letter
    counts once 15 min old and until 24 h; not bad input, not a letter its lead's later one superseded, not one
    replayed, not one whose lead ended otherwise, not one of a lead replayed 3 times already. None: 0."""
    records, store = LeadRecords(pool), DeadLetterStore(pool)
    t0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

    def at(minutes: float) -> datetime:
        return t0 + timedelta(minutes=minutes)

    async def dead_letter(offset: int, lead_id: str, minutes: float, **kw) -> None:
        await records.dead_letter([letter(offset, lead_id, **kw)])
        await pool.execute("UPDATE dead_letters SET created_at = $1 WHERE kafka_offset = $2", at(minutes), offset)

    async def backlog_min(minutes: float) -> float:
        return await store.oldest_unattended_s(now=at(minutes)) / 60

    assert await store.oldest_unattended_s() == 0.0
    await dead_letter(1, "ld_a", 0)
    await dead_letter(2, "ld_bad", -120, error_type="InvalidMessage")  # waits for a person, not for the job
    await dead_letter(3, "ld_old", -25 * 60)  # older than the job's 24 h
    assert await backlog_min(10) == 0  # not 15 min old yet: the job would not take it
    assert await backlog_min(40) == 40
    await dead_letter(4, "ld_ended", -30)
    assert await backlog_min(40) == 70  # the guard of the next line
    await pool.execute("UPDATE leads SET state = 'emailed' WHERE lead_id = 'ld_ended'")  # a later copy got through
    assert await backlog_min(40) == 40
    await dead_letter(5, "ld_a", 20)  # the lead failed again: its later letter is the one the job sends
    assert await backlog_min(40) == 20
    [latest] = [d for d in await store.replayable(stages=["enrich"]) if d.lead_id == "ld_a"]
    assert (await store.claim(latest)).ok
    assert await backlog_min(40) == 0  # claimed: the job has it
    for n in range(3):  # a lead whose letters were replayed 3 times, failing again each time
        await dead_letter(10 + n, "ld_flaky", -60 + n)
        [flaky] = [d for d in await store.replayable(stages=["enrich"]) if d.lead_id == "ld_flaky"]
        assert (await store.claim(flaky)).ok
        await store.mark_sent(flaky.id, 0, n)
    await dead_letter(13, "ld_flaky", -50)
    assert await backlog_min(40) == 0  # left to an operator (--max-replays 3)
    await pool.execute("DELETE FROM dead_letter_replays WHERE dead_letter_id = $1", flaky.id)
    assert await backlog_min(40) == 90  # the guard: with 2 replays, the job would send it


async def test_a_worker_serves_the_backlog_on_metrics(pool):
    from prometheus_client import REGISTRY

    from leadstream.telemetry import sample_dead_letters

    await LeadRecords(pool).dead_letter([letter(1, "ld_a")])
    created = await pool.fetchval("SELECT created_at FROM dead_letters")
    assert await sample_dead_letters(DeadLetterStore(pool), now=created + timedelta(minutes=50)) == 3000
    assert REGISTRY.get_sample_value("leadstream_dead_letters_unattended_oldest_seconds") == 3000
