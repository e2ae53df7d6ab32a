"""What the lead tables hold and weigh (perf/bench_restore.py, docs/scaling.md), and seeding sent emails."""

from __future__ import annotations

import asyncpg

LEAD_TABLES = ("leads", "lead_stages", "email_outbox")


async def record_sent(pool: asyncpg.Pool, rows: list[tuple[str, str, str]]) -> None:
    """Outbox rows (idempotency key, lead id, recipient) as the email stage leaves a sent intro."""
    await pool.executemany(
        "INSERT INTO email_outbox (idempotency_key, lead_id, campaign_step, recipient, status) "
        "VALUES ($1, $2, 'intro', $3, 'sent')",
        rows,
    )


async def vacuum(pool: asyncpg.Pool, tables: tuple[str, ...] = LEAD_TABLES) -> None:
    await pool.execute(f"VACUUM ANALYZE {', '.join(tables)}")


async def schema_bytes(pool: asyncpg.Pool) -> int:
    """Bytes of every table (indexes and TOAST included) in the current schema."""
    return int(
        await pool.fetchval(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"
        )
    )


async def table_footprint(pool: asyncpg.Pool, table: str, lead_prefix: str) -> tuple[int, int]:
    """(rows of leads whose id starts with `lead_prefix`, bytes of the table and its partitions)."""
    if table not in LEAD_TABLES:
        raise ValueError(f"unknown table {table!r}")
    rows = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE starts_with(lead_id, $1)", lead_prefix)
    size = await pool.fetchval(
        f"SELECT coalesce((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('{table}')), "
        f"pg_total_relation_size('{table}'))"
    )
    return int(rows), int(size)
