"""The dedupe stage's phone directory in PostgreSQL (``dedupe_phones``, migration 0013).

One claim per lead at its phone, read and written under a transaction-level advisory lock on the
phone, so two partitions claiming one number at once are answered one after the other: the second
sees the first (`stages.dedupe.phone_look.settle` decides; this module only keeps the rows). The
lock is transaction-level, so it holds through PgBouncer's transaction pooling too.

Expired claims (older than the cutoff the caller passes) are never read; those of the claimed phone
are deleted under its lock, and each stored claim also deletes a few expired ones of other phones
(`SWEEP`), skipping rows another claim has locked, so no claim ever waits on a sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

COLUMNS = ("phone", "lead_id", "geo", "entity_id", "first", "profile", "seen", "twin_entity", "twin_first")
SWEEP = 16
# The advisory locks' first key, also written in migration 0013's function (storage.db's migrate lock: 7_240_531).
_LOCK_CLASS = 7_240_532

Settle = Callable[[list[dict[str, Any]]], tuple[dict[str, Any], bool]]

_READ = f"""
WITH expired AS (DELETE FROM dedupe_phones WHERE phone = $1 AND seen < $2)
SELECT {", ".join(COLUMNS)} FROM dedupe_phones WHERE phone = $1 AND seen >= $2 ORDER BY seen, lead_id
"""
# The claim and the sweep in one statement (one round trip): each stored claim deletes up to `SWEEP` expired
# ones, so expired claims go faster than claims come.
_WRITE = f"""
WITH written AS (
    INSERT INTO dedupe_phones ({", ".join(COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (phone, lead_id) DO UPDATE SET {", ".join(f"{c} = excluded.{c}" for c in COLUMNS[2:])}
), swept AS (
    DELETE FROM dedupe_phones WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM dedupe_phones WHERE seen < $10 LIMIT $11 FOR UPDATE SKIP LOCKED))
)
SELECT 1
"""
_ALONE = "SELECT dedupe_phone_claim_alone($1, $2, $3, $4, $5, $6, $7, $8, $9)"


class PhoneClaims:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def claim(self, phone: str, cutoff: float, settle: Settle) -> tuple[dict[str, Any], bool]:
        """``settle(live rows of the phone, oldest first)`` → (the lead's claim, whether to store it); returned
        as it was stored or read. Rows are dicts of `COLUMNS`.

        Most numbers hold no listing of another state: there is nothing to decide, and the claim is what
        ``settle([])`` gives. That is tried first, in one call (`_ALONE`: one round trip, asynchronous
        commit); only when the number holds its own claim or another state's does the full read-decide-write
        run, in a transaction of its own under the same lock."""
        mine, _ = settle([])
        answer = await self.pool.fetchval(_ALONE, *(mine[c] for c in COLUMNS[:7]), cutoff, SWEEP)
        if answer in ("stored", "listed"):
            return mine, answer == "stored"
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_CLASS, phone)
            rows = [dict(r) for r in await conn.fetch(_READ, phone, cutoff)]
            claimed, fresh = settle(rows)
            if fresh:
                await conn.execute(_WRITE, *(claimed[c] for c in COLUMNS), cutoff, SWEEP)
        return claimed, fresh

    async def count(self) -> int:
        """Claims stored, expired ones not yet swept included (tests, operators)."""
        return int(await self.pool.fetchval("SELECT count(*) FROM dedupe_phones"))
