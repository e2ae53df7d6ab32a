"""Read-side questions about the leads table: where leads stand, how long they took, what a run did.

Used by the demo's live view and summary, `leadstream review accept`, and by
tests and benchmarks that wait for a pipeline to drain. Writes go through
`storage.records.LeadRecords`.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from schemas.lifecycle import STAGES

_LATENCY = """
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM terminal_at - ingested_at)) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM terminal_at - ingested_at)) AS p95,
       extract(epoch FROM max(terminal_at) - min(ingested_at)) AS span_s, count(*) AS n
FROM leads WHERE state IS NOT NULL AND ingested_at IS NOT NULL
"""
_STAGES_VISITED = """
SELECT bool_or(source IN ('yelp', 'google')) AS scrape, bool_or(record ? 'enrichment') AS enrich,
       bool_or(record ? 'dedupe') AS dedupe, bool_or(record ? 'score') AS score,
       bool_or(record ? 'mockup') AS mockup, bool_or(record ? 'email_outcome') AS email
FROM leads
"""


class LeadQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def counts_by_stage_and_state(self) -> list[tuple[str, str | None, int]]:
        """(last stage, terminal state or None while in flight, leads)."""
        rows = await self.pool.fetch("SELECT stage, state, count(*) AS n FROM leads GROUP BY stage, state")
        return [(r["stage"], r["state"], r["n"]) for r in rows]

    async def missing_terminal(self, lead_ids: list[str]) -> list[str]:
        """Those of `lead_ids` that have no terminal state (absent or in flight)."""
        rows = await self.pool.fetch(
            "SELECT id FROM unnest($1::text[]) AS id WHERE NOT EXISTS "
            "(SELECT 1 FROM leads WHERE lead_id = id AND state IS NOT NULL)",
            lead_ids,
        )
        return [r["id"] for r in rows]

    async def latency_percentiles(self) -> dict[str, float | None]:
        """Ingest → terminal seconds (p50, p95), the run's span and how many leads ended."""
        row = await self.pool.fetchrow(_LATENCY)
        return {k: (float(row[k]) if row[k] is not None else None) for k in ("p50", "p95", "span_s", "n")}

    async def stages_visited(self) -> list[str]:
        """Stages that left their mark on at least one lead record."""
        row = await self.pool.fetchrow(_STAGES_VISITED)
        return [stage for stage in STAGES if row[stage]]

    async def lead_ids(self, *, in_flight: bool = False) -> set[str]:
        """Every lead id in the table (only those without a terminal state, with `in_flight`)."""
        query = "SELECT lead_id FROM leads" + (" WHERE state IS NULL" if in_flight else "")
        return {r["lead_id"] for r in await self.pool.fetch(query)}

    async def in_flight(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM leads WHERE state IS NULL"))

    async def dead_letters(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM dead_letters"))

    async def tiers(self) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT tier, count(*) AS n FROM leads WHERE tier IS NOT NULL GROUP BY tier ORDER BY tier"
        )
        return {r["tier"]: r["n"] for r in rows}

    async def with_mockup(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM leads WHERE record ? 'mockup'"))

    async def geo_key(self, lead_id: str) -> str | None:
        """The geography key (the Kafka key) a lead was recorded under."""
        value: Any = await self.pool.fetchval("SELECT geo_key FROM leads WHERE lead_id = $1", lead_id)
        return value

    async def lead_timings(self) -> list[tuple[float, float, str]]:
        """(ingested epoch s, terminal epoch s, state) of every lead that ended: latency over time (perf/)."""
        rows = await self.pool.fetch(
            "SELECT extract(epoch FROM ingested_at)::float8 AS i, extract(epoch FROM terminal_at)::float8 AS t, state "
            "FROM leads WHERE state IS NOT NULL AND ingested_at IS NOT NULL AND terminal_at IS NOT NULL"
        )
        return [(float(r["i"]), float(r["t"]), str(r["state"])) for r in rows]

    async def enrichment_sources(self) -> dict[str, int]:
        """How many leads' enrichment used each thing (perf/): ``rendered`` (a Chromium render of the site), and
        ``<field>=<provider>`` for the provider that gave each field (``performance=pagespeed``, ...)."""
        rows = await self.pool.fetch(
            "SELECT 'rendered' AS k, count(*) AS n FROM leads WHERE (record->'enrichment'->>'rendered')::boolean "
            "UNION ALL SELECT s.key || '=' || s.value, count(*) FROM leads, "
            "jsonb_each_text(COALESCE(record->'enrichment'->'sources', '{}'::jsonb)) AS s GROUP BY 1"
        )
        return {str(r["k"]): int(r["n"]) for r in rows}

    async def states_of(self, lead_ids: list[str]) -> dict[str, int]:
        """How many of `lead_ids` are in each state: a terminal state, "in_flight", or "absent" (no row)."""
        rows = await self.pool.fetch(
            "SELECT COALESCE(l.state, CASE WHEN l.lead_id IS NULL THEN 'absent' ELSE 'in_flight' END) AS state, "
            "count(*) AS n FROM unnest($1::text[]) AS id LEFT JOIN leads l ON l.lead_id = id GROUP BY 1",
            lead_ids,
        )
        return {r["state"]: r["n"] for r in rows}
