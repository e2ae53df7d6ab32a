"""Dedupe agents: leads.enriched → the dedupe stage → leads.deduplicated, and dedupe.decisions
(operators' accepted reviews) → merges. Both share one resolver over the dedupe-state table, which is
co-partitioned with both source topics (`tables`), behind one write-behind buffer that each agent's
batches flush (`tables.batched`); the index derived from the entities stays on its unlogged side
(`stages.dedupe.derived`, `tables.derived`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stages.dedupe import derived
from stages.dedupe.build import build_dedupe, build_resolver, build_review_decisions
from streams.topology import DEDUPE_DECISIONS_INPUT, TOPOLOGY
from tables import dedupe_state
from tables.batched import WriteBehind

if TYPE_CHECKING:
    from agents.base import WorkerRuntime


def register(runtime: WorkerRuntime) -> None:
    table = dedupe_state(runtime.app, runtime.settings.partitions, follows=derived.follows, derive=derived.replay)
    state = WriteBehind(table)
    resolver = build_resolver(state, derived=state.local)
    runtime.stage_agent(TOPOLOGY["dedupe"], lambda pool: build_dedupe(runtime.settings, pool, resolver), tables=[state])
    runtime.stage_agent(
        DEDUPE_DECISIONS_INPUT,
        lambda pool: build_review_decisions(pool, resolver),
        name="dedupe-decisions",
        tables=[state],
    )
