"""Connection pool and versioned SQL migrations.

Migrations are the ``*.sql`` files in ``storage/migrations``, applied in name
order, each once, inside a transaction, recorded in ``schema_migrations``. An
advisory lock makes concurrent ``migrate`` calls (several workers starting at
once) safe.
"""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg
import orjson

Pool = asyncpg.Pool  # the type the other layers name, so only storage imports the driver

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 7_240_531  # arbitrary, fixed: serializes migrate() across processes
log = logging.getLogger(__name__)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
    )


async def create_pool(dsn: str, *, size: int = 8, schema: str | None = None) -> asyncpg.Pool:
    """A pool whose connections encode jsonb with orjson (and use `schema` when given)."""
    settings = {"search_path": schema} if schema else None
    return await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=_init_connection,
        reset=_reset_connection,
        server_settings=settings,
        command_timeout=60,
    )


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """What a released connection needs here: no open transaction. asyncpg's default reset sends
    ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every release, a round trip per
    query; nothing here leaves session state behind (the migration lock is released where it is taken,
    and settings come from the connection's startup, which RESET ALL would keep anyway)."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_schema(dsn: str, schema: str) -> None:
    """Create `schema` if missing (a demo run or a test gets its own)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        await conn.close()


async def drop_schema(dsn: str, schema: str) -> None:
    """Drop `schema` and everything in it (the end of a benchmark's or a test's own schema)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("*.sql"))


async def migrate(pool: asyncpg.Pool) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            for path in migration_files():
                if path.name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", path.name)
                log.info("applied migration %s", path.name)
                applied_now.append(path.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return applied_now
