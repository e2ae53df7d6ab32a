"""Score: rules from YAML → score + explanation → leads.scored, then route.

Qualified leads in a mockup tier go to mockups.requested (the GPU group),
other qualified leads straight to emails.queued; disqualified ones end here.
Counters per geography × vertical × tier and a score histogram live in
RocksDB-backed tables (changelogged, co-partitioned), served at /table/.
"""

from __future__ import annotations

import asyncio
import contextlib

from schemas import Lead, TerminalState
from stages.score import ScoreStage as ScoreLogic
from stages.score import counter_keys
from streams.envelope import Envelope
from tables import score_counters
from streams.stage import Output, Stage
from streams.topology import EMAILS_QUEUED, LEADS_DEDUPLICATED, LEADS_SCORED, MOCKUPS_REQUESTED


class ScoreStage(Stage[Lead]):
    name = "score"
    ordered = True  # table counters are written under each event's own partition

    def __init__(self, logic: ScoreLogic, mockup_tiers: frozenset[str], counters=None, rules_source=None) -> None:
        self.logic, self.mockup_tiers = logic, mockup_tiers
        self.counters = counters  # a Faust table (or a dict in tests)
        self.rules_source = rules_source
        self._reload_task: asyncio.Task | None = None

    async def start(self) -> None:
        if hasattr(self.rules_source, "run"):
            self._reload_task = asyncio.create_task(self.rules_source.run())

    async def stop(self) -> None:
        if self._reload_task:
            self._reload_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reload_task
        if hasattr(self.rules_source, "close"):
            await self.rules_source.close()

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        scored, reason = self.logic.apply(lead)
        if self.counters is not None:
            for key in counter_keys(scored, scored.score):
                self.counters[key] = (self.counters.get(key) or 0) + 1
        if reason is not None:
            return [Output(scored, topics=(LEADS_SCORED,), terminal=TerminalState.disqualified, reason=reason)]
        next_topic = MOCKUPS_REQUESTED if scored.score.tier in self.mockup_tiers else EMAILS_QUEUED
        return [Output(scored, topics=(LEADS_SCORED, next_topic))]


def register(rt) -> None:
    s = rt.settings
    counters = score_counters(rt.app, s.partitions)

    async def factory(rt) -> ScoreStage:
        from stages.rules import RulesSource, load_rules

        if s.redis_url:
            source = RulesSource(s.rules_file, s.redis_url)
            await source.start()  # refuses to start on invalid rules
        else:  # no Redis (the embedded demo): the file's rules, no shared reload
            source = load_rules(s.rules_file)
        return ScoreStage(ScoreLogic(source), s.mockup_tiers, counters, source)

    rt.stage_agent(factory, LEADS_DEDUPLICATED, "score")
