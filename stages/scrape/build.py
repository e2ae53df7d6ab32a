"""The scrape stage as configured: Yelp and Google Places searches behind the shared provider guards."""

from __future__ import annotations

from config import Settings
from providers.guards import ProviderGuards
from providers.search import GooglePlacesSearch, YelpSearch
from schemas import RawLead
from stages.scrape.stage import GuardedSearch, ScrapeStage, Searcher
from storage.db import Pool
from storage.provider_calls import ProviderCalls


async def build_scrape(settings: Settings, pool: Pool) -> ScrapeStage:
    s = settings
    guards = ProviderGuards(s, ProviderCalls(pool))
    adapters: dict[str, YelpSearch | GooglePlacesSearch] = {
        "yelp": YelpSearch(s.yelp_base_url, s.yelp_api_key, s.http_timeout_s),
        "google": GooglePlacesSearch(s.google_base_url, s.google_api_key, s.http_timeout_s),
    }
    searchers: dict[str, Searcher] = {
        name: GuardedSearch(
            adapter,
            guards.wrap(
                name,
                adapter.search,
                operation="search",
                encode=lambda leads: [lead.model_dump(mode="json") for lead in leads],
                decode=lambda rows: [RawLead.model_validate(row) for row in rows],
            ),
        )
        for name, adapter in adapters.items()
    }
    return ScrapeStage(searchers, guards.ledger)
