"""Mixed schema versions and mixed releases on one topic, on the real broker and PostgreSQL (issue 13, item 6).

A rolling upgrade leaves messages of the previous version in the topics while
the new workers read them, and may let a newer release's messages reach a
worker that is still old. Here a producer writes raw leads of the previous
version (0: no ``schema_version``), the current one (1) and a newer one (2) to
``leads.scraped``, interleaved on the same partitions, and a worker must:

* take every previous- and current-version lead to a terminal state, none of
  them dead-lettered, each stored as a current-version record;
* dead-letter each newer one in enrich as ``NewerSchemaVersion``, keeping the
  original whole for the replay, and keep going (every partition drains).

And a worker of the previous release (`PREVIOUS_RELEASE`, unpacked from git)
shares the main consumer group with one of this release, as during a rolling
upgrade: previous- and current-version leads all end, none dead-lettered.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import orjson
import pytest

from leadstream.demo import Demo, DemoOptions, _geo_of
from leadstream.producer import LeadProducer
from simulator.leads import generate_leads
from tests.e2e import test_scale_out as scale_out
from tests.waiting import until

pytestmark = [pytest.mark.services, pytest.mark.slow]

SEED = 13
ROOT = Path(__file__).resolve().parents[2]
# The release before schema versions went on every message (main when this test was written).
PREVIOUS_RELEASE = os.environ.get("LEADSTREAM_PREVIOUS_RELEASE", "987a242")
LIGHT_PATH = {  # the cheapest path through every stage: the test is about versions, not providers
    "LEADSTREAM_ENRICH_TIER": "1",
    "LEADSTREAM_RENDER_JS": "false",
    "LEADSTREAM_MOCKUP_TIERS": "none",
}


def _versioned(payload: bytes, version: int | None, lead_id: str | None = None) -> bytes:
    doc = {k: v for k, v in orjson.loads(payload).items() if k != "schema_version"}
    if version is not None:
        doc["schema_version"] = version
    if lead_id is not None:
        doc["lead_id"] = lead_id
    return orjson.dumps(doc)


async def test_previous_and_current_versions_end_and_a_newer_one_is_dead_lettered(
    kafka_broker, database_url, monkeypatch
):
    for name, value in LIGHT_PATH.items():
        monkeypatch.setenv(name, value)
    originals = [g for g in generate_leads(60, SEED) if g.kind == "original"][:36]
    items: list[tuple[str, str, bytes]] = []
    readable: dict[str, int | None] = {}  # lead id → version written (None: the field left out)
    newer: dict[str, bytes] = {}
    for n, g in enumerate(originals):
        version = (None, 1, 0)[n % 3]
        readable[g.lead_id] = version
        items.append((g.lead_id, _geo_of(g), _versioned(g.payload, version)))
        if n % 6 == 0:  # a newer release's copy of the same business, under its own id
            lead_id = f"ld_newer_{n}"
            newer[lead_id] = _versioned(g.payload, 2, lead_id)
            items.append((lead_id, _geo_of(g), newer[lead_id]))
    assert {None, 0, 1} <= set(readable.values()) and len(newer) >= 5

    demo = Demo(DemoOptions(leads=0, seed=SEED, partitions=2, timeout_s=100, workers=1, mockup_workers=1))
    await demo.start()
    try:
        async with LeadProducer(demo.env["LEADSTREAM_KAFKA_BROKER"], demo.env["LEADSTREAM_TOPIC_PREFIX"]) as producer:
            await producer.push_leads(items)
        ids = [lead_id for lead_id, _, _ in items]
        snap = await demo.wait_until_drained(ids)
        summary = await demo.summary(snap, ids)
        leads = {
            r["lead_id"]: r
            for r in await demo.pool.fetch(
                "SELECT lead_id, state, record->'schema_version' AS version FROM leads WHERE lead_id = ANY($1)", ids
            )
        }
        letters = await demo.pool.fetch(
            "SELECT lead_id, stage, error_type, reason, payload FROM dead_letters WHERE lead_id = ANY($1)", ids
        )
    finally:
        await demo.stop()

    assert snap.total_lag == 0 and snap.in_flight == 0, snap.lag  # the worker went on past every newer message
    assert summary["lost"] == 0, summary
    assert set(leads) == set(ids)
    for lead_id in readable:
        row = leads[lead_id]
        assert row["state"] not in (None, "dead_lettered"), (lead_id, readable[lead_id], row["state"])
        assert row["version"] == 1, lead_id  # stored as the current version, whatever was read
    assert {lead_id: leads[lead_id]["state"] for lead_id in newer} == dict.fromkeys(newer, "dead_lettered")
    assert sorted((r["lead_id"], r["stage"], r["error_type"]) for r in letters) == sorted(
        (lead_id, "enrich", "NewerSchemaVersion") for lead_id in newer
    )
    for r in letters:
        assert "schema_version 2 is newer than this worker reads (0..1)" in r["reason"]
        assert bytes(r["payload"]) == newer[r["lead_id"]]  # kept whole: `dlq replay` after the upgrade


@pytest.fixture
def previous_release(tmp_path: Path) -> Path:
    """`PREVIOUS_RELEASE`'s tree, unpacked from this repository's history."""
    found = shutil.which("git") and subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}"], capture_output=True
    )
    if not found or found.returncode != 0:
        pytest.skip(f"commit {PREVIOUS_RELEASE} is not in this checkout's history (shallow clone?)")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", PREVIOUS_RELEASE], capture_output=True, check=True)
    tree = tmp_path / "previous"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


async def test_a_previous_release_worker_beside_this_one_loses_and_dead_letters_nothing(
    kafka_broker, database_url, monkeypatch, previous_release
):
    for name, value in LIGHT_PATH.items():
        monkeypatch.setenv(name, value)
    originals = [g for g in generate_leads(80, SEED + 1) if g.kind == "original"][:48]
    versions = {g.lead_id: (None, 1)[n % 2] for n, g in enumerate(originals)}
    items = [(g.lead_id, _geo_of(g), _versioned(g.payload, versions[g.lead_id])) for g in originals]
    ids = [lead_id for lead_id, _, _ in items]

    demo = Demo(
        DemoOptions(leads=0, seed=SEED, partitions=2, timeout_s=100, workers=1, mockup_workers=1, loglevel="info")
    )
    await demo.start()
    try:
        old = await demo.add_worker("main", code_dir=previous_release)
        for name in ("main-0", old):  # both hold a leads.scraped partition once the rebalance settled
            await until(
                lambda name=name: (scale_out.assignments(demo, name) or [frozenset()])[-1],
                timeout_s=120,
                what=f"{name}'s leads.scraped partition",
            )
        async with LeadProducer(demo.env["LEADSTREAM_KAFKA_BROKER"], demo.env["LEADSTREAM_TOPIC_PREFIX"]) as producer:
            await producer.push_leads(items)
        snap = await demo.wait_until_drained(ids)
        summary = await demo.summary(snap, ids)
        rows = await demo.pool.fetch(
            "SELECT lead_id, state, record->'schema_version' AS version FROM leads WHERE lead_id = ANY($1)", ids
        )
        letters = await demo.pool.fetch("SELECT lead_id, stage, error_type FROM dead_letters")
        shares = {name: scale_out.assignments(demo, name)[-1] for name in ("main-0", old)}
    finally:
        await demo.stop()

    assert all(shares.values()) and shares["main-0"].isdisjoint(shares[old]), shares
    assert summary["lost"] == 0 and snap.total_lag == 0, (summary, snap.lag)
    assert [dict(r) for r in letters] == []
    assert {r["lead_id"] for r in rows} == set(ids)
    assert all(r["state"] not in (None, "dead_lettered") and r["version"] == 1 for r in rows), [dict(r) for r in rows]
