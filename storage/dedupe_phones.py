"""The dedupe stage's directory in PostgreSQL (``dedupe_phones``, migration 0013).

Claims by key: a lead's local phone, a name word with a city and street number (``tn:…``), or a name word with
a city (``nc:…``); the column is named ``phone`` because the first keys were phones, and a phone key is the
number as before. A call's claims (a dedupe batch's, up to 40 leads: `stages.dedupe.phone_look.CLAIMS_PER_CALL`)
are made in one transaction that first takes a transaction-level advisory lock on each of their keys, always in
one order (by lock key), so two partitions claiming one key at once are answered one after the other (the second
sees the first) and two batches never wait on each other in a cycle. `stages.dedupe.phone_look` decides; this
module only keeps the rows.
The locks are transaction-level, so they hold through PgBouncer's transaction pooling too.

Expired claims (older than the cutoff the caller passes) are never read; those of the call's keys are
deleted under their locks, and each stored claim also deletes a few expired ones of other keys (`SWEEP`),
skipping rows another claim has locked, so no claim ever waits on a sweep.

Migration 0013's ``dedupe_phone_claim_alone`` is the one-claim-per-call path of the release before batches;
nothing calls it now. It takes the same lock, so workers of both releases exclude each other during a rolling
upgrade; a later contract migration drops it. Workers of the release before name keys read and lock phone keys
only; the ``tn:`` and ``nc:`` rows are never equal to a phone, so they neither see nor disturb them (and after a
rollback those rows expire and are swept like any other). Likewise workers of the release before name-and-city
keys never read the ``nc:`` rows; while both run, a bare entry handled by a new worker does not find a twin
that an old worker listed (the old one claims no ``nc:`` key), and stays its own entity as it did before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import orjson

# The rows' fields; ``key`` is the column ``phone``.
COLUMNS = ("key", "lead_id", "geo", "entity_id", "first", "profile", "seen", "twin_entity", "twin_first")
# Array types of the columns as `_WRITE_ALL` takes them: profiles as JSON text (a list of lists would be
# read as a two-dimensional array).
_TYPES = ("text", "text", "text", "text", "text", "text", "float8", "text", "text")
SWEEP = 16
# The advisory locks' first key, also written in migration 0013's function (storage.db's migrate lock: 7_240_531).
_LOCK_CLASS = 7_240_532

Rows = list[dict[str, Any]]
# The live rows of the batch's keys (oldest first) → (the answers, the rows to store).
SettleAll = Callable[[Rows], tuple[Any, Rows]]
_SELECTED = ", ".join("phone AS key" if c == "key" else c for c in COLUMNS)
_STORED = ", ".join("phone" if c == "key" else c for c in COLUMNS)

# The subquery hands the keys over in ascending order, and the locks are taken as its rows come.
_LOCK_ALL = """
SELECT count(pg_advisory_xact_lock($1, key))
FROM (SELECT DISTINCT hashtext(claimed) AS key FROM unnest($2::text[]) AS claimed ORDER BY key) AS keys
"""
_READ_ALL = f"""
WITH expired AS (DELETE FROM dedupe_phones WHERE phone = ANY($1::text[]) AND seen < $2)
SELECT {_SELECTED} FROM dedupe_phones WHERE phone = ANY($1::text[]) AND seen >= $2
ORDER BY seen, lead_id
"""
# The claims and the sweep in one statement (one round trip): each stored claim deletes up to `SWEEP` expired
# ones, so expired claims go faster than claims come.
_WRITE_ALL = f"""
WITH written AS (
    INSERT INTO dedupe_phones ({_STORED})
    SELECT key, lead_id, geo, entity_id, first, profile::jsonb, seen, twin_entity, twin_first
    FROM unnest({", ".join(f"${i}::{t}[]" for i, t in enumerate(_TYPES, 1))})
        AS claims ({", ".join(COLUMNS)})
    ON CONFLICT (phone, lead_id) DO UPDATE SET {", ".join(f"{c} = excluded.{c}" for c in COLUMNS[2:])}
), swept AS (
    DELETE FROM dedupe_phones WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM dedupe_phones WHERE seen < $10 LIMIT $11 FOR UPDATE SKIP LOCKED))
)
SELECT 1
"""


def _param(column: str, value: Any) -> Any:
    return orjson.dumps(value).decode() if column == "profile" else value


class PhoneClaims:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def claim_all(self, keys: Sequence[str], cutoff: float, settle: SettleAll) -> Any:
        """``settle(live rows of these keys, oldest first)`` → (answers, rows to store); the rows are written
        before the locks are let go, and the answers returned. Rows are dicts of `COLUMNS`.

        One transaction per call, whatever its size: five round trips (begin, lock, read, write, commit)."""
        locked = sorted(set(keys))
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.fetchval(_LOCK_ALL, _LOCK_CLASS, locked)
            rows = [dict(r) for r in await conn.fetch(_READ_ALL, locked, cutoff)]
            answers, stored = settle(rows)
            if stored:
                columns = ([_param(c, claim[c]) for claim in stored] for c in COLUMNS)
                await conn.execute(_WRITE_ALL, *columns, cutoff, SWEEP * len(stored))
        return answers

    async def count(self) -> int:
        """Claims stored, expired ones not yet swept included (tests, operators)."""
        return int(await self.pool.fetchval("SELECT count(*) FROM dedupe_phones"))
