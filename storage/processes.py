"""Worker processes known to have ended (`streams.incarnation`): the email stage reconciles a pending key
of such a process at once (`stages.email.delivery`)."""

from __future__ import annotations

import asyncpg

KEEP_DAYS = 30  # rows older than this are pruned (a pending key is settled long before)


async def record_ended(pool: asyncpg.Pool, process_id: str, ended_by: str) -> None:
    """Record that `process_id` has ended (`ended_by` holds its data directory now); idempotent."""
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO ended_processes (process_id, ended_by) VALUES ($1, $2) ON CONFLICT (process_id) DO NOTHING",
            process_id,
            ended_by,
        )
        await conn.execute(
            "DELETE FROM ended_processes WHERE recorded_at < now() - make_interval(days => $1)", KEEP_DAYS
        )
