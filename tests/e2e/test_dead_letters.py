"""Dead letters end to end on the real broker and PostgreSQL, with both worker groups running.

* Oversized bad messages (an 800 KB non-UTF-8 payload, a 180 KB bad record, 900 KB of
  JSON) on ``leads.scraped`` become small dead letters and every partition's lag reaches
  0 — before, such a dead letter was over the producer's 1 MB limit, was never acked,
  and held its partition's commits for ever.
* A SendGrid outage dead-letters the leads that reach the email stage; once it is over,
  ``dlq replay`` puts them back and each ends as it would have without the outage: emailed
  once, its record otherwise unchanged. Replaying again puts nothing back.

One demo (its own topics, schema and consumer groups) serves both tests.
"""

from __future__ import annotations

import hashlib

import orjson
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer

from leadstream.demo import Demo, DemoOptions
from leadstream.dlq import Replayer
from leadstream.producer import LeadProducer
from simulator import sendgrid as sim_sendgrid
from simulator.leads import generate_leads
from storage.dead_letters import DeadLetterStore
from streams.admin import bootstrap_servers

pytestmark = [pytest.mark.services, pytest.mark.slow]

SEED = 5
DEAD_LETTER_CAP = 64 * 1024


@pytest_asyncio.fixture(scope="module")
async def demo(kafka_broker, database_url):
    run = Demo(DemoOptions(leads=0, seed=SEED, partitions=4, timeout_s=240))
    await run.start()
    try:
        yield run
    finally:
        await run.stop()


async def _states(demo: Demo, lead_ids: list[str]) -> dict[str, str | None]:
    rows = await demo.pool.fetch("SELECT lead_id, state FROM leads WHERE lead_id = ANY($1::text[])", lead_ids)
    return {r["lead_id"]: r["state"] for r in rows}


async def _dead_letter_messages(demo: Demo, stage: str, count: int) -> list[tuple[int, dict]]:
    """(size of key + value + headers, JSON value) of the first `count` messages on ``deadletter.<stage>``."""
    topic = demo.env["LEADSTREAM_TOPIC_PREFIX"] + f"deadletter.{stage}"
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers(demo.env["LEADSTREAM_KAFKA_BROKER"]), auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[tuple[int, dict]] = []
    try:
        for _ in range(60):
            if len(out) >= count:
                break
            batch = await consumer.getmany(timeout_ms=1000)
            for record in (r for records in batch.values() for r in records):
                size = len(record.value) + len(record.key or b"") + sum(len(k) + len(v) for k, v in record.headers)
                out.append((size, orjson.loads(record.value)))
    finally:
        await consumer.stop()
    return out


async def test_oversized_bad_messages_are_dead_lettered_small_and_every_partition_drains(demo):
    originals = {
        "ld_big_binary": b"\x80\xfe" + bytes(range(256)) * 3125,  # 800 KB, not UTF-8
        "ld_bad_180k": orjson.dumps({"source": "csv", "zip": "10002", "nam": "x" * 180_000}),  # no name
        "ld_json_900k": orjson.dumps({"source": "csv", "name": "A" * 900_000, "zip": "10002"}),
    }
    async with LeadProducer(demo.env["LEADSTREAM_KAFKA_BROKER"], demo.env["LEADSTREAM_TOPIC_PREFIX"]) as producer:
        await producer.push_leads((lead_id, "z100", payload) for lead_id, payload in originals.items())
    snap = await demo.wait_until_drained(list(originals))
    assert "enrich" in snap.lag and snap.total_lag == 0, snap.lag  # no partition held back by a dead letter
    assert await _states(demo, list(originals)) == dict.fromkeys(originals, "dead_lettered")

    messages = await _dead_letter_messages(demo, "enrich", len(originals))
    by_lead = {body["lead_id"]: (size, body) for size, body in messages}
    assert set(by_lead) == set(originals)
    rows = {
        r["lead_id"]: r
        for r in await demo.pool.fetch(
            "SELECT lead_id, payload, payload_sha256 FROM dead_letters WHERE stage = 'enrich'"
        )
    }
    for lead_id, payload in originals.items():
        size, body = by_lead[lead_id]
        assert size <= DEAD_LETTER_CAP and body["payload_truncated"] is True, lead_id
        ref = body["payload_ref"]
        assert ref["size"] == len(payload) and ref["sha256"] == hashlib.sha256(payload).hexdigest()
        assert bytes(rows[lead_id]["payload"]) == payload and rows[lead_id]["payload_sha256"] == ref["sha256"]


async def test_leads_dead_lettered_by_an_outage_end_as_they_would_have_after_replay(demo):
    leads = [g for g in generate_leads(120, SEED) if g.kind == "original"][:60]
    ids = [g.lead_id for g in leads]
    demo.sim.config.update({"sendgrid": {"down": True}})
    await demo.push_generated(leads)
    snap = await demo.wait_until_drained(ids)
    assert "email" in snap.lag and snap.total_lag == 0 and snap.in_flight == 0
    hit = await demo.pool.fetch(
        "SELECT lead_id, score, tier, entity_id, record->'mockup' AS mockup FROM leads "
        "WHERE lead_id = ANY($1::text[]) AND state = 'dead_lettered' AND stage = 'email'",
        ids,
    )
    assert len(hit) >= 5, "the outage dead-lettered too few leads for the test to prove anything"
    letters = await DeadLetterStore(demo.pool).recent(stage="email", limit=1000)
    assert {d.error_type for d in letters} == {"TransientProviderError"} and all(d.attempts == 4 for d in letters)
    assert sim_sendgrid.summary(demo.sim)["messages"] == 0
    unaffected = {lead_id: state for lead_id, state in (await _states(demo, ids)).items() if state != "dead_lettered"}

    demo.sim.config.update({"sendgrid": {"down": False}})
    store = DeadLetterStore(demo.pool)
    async with Replayer(store, demo.env["LEADSTREAM_KAFKA_BROKER"]) as replayer:
        report = await replayer.replay(stages=["email"])
        assert sorted(d.lead_id for d in letters if d.id in report.replayed) == sorted(r["lead_id"] for r in hit)
        snap = await demo.wait_until_drained(ids)
        again = await replayer.replay(stages=["email"])
    assert again.replayed == [] and again.refused == []  # each dead letter is replayed once

    states = await _states(demo, ids)
    assert all(states[r["lead_id"]] == "emailed" for r in hit), {r["lead_id"]: states[r["lead_id"]] for r in hit}
    assert {lead_id: states[lead_id] for lead_id in unaffected} == unaffected  # the rest untouched
    after = {
        r["lead_id"]: r
        for r in await demo.pool.fetch(
            "SELECT lead_id, score, tier, entity_id, record->'mockup' AS mockup FROM leads WHERE lead_id = ANY($1)",
            [r["lead_id"] for r in hit],
        )
    }
    for before in hit:  # the replay redid the email, nothing else
        now = after[before["lead_id"]]
        assert (now["score"], now["tier"], now["entity_id"], now["mockup"]) == (
            before["score"],
            before["tier"],
            before["entity_id"],
            before["mockup"],
        )
    emails = sim_sendgrid.summary(demo.sim)
    assert emails["duplicate_keys"] == [] and all(n == 1 for n in emails["by_recipient"].values())
    assert len(emails["by_idempotency_key"]) == len(hit)
