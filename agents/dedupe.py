"""Dedupe: streaming entity resolution against RocksDB-backed state.

The state (blocking index, entities, per-lead outcomes) is a Faust table
co-partitioned with leads.enriched: both are keyed by the geography key, so
every candidate duplicate of a lead is on the lead's own partition. Events are
handled in order, one at a time, so two duplicates in one batch see each other.
Duplicates end here; new entities go on to leads.deduplicated.
"""

from __future__ import annotations

import dataclasses

from schemas import Lead, TerminalState
from stages.dedupe.engine import EntityResolver, to_decision
from stages.dedupe.record import DedupeInput
from streams.envelope import Envelope
from tables import dedupe_state
from streams.stage import Output, Stage
from streams.topology import LEADS_DEDUPLICATED, LEADS_ENRICHED


class DedupeStage(Stage[Lead]):
    name = "dedupe"
    ordered = True

    def __init__(self, resolver: EntityResolver, judge=None, sink=None) -> None:
        self.resolver, self.judge, self.sink = resolver, judge, sink
        self._audit: list[dict] = []
        self._review: list[dict] = []

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        record = DedupeInput.from_lead(lead)
        if record.email is None and lead.best_email():
            record = dataclasses.replace(record, email=lead.best_email())
        resolution = self.resolver.resolve(record)
        if resolution.decision == "gray":
            resolution = await self.resolver.judge_gray(resolution, self.judge, self._review)
        self._audit.extend(resolution.audit)
        lead = lead.model_copy(update={"dedupe": to_decision(resolution)})
        if resolution.decision == "duplicate":
            return [Output(lead, terminal=TerminalState.duplicate, reason=f"duplicate of {resolution.duplicate_of}")]
        return [Output(lead, topics=(LEADS_DEDUPLICATED,))]

    async def after_batch(self) -> None:
        audit, review = self._audit, self._review
        if self.sink is not None and (audit or review):
            await self.sink(audit, review)
        self._audit, self._review = [], []


def register(rt) -> None:
    s = rt.settings
    state = dedupe_state(rt.app, s.partitions)

    async def factory(rt) -> DedupeStage:
        from stages.dedupe.judge import OllamaJudge
        from stages.dedupe.review import DedupeLog

        log = DedupeLog(await rt.pool())
        judge = OllamaJudge(s.ollama_host, s.ollama_model, timeout_s=s.http_timeout_s) if s.dedupe_llm else None
        return DedupeStage(EntityResolver(state), judge, log.write)

    rt.stage_agent(factory, LEADS_ENRICHED, "dedupe")
