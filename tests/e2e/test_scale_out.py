"""Scale-out on the real broker: workers join and die mid-run without losing or doubling anything, and the
table views answer the same from every worker of the group."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from leadstream.demo import Demo, DemoOptions
from simulator import sendgrid as sim_sendgrid
from simulator.leads import generate_leads
from tests.waiting import until

pytestmark = [pytest.mark.services, pytest.mark.slow]

ASSIGNED = re.compile(r"partitions assigned \((\d+)\): (.*)")
TOPIC_PARTS = re.compile(r"(\S+)=\[([^\]]*)\]")

LIGHT_PATH = {  # the cheapest path through every stage: the test is about partitions, not providers
    "LEADSTREAM_ENRICH_TIER": "1",
    "LEADSTREAM_RENDER_JS": "false",
    "LEADSTREAM_MOCKUP_TIERS": "none",
}


def assignments(demo: Demo, name: str) -> list[frozenset[int]]:
    """The leads.scraped partitions of each assignment `name` logged, oldest first (`leadstream.faustapp`)."""
    topic = demo.env["LEADSTREAM_TOPIC_PREFIX"] + "leads.scraped"
    found = []
    for line in demo.worker_logs[name].read_text(errors="replace").splitlines():
        match = ASSIGNED.search(line)
        if match:
            parts = dict(TOPIC_PARTS.findall(match.group(2)))
            found.append(frozenset(int(p) for p in parts.get(topic, "").split(",") if p.strip()))
    return found


async def terminal_count(demo: Demo) -> int:
    return int(await demo.pool.fetchval("SELECT count(*) FROM leads WHERE state IS NOT NULL"))


def log_digest(demo: Demo, lines: int = 12) -> str:
    """Each worker's assignments and last warnings, for a failure message (CI keeps nothing else)."""
    out = []
    for name, path in demo.worker_logs.items():
        text = path.read_text(errors="replace").splitlines() if path.exists() else []
        notable = [line for line in text if "assigned" in line or "WARN" in line or "ERROR" in line]
        out.append(f"--- {name} ({len(text)} lines) ---\n" + "\n".join(line[:300] for line in notable[-lines:]))
        if name not in demo.killed:
            for probe in ("health", "ready"):
                try:
                    out.append(f"/{probe}: {httpx.get(f'{demo.web_url(name)}/{probe}', timeout=5).text[:4000]}")
                except httpx.HTTPError as exc:
                    out.append(f"/{probe}: {exc!r}")
    for report in sorted(demo.services.workdir.glob("stall-*.txt")):
        out.append(f"--- {report.name}: {report.read_text()[:6000]}")
    return "\n".join(out)


async def test_workers_join_and_one_dies_mid_run_nothing_lost_or_doubled(
    kafka_broker, database_url, monkeypatch, tmp_path
):
    for name, value in LIGHT_PATH.items():
        monkeypatch.setenv(name, value)
    seed, count = 31, 600
    demo = Demo(
        DemoOptions(
            leads=count,
            seed=seed,
            partitions=6,
            timeout_s=420,
            workers=1,
            mockup_workers=1,
            loglevel="info",
            workdir=tmp_path,
        )
    )
    await demo.start()
    try:
        generated = generate_leads(count, seed)
        ids = [g.lead_id for g in generated]
        pushing = asyncio.create_task(demo.push_generated(generated, per_minute=900))
        await until(lambda: terminal_count(demo), timeout_s=240, what="the first terminal lead")
        joined = [await demo.add_worker("main", wait=False), await demo.add_worker("main", wait=False)]
        for name in joined:
            await demo.wait_ready(name)
        await until(
            lambda: all(assignments(demo, name) for name in joined), timeout_s=120, what="the new workers' partitions"
        )
        victim = joined[0]
        done_before_kill = await terminal_count(demo)
        demo.kill_worker(victim)  # SIGKILL: its in-flight events are not acked; the survivors take them over
        await pushing
        assert done_before_kill < count, "every lead had ended before the kill: the test proved nothing"
        snap = await demo.wait_until_drained(ids)
        summary = await demo.summary(snap, ids)
        states = await demo.pool.fetch("SELECT lead_id, state FROM leads WHERE lead_id = ANY($1::text[])", ids)
        emails = sim_sendgrid.summary(demo.sim)
        first, survivor = assignments(demo, "main-0"), assignments(demo, joined[1])
        digest = log_digest(demo)
    finally:
        await demo.stop()

    assert summary["lost"] == 0 and not missing_rows(states, ids), f"{summary}\n{digest}"
    assert len(states) == len(set(ids)) and all(row["state"] for row in states)  # one row, one terminal state
    assert emails["duplicate_keys"] == [] and summary["duplicate_emails"] == 0
    assert summary["recipients_emailed_twice"] == 0 and summary["sent_not_emailed"] == 0, summary
    # The partitions moved: the first worker owned all of them, gave some up when two joined, took some back
    # when one died; the one that joined and lived got some.
    assert first[0] == set(range(6)), first
    assert min(len(a) for a in first[1:]) <= 2, first  # three workers: two partitions each
    assert len(first[-1]) == 3 or len(survivor[-1]) == 3, (first, survivor)  # two left: three each
    assert survivor and all(survivor), survivor
    assert summary["workers"]["main"] == 3


