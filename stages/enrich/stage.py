"""The enrich stage: leads.scraped (the public RawLead contract) → website facts → leads.enriched."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import ValidationError

from schemas import Lead, RawLead, TerminalState
from schemas.versions import SchemaVersionError
from streams.envelope import Envelope
from streams.stage import InvalidMessage, Output, Stage, read_message
from streams.topology import LEADS_ENRICHED

if TYPE_CHECKING:
    from stages.enrich.enricher import Enricher

log = logging.getLogger(__name__)

# addresses or @domains → why the first suppressed one must not be contacted (one query for all)
SuppressionCheck = Callable[..., Awaitable[str | None]]
Closer = Callable[[], Awaitable[None]]


def decode_raw_lead(envelope: Envelope) -> Lead:
    """A producer's RawLead → Lead. The lead id comes from the payload, else the header, else the source ids."""
    try:
        raw = read_message(RawLead, envelope.payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:8])
        raise InvalidMessage(f"invalid raw lead: {problems}") from exc
    except SchemaVersionError:
        raise  # dead-lettered under its own name (streams.failures.decode_label)
    except ValueError as exc:  # not a JSON object, or a version that is not an integer
        raise InvalidMessage(f"invalid raw lead: {exc}") from exc
    if raw.lead_id and envelope.lead_id and raw.lead_id != envelope.lead_id:
        raise InvalidMessage(f"lead-id header {envelope.lead_id!r} does not match payload lead_id {raw.lead_id!r}")
    if not raw.lead_id and envelope.lead_id:
        raw = raw.model_copy(update={"lead_id": envelope.lead_id})
    return Lead.from_raw(raw)


def _addresses(lead: Lead) -> list[str]:
    """What a suppression can name before enrichment: the lead's email, and its website's host as a domain."""
    found = [lead.email] if lead.email else []
    if lead.website:
        host = urlsplit(lead.website if "//" in lead.website else "//" + lead.website).hostname or ""
        if host:
            found.append("@" + host.removeprefix("www."))
    return found


class EnrichStage(Stage[Lead]):
    name = "enrich"

    def __init__(
        self, enricher: Enricher, suppression_reason: SuppressionCheck | None = None, closers: Sequence[Closer] = ()
    ) -> None:
        self.enricher = enricher
        self.suppression_reason = suppression_reason  # e.g. storage.outbox.Outbox.suppression_reason
        self.closers = closers  # release the enricher's clients, browser and ledger
        self._warm_up: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Chromium starts in the background while the worker joins its group and recovers, instead of inside
        # the first render (on a restarted worker: the head of a partition that waits for it). Events do not
        # wait for it; a render that comes first waits for the same launch, and a failed one is retried then.
        self._warm_up = asyncio.create_task(self._warm())

    async def _warm(self) -> None:
        try:
            await self.enricher.warm_up()
        except Exception as exc:  # the first render launches it again, and reports what fails then
            log.warning("enrich: could not start Chromium ahead of the first render: %s", exc)

    async def stop(self) -> None:
        # The warm-up is let finish, not cancelled: a launch cancelled half-way leaves the process's Playwright
        # driver (and the Chromium it goes on launching) behind with nobody holding a reference, so no
        # release would ever close them. Finished, its reference is the renderer's, which the closers release.
        if self._warm_up is not None:
            warm_up, self._warm_up = self._warm_up, None
            await warm_up
        for close in self.closers:
            await close()

    def decode(self, envelope: Envelope) -> Lead:
        return decode_raw_lead(envelope)

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        # Suppressed addresses and domains end here, before enrichment spends anything on them.
        if self.suppression_reason is not None:
            addresses = _addresses(lead)
            if addresses and (reason := await self.suppression_reason(*addresses)):
                return [Output(lead, terminal=TerminalState.suppressed, reason=reason)]
        enrichment = await self.enricher.enrich(lead)
        return [Output(lead.model_copy(update={"enrichment": enrichment}), topics=(LEADS_ENRICHED,))]
