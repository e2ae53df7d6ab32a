"""A suppressed address or domain ends the lead before enrichment spends anything on it."""

from __future__ import annotations

import asyncio

import pytest

from providers.web import WebFetcher
from schemas import Lead, TerminalState
from stages.enrich.detect import TechDetector
from stages.enrich.enricher import Enricher
from stages.enrich.stage import EnrichStage
from storage.outbox import Outbox
from streams.envelope import Envelope

pytestmark = pytest.mark.services


async def test_suppressed_leads_are_not_fetched(pool, fresh_sim):
    base_url, sim = fresh_sim
    fetcher = WebFetcher(proxy=base_url, timeout_s=5, allowlist=[base_url.split("://")[1]])
    try:
        outbox = Outbox(pool)
        await outbox.suppress("owner@gone.com", "unsubscribe")
        await outbox.suppress("*.blocked-domain.com", "blocklist")
        stage = EnrichStage(Enricher(fetcher, TechDetector.from_file()), outbox.suppression_reason)

        def lead(i: int, **fields) -> Lead:
            return Lead(lead_id=f"ld_s{i}", geo_key="z100", source="csv", name="X", **fields)

        [out] = await stage.handle(lead(1, email="Owner@Gone.com", website="http://gone.com/"), Envelope(payload=b""))
        assert (out.terminal, out.reason) == (TerminalState.suppressed, "unsubscribe")
        [out] = await stage.handle(lead(2, website="http://www.shop.blocked-domain.com/"), Envelope(payload=b""))
        assert (out.terminal, out.reason) == (TerminalState.suppressed, "blocklist")
        assert not sim.records.get("web")  # nothing was fetched for them
        [out] = await stage.handle(lead(3, website="http://yakimavalleyheating.com/"), Envelope(payload=b""))
        assert out.terminal is None and out.lead.enrichment is not None and sim.records.get("web")
    finally:
        await fetcher.aclose()


async def test_several_addresses_one_answer_first_suppressed_wins(pool):
    """A lead's email and its website's domain are asked in one query; the reason is the first suppressed one's."""
    outbox = Outbox(pool)
    await outbox.suppress("first@several.com", "unsubscribe")
    await outbox.suppress("*.several.com", "blocklist")
    assert await outbox.suppression_reason("first@several.com", "@www.several.com") == "unsubscribe"
    assert await outbox.suppression_reason("other@elsewhere.org", "@shop.several.com") == "blocklist"
    assert await outbox.suppression_reason("@several.com", "first@several.com") == "blocklist"  # asked in turn
    assert await outbox.suppression_reason("other@elsewhere.org", "@elsewhere.org") is None


async def test_concurrent_checks_share_a_query_and_each_gets_its_own_answer(pool):
    """Checks made while one is in flight go out together (one round trip); a check made after a suppression
    was written sees it (no answer from a query that started before the call)."""
    outbox = Outbox(pool)
    await outbox.suppress("gone@shared.com", "unsubscribe")
    await outbox.suppress("*.blocked-shared.com", "blocklist")
    asked = ["gone@shared.com", "fine@shared.com", "x@www.blocked-shared.com", "y@ok.org", "gone@shared.com"]
    before = outbox._suppressions.round_trips
    answers = await asyncio.gather(*(outbox.suppression_reason(address) for address in asked))
    assert answers == ["unsubscribe", None, "blocklist", None, "unsubscribe"]
    assert outbox._suppressions.round_trips - before <= 2  # the first alone, the rest together
    await outbox.suppress("fine@shared.com", "bounce")
    assert await outbox.suppression_reason("fine@shared.com") == "bounce"
