"""The scrape stage against the simulator's Yelp and Google APIs: one lead per business, re-runs are stable."""

from __future__ import annotations

import orjson

from providers.search import GooglePlacesSearch, YelpSearch
from schemas import RawLead
from stages.scrape.sources import merge_sources
from stages.scrape.stage import ScrapeStage
from streams.envelope import Envelope


def stage(base_url: str) -> ScrapeStage:
    return ScrapeStage({"yelp": YelpSearch(base_url, "sim-key"), "google": GooglePlacesSearch(base_url, "sim-key")})


async def test_a_business_in_both_sources_becomes_one_lead_with_both_ids(fresh_sim):
    base_url, _ = fresh_sim
    scrape = stage(base_url)
    job = scrape.decode(Envelope(payload=orjson.dumps({"zip": "98908", "vertical": "hvac", "max_results": 60})))
    first = await scrape.handle(job, Envelope(payload=b""))
    again = await scrape.handle(job, Envelope(payload=b""))
    await scrape.stop()
    leads = [o.lead for o in first]
    assert len({lead.lead_id for lead in leads}) == len(leads)
    both = [lead for lead in leads if set(lead.source_ids) == {"yelp", "google"}]
    assert both, "the simulator lists most businesses in both sources"
    assert all(lead.source == "google" for lead in both)  # Google outranks Yelp
    phones = [lead.phone[-10:] for lead in leads if lead.phone]
    assert len(phones) == len(set(phones))  # no business twice
    assert [o.lead.lead_id for o in again] == [lead.lead_id for lead in leads]  # a re-run makes the same leads


def test_merge_keeps_the_best_field_from_each_source():
    yelp = RawLead(
        source="yelp",
        source_ids={"yelp": "y1"},
        name="Acme HVAC",
        zip="98908",
        phone="(509) 555-0101",
        street="1 Main St",
    )
    google = RawLead(
        source="google",
        source_ids={"google": "g1"},
        name="Acme Heating & Air",
        zip="98908",
        phone="+15095550101",
        website="http://acmehvac.com/",
    )
    [merged] = merge_sources([yelp, google])
    assert merged.source_ids == {"yelp": "y1", "google": "g1"}
    assert (merged.name, merged.website, merged.street) == ("Acme Heating & Air", "http://acmehvac.com/", "1 Main St")


async def test_a_spent_budget_defers_the_job_and_the_ledger_records_calls(fresh_sim, pool):
    import pytest

    from providers.guarded import Guarded
    from providers.ledger import BudgetGuard, CostLedger
    from stages.scrape.stage import GuardedSearch
    from storage.provider_calls import ProviderCalls
    from streams.stage import Deferred

    base_url, _ = fresh_sim
    ledger = CostLedger(ProviderCalls(pool))
    budget = BudgetGuard(ProviderCalls(pool), {"google": 0.05}, ledger=ledger, refresh_s=0)
    google = GooglePlacesSearch(base_url, "sim-key")
    scrape = ScrapeStage(
        {
            "google": GuardedSearch(
                google,
                Guarded("google", google.search, operation="search", cost_usd=0.032, ledger=ledger, budget=budget),
            )
        },
        ledger,
    )
    job = scrape.decode(Envelope(payload=orjson.dumps({"zip": "46032", "vertical": "vet", "sources": ["google"]})))
    assert await scrape.handle(job, Envelope(payload=b""))  # $0.032 spent
    assert await scrape.handle(job, Envelope(payload=b""))  # $0.064: over the cap after this call
    with pytest.raises(Deferred, match="google"):
        await scrape.handle(job, Envelope(payload=b""))
    await scrape.stop()
    assert await pool.fetchval("SELECT count(*) FROM provider_calls WHERE provider = 'google'") == 2
