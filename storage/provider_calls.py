"""The provider cost ledger's table, ``provider_calls``: one row per answered call or cache hit.

`providers.ledger` buffers the rows and decides budgets; this module only
writes and sums them (`providers.ledger.CallStore` is the protocol it meets).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from storage.errors import WRITE_ERRORS

_INSERT = "INSERT INTO provider_calls (at, provider, operation, cost_usd, hit, lead_id) VALUES ($1, $2, $3, $4, $5, $6)"
_SPENT_TODAY = """SELECT coalesce(sum(cost_usd), 0)::float8 FROM provider_calls
                  WHERE provider = $1 AND at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"""

CallRow = tuple[datetime, str, str, float, bool, str | None]  # at, provider, operation, cost_usd, hit, lead_id


class ProviderCalls:
    """Writes ledger rows in one batch and sums a provider's spend since UTC midnight (all workers)."""

    unavailable_errors = WRITE_ERRORS

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def insert(self, rows: Sequence[CallRow]) -> None:
        async with self.pool.acquire() as conn:
            await conn.executemany(_INSERT, rows)

    async def spent_today(self, provider: str) -> float:
        return float(await self.pool.fetchval(_SPENT_TODAY, provider))
