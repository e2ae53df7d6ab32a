"""The dedupe stage's tables: human review of gray-zone pairs, and the merge audit log.

Tables come from ``storage/migrations/0003_dedupe.sql``. Adding is idempotent
per (lead, candidate entity), so a redelivered lead does not queue twice.
Accepting returns the item; the caller then merges the two entities in the
partition that owns them (`EntityResolver.merge_entities(..., decided_by="review")`).
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

_COLUMNS = (
    "id, lead_id, entity_id, candidate_entity_id, probability, reason, lead, candidate, status, created_at, decided_at"
)


def _row(record: asyncpg.Record) -> dict[str, Any]:
    item = dict(record)
    item["lead"], item["candidate"] = json.loads(item["lead"]), json.loads(item["candidate"])
    return item


class ReviewQueue:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, items: list[dict[str, Any]]) -> int:
        """Queue gray pairs (`GrayPair.as_review_item` dicts); returns how many were new."""
        if not items:
            return 0
        rows = [
            (
                i["lead_id"],
                i["entity_id"],
                i["candidate_entity_id"],
                i.get("probability"),
                i.get("reason"),
                json.dumps(i.get("lead") or {}),
                json.dumps(i.get("candidate") or {}),
            )
            for i in items
        ]
        async with self.pool.acquire() as conn:
            added = await conn.fetch(
                """INSERT INTO dedupe_review (lead_id, entity_id, candidate_entity_id, probability, reason, lead, candidate)
                   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::jsonb[], $7::jsonb[])
                   ON CONFLICT (lead_id, candidate_entity_id) DO NOTHING RETURNING id""",
                *[list(column) for column in zip(*rows)],
            )
        return len(added)

    async def list(self, limit: int = 50, status: str = "pending") -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM dedupe_review WHERE status = $1 ORDER BY created_at, id LIMIT $2", status, limit
        )
        return [_row(r) for r in rows]

    async def _decide(self, item_id: int, status: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(
            f"""UPDATE dedupe_review SET status = $2, decided_at = now()
                WHERE id = $1 AND status = 'pending' RETURNING {_COLUMNS}""",
            item_id,
            status,
        )
        return _row(row) if row else None

    async def accept(self, item_id: int) -> dict[str, Any] | None:
        """Mark the pair as one business; returns the item (None if unknown or already decided)."""
        return await self._decide(item_id, "accepted")

    async def reject(self, item_id: int) -> dict[str, Any] | None:
        return await self._decide(item_id, "rejected")


async def save_merges(pool: asyncpg.Pool, audit: list[dict[str, Any]]) -> None:
    """Persist `Resolution.audit` entries to ``dedupe_merges``."""
    if not audit:
        return
    await pool.executemany(
        """INSERT INTO dedupe_merges (kind, entity_id, merged_entity_id, lead_id, probability, matched_on, decided_by, fields)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)""",
        [
            (
                a["kind"],
                a["entity_id"],
                a.get("merged_entity_id"),
                a.get("lead_id"),
                a.get("probability"),
                list(a.get("matched_on") or []),
                a["decided_by"],
                json.dumps(a.get("fields") or {}),
            )
            for a in audit
        ],
    )


class DedupeLog:
    """The stage's batch sink: merge audit to ``dedupe_merges``, undecided pairs to the review queue."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.queue = ReviewQueue(pool)

    async def write(self, audit: list[dict[str, Any]], review: list[dict[str, Any]]) -> None:
        await save_merges(self.pool, audit)
        await self.queue.add(review)
