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
from streams.stage import InvalidMessage, Output, Stage
from streams.topology import LEADS_SCRAPED, SCRAPE_REQUESTS


class ScrapeStage(Stage[ScrapeJob]):
    name = "scrape"

    def __init__(self, searchers: dict) -> None:
        self.searchers = searchers  # source name → providers.search adapter: async search(zip, vertical, max_results)

    async def stop(self) -> None:
        for searcher in self.searchers.values():
            await searcher.aclose()

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
            found.extend(await self.searchers[source].search(job.zip, job.vertical, job.max_results))
        # One lead per business; each starts its own trace and clock: its latency is its own.
        return [Output(Lead.from_raw(raw), topics=(LEADS_SCRAPED,), trace_id=new_trace_id(), ingest_ms=now_ms())
                for raw in merge_sources(found)]


def register(rt) -> None:
    from providers.search import GooglePlacesSearch, YelpSearch

    s = rt.settings

    async def factory(_rt) -> ScrapeStage:
        return ScrapeStage({
            "yelp": YelpSearch(s.yelp_base_url, s.yelp_api_key, s.http_timeout_s),
            "google": GooglePlacesSearch(s.google_base_url, s.google_api_key, s.http_timeout_s),
        })

    rt.stage_agent(factory, SCRAPE_REQUESTS, "scrape")
