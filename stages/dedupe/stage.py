"""The dedupe stage: streaming entity resolution against RocksDB-backed state.

The state (blocking index, entities, per-lead outcomes) is a Faust table
co-partitioned with leads.enriched: both are keyed by the geography key, so
every candidate duplicate of a lead is on the lead's own partition, except
twins whose fields name two states: those meet only in the phone directory
(`phone_look`), which each lead claims its keys in (its local phone, its name
with its street line and city), a batch's leads together after the batch's last
one (`complete_batch`). Events are handled in
order, one at a time, so two duplicates in one batch see each other.
Duplicates end here; new entities go on to leads.deduplicated, and so does the
one duplicate of an entity that stands in for its lead without an address
(`merge.stand_in`; not a twin found across states: that entity's state is not here).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

from schemas import Lead, TerminalState
from schemas.versions import REVIEW_DECISION, SchemaVersionError
from stages.dedupe.engine import EntityResolver, Resolution, to_decision
from stages.dedupe.judge import OllamaJudge
from stages.dedupe.phone_look import CLAIMS_PER_CALL, Listing, PhoneDirectory, across, found_by, listings_for
from stages.dedupe.record import DedupeInput
from streams import metrics
from streams.envelope import Envelope
from streams.stage import InvalidMessage, Output, Stage
from streams.topology import LEADS_DEDUPLICATED

# Persists a batch's merge audit entries and gray pairs for review (`storage.dedupe_review.DedupeLog.write`).
DedupeSink = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Awaitable[None]]


@dataclasses.dataclass
class _Claim:
    """A lead of the batch waiting for its claim (one listing per key), with the outputs `handle` returned for it."""

    listings: list[Listing]
    lead: Lead
    resolution: Resolution
    outputs: list[Output]


class DedupeStage(Stage[Lead]):
    name = "dedupe"
    ordered = True

    def __init__(
        self,
        resolver: EntityResolver,
        judge: OllamaJudge | None = None,
        sink: DedupeSink | None = None,
        phones: PhoneDirectory | None = None,
    ) -> None:
        self.resolver, self.judge, self.sink, self.phones = resolver, judge, sink, phones
        self._audit: list[dict[str, Any]] = []
        self._review: list[dict[str, Any]] = []
        self._claims: list[_Claim] = []  # this batch's leads with a key to claim, in order

    async def stop(self) -> None:
        if self.judge is not None:
            await self.judge.aclose()

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        record = DedupeInput.from_lead(lead)
        if record.email is None and lead.best_email():
            record = dataclasses.replace(record, email=lead.best_email())
        resolution = self.resolver.resolve(record)
        if resolution.decision == "gray":
            resolution = await self.resolver.judge_gray(resolution, self.judge, self._review)
        outputs = self._outputs(lead, resolution)
        listings: list[Listing] = []
        if self.phones is not None:
            listings = listings_for(record, resolution, self.resolver.clock(), self.phones.kinds)
        if not listings:
            self._settled(resolution)
        else:  # its outputs and audit wait for the batch's claims (`complete_batch`)
            self._claims.append(_Claim(listings, lead, resolution, outputs))
        return outputs

    @staticmethod
    def _outputs(lead: Lead, resolution: Resolution) -> list[Output]:
        lead = lead.model_copy(update={"dedupe": to_decision(resolution)})
        if resolution.decision == "duplicate" and not resolution.stands_in:
            return [Output(lead, terminal=TerminalState.duplicate, reason=f"duplicate of {resolution.duplicate_of}")]
        return [Output(lead, topics=(LEADS_DEDUPLICATED,))]

    async def complete_batch(self) -> None:
        """The phone directory's answers after the engine's (`phone_look`): the batch's claims in one call (in calls
        of `CLAIMS_PER_CALL` leads for a longer batch); a lead whose twin is in another state becomes its
        duplicate, and a review item of the lead is dropped, since no operator needs to decide a lead that has
        ended."""
        if self.phones is None:
            return
        while self._claims:  # in calls of CLAIMS_PER_CALL leads; a retry after a failed call goes on from it
            claims = self._claims[:CLAIMS_PER_CALL]
            started = time.perf_counter()  # for the call's histogram only: the decisions use the stage's clock
            answers = await self.phones.claim_all([c.listings for c in claims], self.resolver.retention.ttl_s)
            metrics.DEDUPE_DIRECTORY_CALL_SECONDS.observe(time.perf_counter() - started)
            ended: set[str] = set()
            for claim, (claimed, fresh) in zip(claims, answers):
                if fresh and claimed.twin_entity is not None:  # a redelivered lead's twin was counted the first time
                    metrics.DEDUPE_DIRECTORY_TWINS.labels(found_by(claimed)).inc()
                resolution = across(claim.resolution, claimed, fresh)
                self._settled(resolution)
                if resolution is not claim.resolution:
                    claim.outputs[:] = self._outputs(claim.lead, resolution)
                    ended.add(resolution.lead_id)
            self._review = [item for item in self._review if item["lead_id"] not in ended]
            del self._claims[: len(claims)]

    def _settled(self, resolution: Resolution) -> None:
        """A lead's final answer: its audit waits for the batch's end; a stand-in is counted once (an answer
        replayed for a redelivery carries no audit)."""
        self._audit.extend(resolution.audit)
        if resolution.stands_in and resolution.audit:
            metrics.DEDUPE_STAND_INS.inc()

    async def after_batch(self) -> None:
        audit, review = self._audit, self._review
        if self.sink is not None and (audit or review):
            await self.sink(audit, review)
        self._audit, self._review = [], []


class ReviewDecisionStage(Stage[dict]):
    """Applies an operator's accepted review: merges the two entities in this partition's state."""

    name = "dedupe"
    ordered = True

    def __init__(self, resolver: EntityResolver, sink: DedupeSink | None = None) -> None:
        self.resolver, self.sink = resolver, sink
        self._audit: list[dict[str, Any]] = []

    def decode(self, envelope: Envelope) -> dict[str, Any]:
        try:
            decision = REVIEW_DECISION.read(envelope.payload)
            return {k: decision[k] for k in ("entity_id", "candidate_entity_id", "lead_id", "review_id")}
        except SchemaVersionError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidMessage(f"not a review decision: {exc!r}") from exc

    async def handle(self, decision: dict, envelope: Envelope) -> list[Output]:
        self._audit.extend(
            self.resolver.merge_entities(
                decision["entity_id"], decision["candidate_entity_id"], decision["lead_id"], decided_by="review"
            )
        )
        return []

    async def after_batch(self) -> None:
        if self.sink is not None and self._audit:
            await self.sink(self._audit, [])
        self._audit = []
