"""The read-side counts perf/bench_steps.py reports: which providers gave each lead's enrichment fields."""

from __future__ import annotations

import pytest

from schemas import Lead
from schemas.lead import Enrichment
from storage.lead_queries import LeadQueries
from storage.records import LeadRecords, RecordUpdate

pytestmark = pytest.mark.services


def _lead(n: int, enrichment: Enrichment | None) -> Lead:
    return Lead(lead_id=f"ld_q{n}", geo_key="NY", source="t", name=f"n{n}", zip="10002", enrichment=enrichment)


async def test_enrichment_sources_counts_renders_and_each_fields_provider(pool):
    leads = [
        _lead(1, Enrichment(rendered=True, sources={"performance": "browser", "screenshot": "browser"})),
        _lead(2, Enrichment(sources={"performance": "pagespeed", "screenshot": "pagespeed", "email": "website"})),
        _lead(3, Enrichment(sources={"performance": "pagespeed", "screenshot": "pagespeed"})),
        _lead(4, Enrichment(status="skipped", reason="no website")),
        _lead(5, None),
    ]
    await LeadRecords(pool).write([RecordUpdate(lead, "enrich", "c" * 32, 1_700_000_000_000) for lead in leads])
    assert await LeadQueries(pool).enrichment_sources() == {
        "rendered": 1,
        "performance=browser": 1,
        "screenshot=browser": 1,
        "performance=pagespeed": 2,
        "screenshot=pagespeed": 2,
        "email=website": 1,
    }
