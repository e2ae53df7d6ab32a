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
from streams.stage import InvalidMessage
from streams.topology import DEDUPE_DECISIONS, LEADS_DEDUPLICATED, LEADS_ENRICHED


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


class ReviewDecisionStage(Stage[dict]):
    """Applies an operator's accepted review: merges the two entities in this partition's state."""

    name = "dedupe"
    ordered = True

    def __init__(self, resolver: EntityResolver, sink=None) -> None:
        self.resolver, self.sink = resolver, sink
        self._audit: list[dict] = []

    def decode(self, envelope: Envelope) -> dict:
        import orjson

        try:
            decision = orjson.loads(envelope.payload)
            return {k: decision[k] for k in ("entity_id", "candidate_entity_id", "lead_id", "review_id")}
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidMessage(f"not a review decision: {exc!r}") from exc

    async def handle(self, decision: dict, envelope: Envelope) -> list[Output]:
        self._audit.extend(self.resolver.merge_entities(
            decision["entity_id"], decision["candidate_entity_id"], decision["lead_id"], decided_by="review"))
        return []

    async def after_batch(self) -> None:
        if self.sink is not None and self._audit:
            await self.sink(self._audit, [])
        self._audit = []


def register(rt) -> None:
    s = rt.settings
    resolver = EntityResolver(dedupe_state(rt.app, s.partitions))  # one state, shared by both agents

    async def factory(rt) -> DedupeStage:
        from stages.dedupe.judge import OllamaJudge
        from stages.dedupe.review import DedupeLog

        log = DedupeLog(await rt.pool())
        judge = OllamaJudge(s.ollama_host, s.ollama_model, timeout_s=s.http_timeout_s) if s.dedupe_llm else None
        return DedupeStage(resolver, judge, log.write)

    async def decisions_factory(rt) -> ReviewDecisionStage:
        from stages.dedupe.review import DedupeLog

        return ReviewDecisionStage(resolver, DedupeLog(await rt.pool()).write)

    rt.stage_agent(factory, LEADS_ENRICHED, "dedupe")
    rt.stage_agent(decisions_factory, DEDUPE_DECISIONS, "dedupe-decisions")