def missing_rows(states, ids: list[str]) -> set[str]:
    return set(ids) - {row["lead_id"] for row in states}


async def test_table_views_answer_every_key_from_every_worker(kafka_broker, database_url, monkeypatch):
    for name, value in LIGHT_PATH.items():
        monkeypatch.setenv(name, value)
    seed, count = 41, 240
    demo = Demo(DemoOptions(leads=count, seed=seed, partitions=6, timeout_s=300, workers=3, mockup_workers=1))
    await demo.start()
    try:
        generated = generate_leads(count, seed)
        ids = [g.lead_id for g in generated]
        await demo.push_generated(generated)
        await demo.wait_until_drained(ids)
        mains = sorted(name for name in demo.workers if name.startswith("main-"))
        async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
            owned: dict[str, dict[str, str]] = {"score-counters": {}, "dedupe-state": {}}
            for name in mains:
                for table, keys in owned.items():
                    body = (await client.get(f"{demo.web_url(name)}/table/{table}/?local=1&keys=1")).json()
                    for key in body["key_list"]:
                        keys.setdefault(key, name)
            listing = (await client.get(f"{demo.web_url(mains[0])}/table/")).json()
            counters = [k for k in owned["score-counters"]]
            leads = [k[2:] for k in owned["dedupe-state"] if k.startswith("l:")]
            entities = [k for k in owned["dedupe-state"] if k.startswith("e:")][:60]
            summaries = [(await client.get(f"{demo.web_url(name)}/table/score-counters/")).json() for name in mains]
            answers = {}
            for name in mains:
                base = demo.web_url(name)
                for key in counters:
                    answers[(name, "c", key)] = await client.get(f"{base}/table/score-counters/{key}/")
                for key in entities:
                    answers[(name, "e", key)] = await client.get(f"{base}/table/dedupe-state/{key}/")
                for lead_id in leads[:80]:
                    answers[(name, "l", lead_id)] = await client.get(f"{base}/dedupe/lead/{lead_id}/")
        # The stall report (what a run that stops moving writes) reads every worker's state and task dump.
        report = (await demo.report_stall(0.0)).read_text()
        await until(
            lambda: all(
                "[WARNING] task " in demo.worker_logs[name].read_text(errors="replace") for name in demo.workers
            ),
            timeout_s=30,
            what="every worker's task dump",
        )
    finally:
        await demo.stop()

    for name in demo.workers:  # each worker's /ready answer, with the flow state that says why it does nothing
        section = report.split(f"--- {name} (pid ")[1].split("\n--- ")[0]
        assert '"flow"' in section and '"consumer_flow_active"' in section, report
    owners = listing["tables"]["score-counters"]["owners"]
    assert len(owners) == 3 and sorted(p for parts in owners.values() for p in parts) == list(range(6)), owners
    assert len({owner for owner in owned["score-counters"].values()}) >= 2, "one worker owned every counter"
    assert counters and leads and entities
    for (name, kind, key), response in answers.items():
        assert response.status_code == 200, (name, kind, key, response.text)
        body = response.json()
        assert body["found"] and len(body["hits"]) == 1, (name, key, body)
    for key in counters:  # every worker gives the owner's value
        values = {answers[(name, "c", key)].json()["value"] for name in mains}
        assert len(values) == 1 and values.pop() > 0, key
    for lead_id in leads[:80]:
        entity_ids = {answers[(name, "l", lead_id)].json()["entity_id"] for name in mains}
        assert len(entity_ids) == 1 and entity_ids.pop(), lead_id
    # The summary is the same from every worker and counts every scored lead once per tier counter.
    rollups = [s["counters"] for s in summaries]
    assert rollups[0] and all(r == rollups[0] for r in rollups)
    assert all(len(s["workers"]) == 3 for s in summaries)
    scored = sum(n for geo in rollups[0].values() for tiers in geo.get("tiers", {}).values() for n in tiers.values())
    assert scored >= len([k for k in counters if k.startswith("tier:")])
