"""End to end on the real broker, PostgreSQL and Chromium: a worker process runs
all six stages while the simulator plays the outside world (with faults)."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from leadstream.demo import DEFAULT_JOBS, Demo, DemoOptions
from leadstream.progress import missing_terminal
from schemas import ScrapeJob
from simulator import sendgrid as sim_sendgrid
from simulator.core import SimConfig
from simulator.leads import generate_leads
from storage.dead_letters import DeadLetterStore
from storage.outbox import Outbox
from streams.admin import bootstrap_servers

pytestmark = [pytest.mark.services, pytest.mark.slow]


def faulty_world(seed: int) -> SimConfig:
    config = SimConfig(seed=seed)
    config.update(
        {
            "search": {"error_rate": 0.1},
            "web": {"error_rate": 0.03},
            "openai": {"garbage_rate": 0.2, "error_rate": 0.05},
            "sendgrid": {"error_rate": 0.05},
            "pagespeed": {"error_rate": 0.1},
            "hunter": {"error_rate": 0.1},
        }
    )
    return config


async def lead_states(demo: Demo) -> dict[str, str | None]:
    return {r["lead_id"]: r["state"] for r in await demo.pool.fetch("SELECT lead_id, state FROM leads")}


async def test_thousand_leads_reach_exactly_one_terminal_state(kafka_broker, database_url):
    seed = 11
    demo = Demo(DemoOptions(leads=1000, seed=seed, partitions=6, timeout_s=420))
    await demo.start(faulty_world(seed))
    try:
        generated = generate_leads(1000, seed)
        ids = [g.lead_id for g in generated]
        await demo.push_jobs([ScrapeJob(zip=z, vertical=v, max_results=10) for z, v in DEFAULT_JOBS])
        await demo.push_generated(generated)
        snap = await demo.wait_until_drained(ids)
        summary = await demo.summary(snap, ids)
        states = await lead_states(demo)
        stand_ins = {  # duplicates that went on in place of an entity's lead without an address (`merge.stand_in`)
            r["lead_id"]: r["first"]
            for r in await demo.pool.fetch(
                "SELECT lead_id, record->'dedupe'->>'duplicate_of' AS first FROM leads "
                "WHERE (record->'dedupe'->>'stands_in')::boolean"
            )
        }
        first_reasons = {
            r["lead_id"]: (r["state"], r["state_reason"])
            for r in await demo.pool.fetch(
                "SELECT lead_id, state, state_reason FROM leads WHERE lead_id = ANY($1::text[])",
                list(stand_ins.values()),
            )
        }
        outbox = {
            r["status"]: r["n"]
            for r in await demo.pool.fetch("SELECT status, count(*) AS n FROM email_outbox GROUP BY status")
        }
        emails = sim_sendgrid.summary(demo.sim)
        images = [
            [a["type"] for a in m["payload"].get("attachments", [])] for m in sim_sendgrid.sent_messages(demo.sim)
        ]
        emailed_with_mockup = await demo.pool.fetchval(
            "SELECT count(*) FROM leads WHERE state = 'emailed' AND jsonb_typeof(record->'mockup') = 'object'"
        )
        sent_not_emailed = await Outbox(demo.pool).sent_not_emailed()  # leads emailed whose record says otherwise
        # Every dead letter by lead: a valid lead dead-lettered must say at which stage and why.
        letters: dict[str | None, list[dict]] = {}
        for d in reversed(await DeadLetterStore(demo.pool).recent(limit=10_000)):
            letters.setdefault(d.lead_id, []).append(
                {"stage": d.stage, "error_type": d.error_type, "reason": d.reason, "attempts": d.attempts}
            )
        valid_lettered = {g.lead_id for g in generated if g.kind != "malformed" and g.lead_id in letters}
        log_lines = {
            name: [
                line for line in path.read_text(errors="replace").splitlines() if any(i in line for i in valid_lettered)
            ]
            for name, path in demo.worker_logs.items()
        }
        enrichments = [
            r["e"]
            for r in await demo.pool.fetch(
                "SELECT record->'enrichment' AS e FROM leads WHERE record->'enrichment' IS NOT NULL "
                "AND record->'enrichment' <> 'null'::jsonb"
            )
        ]
    finally:
        await demo.stop()

    assert summary["lost"] == 0, summary
    # Provider faults were absorbed: every enriched site got an audit from some provider, and the
    # email waterfall reached the finder for sites without addresses.
    audited = [e for e in enrichments if e["status"] == "ok"]
    assert len(audited) > 300 and all(e["sources"].get("performance") for e in audited)
    assert demo.sim.counters["pagespeed.500"] > 0 and demo.sim.counters["hunter.requests"] > 0
    # No retry in place (the runner's policy is the only one): a failed PageSpeed call (10 % here) is its miss for
    # that lead and Chromium's lab run answers instead, as it does while the breaker is open.
    assert sum(e["sources"]["performance"] == "pagespeed" for e in audited) >= 0.75 * len(audited)
    assert summary["duplicate_emails"] == 0 and emails["duplicate_keys"] == []
    assert set(summary["stages_visited"]) >= {"scrape", "enrich", "dedupe", "score", "mockup", "email"}
    # Counts reconcile: every lead in the record has exactly one terminal state.
    assert sum(summary["terminal"].values()) == summary["leads_in"] == len(states)
    assert all(state is not None for state in states.values())
    # Each generated lead ends where its kind says it must. Enrichment finishes
    # out of order, so within a business either copy may be the one kept: what
    # must hold is one survivor per business and the rest marked duplicate.
    clusters: dict[str, list[str]] = {}
    gave_up: list[str] = []
    for g in generated:
        if g.kind == "malformed":
            assert states[g.lead_id] == "dead_lettered", g
        elif states[g.lead_id] == "dead_lettered":
            # This world fails 10 % of PageSpeed, Hunter and SendGrid calls at random. A lead whose field only
            # such a provider can fill is retried, and dead-lettered for replay when all its attempts got a 500
            # (about one retried lead in a thousand; some 15 are retried a run). That, and nothing else, may end
            # a valid lead here: not a refusal by an open circuit, not a bug, not an infrastructure error.
            gave_up.append(g.lead_id)
            assert [(d["error_type"], d["reason"].split(": ")[0]) for d in letters[g.lead_id]] == [
                ("TransientProviderError", "gave up after 4 attempts")
            ] and "HTTP 500" in letters[g.lead_id][0]["reason"], (g.lead_id, letters.get(g.lead_id), log_lines)
        else:
            assert states[g.lead_id] in {"emailed", "disqualified", "suppressed", "duplicate"}, (
                g.lead_id,
                states[g.lead_id],
                letters.get(g.lead_id),
                log_lines,
            )
            clusters.setdefault(g.duplicate_of or g.lead_id, []).append(g.lead_id)
    assert len(gave_up) <= 2, (gave_up, letters, log_lines)
    for members in clusters.values():
        assert sum(states[m] == "emailed" for m in members) <= 1, [(m, states[m]) for m in members]
    multi = [m for m in clusters.values() if len(m) > 1]
    # A stand-in was found as a duplicate too; its entity's first lead had no address (scoring disqualified it:
    # no_contact, or modern_site, which is checked first), so it was never emailed. This world has some (8 with
    # this seed), so the check is not empty.
    assert stand_ins
    assert all(
        first_reasons[first] in {("disqualified", "no_contact"), ("disqualified", "modern_site")}
        for first in stand_ins.values()
    ), first_reasons
    found = sum(sum(states[m] == "duplicate" or m in stand_ins for m in members) for members in multi)
    expected = sum(len(members) - 1 for members in multi)
    assert found >= 0.95 * expected, (found, expected)
    # Effects agree with the record: one accepted send per emailed lead, one outbox row each.
    emailed = sum(1 for s in states.values() if s == "emailed")
    assert sent_not_emailed == {}, (sent_not_emailed, demo.worker_logs)
    assert emailed == outbox.get("sent", 0) == len(emails["by_idempotency_key"])
    assert emailed > 100
    # A lead with a mockup is emailed its small preview JPEG inline, never the desktop PNG; the others no image.
    assert sorted({tuple(kinds) for kinds in images}) == [(), ("image/jpeg",)], images[:3]
    assert sum(kinds == ["image/jpeg"] for kinds in images) == emailed_with_mockup > 0


async def test_malformed_message_is_dead_lettered_and_worker_goes_on(kafka_broker, database_url):
    demo = Demo(DemoOptions(leads=0, seed=3, partitions=2))
    await demo.start()
    try:
        good = [g for g in generate_leads(40, 3) if g.kind == "original"][:5]
        from leadstream.producer import LeadProducer

        async with LeadProducer(demo.env["LEADSTREAM_KAFKA_BROKER"], demo.env["LEADSTREAM_TOPIC_PREFIX"]) as producer:
            await producer.push_leads(
                [
                    ("ld_broken_json", "z100", b"{not json at all"),
                    ("ld_no_name", "z100", orjson.dumps({"source": "csv", "zip": "10002"})),
                ]
            )
        await demo.push_generated(good)
        await demo.wait_until_drained(["ld_broken_json", "ld_no_name"] + [g.lead_id for g in good])
        states = await lead_states(demo)
        letters = await _read_topic(demo, demo.env["LEADSTREAM_TOPIC_PREFIX"] + "deadletter.enrich", 2)
    finally:
        await demo.stop()

    assert states["ld_broken_json"] == "dead_lettered" and states["ld_no_name"] == "dead_lettered"
    assert all(states[g.lead_id] not in (None, "dead_lettered") for g in good)
    by_id = {letter["lead_id"]: letter for letter in letters}
    assert by_id["ld_broken_json"]["payload"] == "{not json at all"
    assert "invalid raw lead" in by_id["ld_broken_json"]["reason"]
    assert "name" in by_id["ld_no_name"]["reason"] and by_id["ld_no_name"]["error_type"] == "InvalidMessage"


async def test_sigkill_mid_run_loses_nothing_and_sends_nothing_twice(kafka_broker, database_url):
    seed = 23
    demo = Demo(DemoOptions(leads=400, seed=seed, partitions=4, timeout_s=300))
    await demo.start()
    try:
        generated = generate_leads(400, seed)
        ids = [g.lead_id for g in generated]
        await demo.push_generated(generated)
        deadline = time.monotonic() + 180
        while await demo.pool.fetchval("SELECT count(*) FROM leads WHERE state = 'emailed'") < 20:
            assert time.monotonic() < deadline, "no emails within 180 s"
            await asyncio.sleep(0.2)
        demo.kill_worker()  # SIGKILL: no shutdown, offsets of in-flight batches not committed
        unfinished = len(await missing_terminal(demo.pool, ids))  # leads the kill caught mid-pipeline
        await demo.start_worker()
        snap = await demo.wait_until_drained(ids)
        summary = await demo.summary(snap, ids)
        emails = sim_sendgrid.summary(demo.sim)
    finally:
        await demo.stop()

    assert unfinished > 0, "the worker was killed after the run had finished: the test proved nothing"
    assert summary["lost"] == 0, summary
    assert emails["duplicate_keys"] == [], emails["duplicate_keys"]
    assert summary["recipients_emailed_twice"] == 0


async def _read_topic(demo: Demo, topic: str, at_least: int) -> list[dict]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers(demo.env["LEADSTREAM_KAFKA_BROKER"]),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[dict] = []
    try:
        deadline = time.monotonic() + 30
        while len(out) < at_least and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                out.extend(orjson.loads(r.value) for r in records)
    finally:
        await consumer.stop()
    return out
