"""Retention at the Faust-table level: entities written to the real `dedupe-state` table (memory store)
by an agent expire after the retention window, with the clock injected (no sleeps)."""

from __future__ import annotations

import uuid

import faust

from stages.dedupe import derived
from stages.dedupe.build import build_resolver
from stages.dedupe.record import DedupeInput
from stages.dedupe.retention import DAY_S, RetentionPolicy
from tables import dedupe_state
from tables.batched import WriteBehind

T0 = 1_700_000_000.0


def _row(lead_id: str, name: str, street: str, phone: str) -> dict[str, str]:
    return {"id": lead_id, "name": name, "address": street, "zip": "90210", "phone": phone}


async def test_entities_expire_from_the_faust_table_after_the_retention_window():
    app = faust.App(f"dedupe-retention-{uuid.uuid4().hex[:8]}", store="memory://", broker="kafka://127.0.0.1:1")
    table = dedupe_state(app, partitions=1, follows=derived.follows, derive=derived.replay)
    state = WriteBehind(table)  # what agents.dedupe wires
    now = [T0]
    resolver = build_resolver(state, state.local, RetentionPolicy(ttl_s=7 * DAY_S), clock=lambda: now[0])
    answers: dict[str, tuple[str, str]] = {}

    @app.agent(app.topic(f"retention-{uuid.uuid4().hex[:8]}", value_type=dict))
    async def resolve(stream):  # what the dedupe agent does: table writes while the event is current
        async for row in stream:
            res = resolver.resolve(DedupeInput.from_row(row))
            state.flush()  # a batch of one event
            answers[row["id"]] = (res.decision, res.entity_id)
            yield res.entity_id

    def keys_with(entity_id: str) -> list[str]:
        return [key for key, value in table.data.items() if entity_id in str(value)]

    async with resolve.test_context() as agent:
        await agent.put(_row("a", "Joe's Plumbing", "12 Main St", "310-555-0101"))
        await agent.put(_row("k", "Acme Roofing", "99 Oak Ave", "310-555-0199"))
        old, kept = answers["a"][1], answers["k"][1]
        assert table.get(f"e:{old}") is not None and len(keys_with(old)) >= 4  # record, blocking keys, lead

        now[0] += 5 * DAY_S  # Acme seen again: its window starts over
        await agent.put(_row("k2", "ACME ROOFING LLC", "99 Oak Avenue", "(310) 555-0199"))
        assert answers["k2"] == ("duplicate", kept)
        assert table.get(f"e:{old}") is not None  # 5 days: still inside the window

        now[0] += 3 * DAY_S  # "a" last seen 8 days ago, Acme 3 days ago; each lead sweeps a little
        for i in range(8):
            await agent.put(_row(f"n{i}", f"Fresh Bakery {i}", f"{200 + i} Elm St", f"310-555-02{i:02d}"))
        assert table.get(f"e:{old}") is None and table.get("l:a") is None
        assert keys_with(old) == []  # gone from every blocking key and name list
        assert table.get(f"e:{kept}") is not None

        await agent.put(_row("a2", "Joe's Plumbing", "12 Main St", "310-555-0101"))
        await agent.put(_row("k3", "Acme Roofing", "99 Oak Ave", "310-555-0199"))
    assert answers["a2"][0] == "new" and answers["a2"][1] != old  # expired: a new entity
    assert answers["k3"] == ("duplicate", kept)
