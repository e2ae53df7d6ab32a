"""The score stage: rules from YAML → score + explanation → leads.scored, then route.

Qualified leads in a mockup tier go to mockups.requested (the GPU group),
other qualified leads straight to emails.queued; disqualified ones end here.
Counters per geography × vertical × tier and a score histogram live in
RocksDB-backed tables (changelogged, co-partitioned), served at /table/.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from schemas import Lead, TerminalState
from stages.score.rules import RuleSet, RulesSource
from stages.score.scorer import Scorer, counter_keys
from streams.envelope import Envelope
from streams.stage import Output, Stage
from streams.topology import EMAILS_QUEUED, LEADS_SCORED, MOCKUPS_REQUESTED


class Counters(Protocol):
    """What the stage needs of its counters: a Faust table, its write-behind (`tables.batched`), or a dict."""

    def get(self, key: str, default: int | None = None) -> int | None: ...
    def __setitem__(self, key: str, value: int) -> None: ...


class ScoreStage(Stage[Lead]):
    name = "score"
    ordered = True  # table counters are written under each event's own partition

    def __init__(
        self,
        scorer: Scorer,
        mockup_tiers: frozenset[str],
        counters: Counters | None = None,
        rules_source: RulesSource | RuleSet | None = None,
    ) -> None:
        self.scorer, self.mockup_tiers = scorer, mockup_tiers
        self.counters = counters  # a Faust table (or a dict in tests)
        self.rules_source = rules_source  # a RulesSource reloads shared rules in the background
        self._reload_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if isinstance(self.rules_source, RulesSource):
            self._reload_task = asyncio.create_task(self.rules_source.run())

    async def stop(self) -> None:
        if self._reload_task:
            self._reload_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reload_task
        if isinstance(self.rules_source, RulesSource):
            await self.rules_source.close()

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        scored, reason = self.scorer.apply(lead)
        assert scored.score is not None  # Scorer.apply always attaches one
        if self.counters is not None:
            for key in counter_keys(scored, scored.score):
                self.counters[key] = (self.counters.get(key) or 0) + 1
        if reason is not None:
            return [Output(scored, topics=(LEADS_SCORED,), terminal=TerminalState.disqualified, reason=reason)]
        next_topic = MOCKUPS_REQUESTED if scored.score.tier in self.mockup_tiers else EMAILS_QUEUED
        return [Output(scored, topics=(LEADS_SCORED, next_topic))]
