"""Scrape: a ZIP × vertical job → one lead per business found, into leads.scraped.

A business found by several sources becomes one lead carrying every source id
(`stages.scrape.merge_sources`). Lead ids derive from the source ids, so
running a job again produces the same ids: the system of record upserts them
and dedupe recognizes them, so a re-run creates no duplicate leads.
"""

from __future__ import annotations

from schemas import Lead, ScrapeJob
from stages.scrape import merge_sources
from streams.envelope import Envelope, new_trace_id, now_ms
from providers.ledger import ProviderPaused
from streams.stage import Deferred, InvalidMessage, Output, Stage
from streams.topology import LEADS_SCRAPED, SCRAPE_REQUESTS


class ScrapeStage(Stage[ScrapeJob]):
    name = "scrape"

    def __init__(self, searchers: dict, ledger=None) -> None:
        self.searchers = searchers  # source name → providers.search adapter: async search(zip, vertical, max_results)
        self.ledger = ledger

    async def stop(self) -> None:
        for searcher in self.searchers.values():
            await searcher.aclose()
        if self.ledger is not None:
            await self.ledger.flush()

    def decode(self, envelope: Envelope) -> ScrapeJob:
        try:
            return ScrapeJob.model_validate_json(envelope.payload)
        except ValueError as exc:
            raise InvalidMessage(f"not a valid scrape job: {exc}") from exc

    async def handle(self, job: ScrapeJob, envelope: Envelope) -> list[Output]:
        unknown = sorted(set(job.sources) - set(self.searchers))
        if unknown:
            raise InvalidMessage(f"unknown sources {unknown}; known: {sorted(self.searchers)}")
        found = []
        for source in job.sources:
            try:
                found.extend(await self.searchers[source].search(job.zip, job.vertical, job.max_results))
            except ProviderPaused as exc:  # today's budget is spent: the job waits, it is not dropped
                raise Deferred(str(exc), retry_after_s=60.0) from exc
        # One lead per business; each starts its own trace and clock: its latency is its own.
        tier = {"enrich_tier": job.enrich_tier} if job.enrich_tier else {}
        return [Output(Lead.from_raw(raw.model_copy(update=tier)), topics=(LEADS_SCRAPED,), trace_id=new_trace_id(),
                       ingest_ms=now_ms())
                for raw in merge_sources(found)]


class GuardedSearch:
    """A search adapter behind the shared guards: cache, budget, circuit breaker, rate limit, cost ledger."""

    def __init__(self, adapter, guarded) -> None:
        self.adapter, self.guarded = adapter, guarded

    async def search(self, zip_code: str, vertical: str, max_results: int):
        return await self.guarded(zip_code, vertical, max_results)

    async def aclose(self) -> None:
        await self.adapter.aclose()


def register(rt) -> None:
    async def factory(rt) -> ScrapeStage:
        from providers.guards import ProviderGuards
        from providers.search import GooglePlacesSearch, YelpSearch
        from schemas import RawLead
        from storage.provider_calls import ProviderCalls

        s = rt.settings
        guards = ProviderGuards(s, ProviderCalls(await rt.pool()))
        adapters = {
            "yelp": YelpSearch(s.yelp_base_url, s.yelp_api_key, s.http_timeout_s),
            "google": GooglePlacesSearch(s.google_base_url, s.google_api_key, s.http_timeout_s),
        }
        searchers = {
            name: GuardedSearch(adapter, guards.wrap(
                name, adapter.search, operation="search",
                encode=lambda leads: [lead.model_dump(mode="json") for lead in leads],
                decode=lambda rows: [RawLead.model_validate(row) for row in rows],
            ))
            for name, adapter in adapters.items()
        }
        return ScrapeStage(searchers, guards.ledger)

    rt.stage_agent(factory, SCRAPE_REQUESTS, "scrape")
