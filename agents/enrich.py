"""Enrich: leads.scraped (the public RawLead contract) → website facts → leads.enriched."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import ValidationError

from schemas import Lead, RawLead, TerminalState
from streams.envelope import Envelope
from streams.stage import InvalidMessage, Output, Stage
from streams.topology import LEADS_ENRICHED, LEADS_SCRAPED


def decode_raw_lead(envelope: Envelope) -> Lead:
    """A producer's RawLead → Lead. The lead id comes from the payload, else the header, else the source ids."""
    try:
        raw = RawLead.model_validate_json(envelope.payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:8])
        raise InvalidMessage(f"invalid raw lead: {problems}") from exc
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

    def __init__(self, enricher, suppression_reason=None) -> None:
        self.enricher = enricher  # stages.enrich.Enricher
        self.suppression_reason = suppression_reason  # async (address) -> reason | None: storage.outbox.Outbox

    async def stop(self) -> None:
        await self.enricher.fetcher.aclose()

    def decode(self, envelope: Envelope) -> Lead:
        return decode_raw_lead(envelope)

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        # Suppressed addresses and domains end here, before enrichment spends anything on them.
        if self.suppression_reason is not None:
            for address in _addresses(lead):
                if reason := await self.suppression_reason(address):
                    return [Output(lead, terminal=TerminalState.suppressed, reason=reason)]
        enrichment = await self.enricher.enrich(lead)
        return [Output(lead.model_copy(update={"enrichment": enrichment}), topics=(LEADS_ENRICHED,))]


def register(rt) -> None:
    async def factory(rt) -> EnrichStage:
        from providers.web import WebFetcher
        from stages.enrich import Enricher
        from stages.techdetect import TechDetector

        s = rt.settings
        fetcher = WebFetcher(
            proxy=s.web_proxy, timeout_s=s.http_timeout_s, max_bytes=s.max_page_bytes, user_agent=None,
            per_domain_concurrency=s.per_domain_concurrency, allowlist=s.fetch_allowlist_list, resolver_nameservers=None,
        )
        from storage.outbox import Outbox

        outbox = Outbox(await rt.pool())
        return EnrichStage(Enricher(fetcher, TechDetector.from_file(s.technologies_file)), outbox.suppression_reason)

    rt.stage_agent(factory, LEADS_SCRAPED, "enrich")
