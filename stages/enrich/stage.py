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

    def __init__(self, enricher, suppression_reason=None, closers=()) -> None:
        self.enricher = enricher  # stages.enrich.Enricher
        self.suppression_reason = suppression_reason  # async (address) -> reason | None: storage.outbox.Outbox
        self.closers = closers  # async callables releasing the enricher's clients, browser and ledger

    async def stop(self) -> None:
        for close in self.closers:
            await close()

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


async def build_enricher(settings, pool=None):
    """The enricher as configured: (Enricher, closers). `pool` None: no cost ledger or budgets (the CLI without a DB)."""
    import dataclasses

    from providers.browser import PageRenderer
    from providers.emailfinder import FoundEmail, HunterClient
    from providers.guards import ProviderGuards
    from providers.mx import MxChecker
    from providers.pagespeed import PageSpeedClient, PageSpeedResult
    from providers.web import WebFetcher
    from stages.enrich import Enricher
    from stages.enrich_sources import EnrichSources
    from stages.techdetect import TechDetector
    from storage.blobs import LocalBlobStore
    from storage.provider_calls import ProviderCalls

    s = settings
    nameservers = s.dns_nameservers or None
    fetcher = WebFetcher(
        proxy=s.web_proxy, timeout_s=s.http_timeout_s, max_bytes=s.max_page_bytes, user_agent=None,
        per_domain_concurrency=s.per_domain_concurrency, allowlist=s.fetch_allowlist,
        resolver_nameservers=nameservers, per_domain_rate=s.per_domain_rate, redis_url=s.redis_url,
        robots_ttl_s=s.robots_ttl_s,
    )
    guards = ProviderGuards(s, ProviderCalls(pool) if pool is not None else None)
    renderer = PageRenderer(s.chromium_path, proxy=s.web_proxy, guard=fetcher.guard,
                            max_concurrency=s.enrich_render_concurrency, timeout_s=s.render_timeout_s)
    closers = [fetcher.aclose, renderer.close, guards.aclose]
    sources = EnrichSources(
        renderer=renderer, render_js=s.render_js, blobs=LocalBlobStore(s.blob_dir),
        mx=MxChecker(nameservers, redis_url=s.redis_url) if s.mx_check else None,
    )
    if s.pagespeed_api_key:
        psi = PageSpeedClient(s.pagespeed_base_url, s.pagespeed_api_key, timeout_s=max(s.http_timeout_s, 30.0))
        sources.pagespeed = guards.wrap("pagespeed", psi.run, operation="runPagespeed", encode=dataclasses.asdict,
                                        decode=lambda row: PageSpeedResult(**row))
        closers.append(psi.aclose)
    if s.hunter_api_key:
        hunter = HunterClient(s.hunter_base_url, s.hunter_api_key, timeout_s=s.http_timeout_s)
        sources.hunter = guards.wrap("hunter", hunter.domain_search, operation="domain-search",
                                     encode=lambda found: [dataclasses.asdict(f) for f in found],
                                     decode=lambda rows: [FoundEmail(**row) for row in rows])
        closers.append(hunter.aclose)
    enricher = Enricher(fetcher, TechDetector.from_file(s.technologies_file), sources=sources,
                        default_tier=s.enrich_tier, waterfall=s.enrich_waterfall)
    return enricher, closers


def register(rt) -> None:
    async def factory(rt) -> EnrichStage:
        from storage.outbox import Outbox

        pool = await rt.pool()
        enricher, closers = await build_enricher(rt.settings, pool)
        return EnrichStage(enricher, Outbox(pool).suppression_reason, closers)

    rt.stage_agent(factory, LEADS_SCRAPED, "enrich")
