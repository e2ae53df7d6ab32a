"""Connection pool and versioned SQL migrations.

Migrations are the ``*.sql`` files in ``storage/migrations``, applied in name
order, each once, inside a transaction, recorded in ``schema_migrations``. A
transaction-level advisory lock makes concurrent ``migrate`` calls (several
workers starting at once) safe, also through PgBouncer's transaction pooling
(a session-level lock could be taken on one server connection and released on
another).

PgBouncer: a DSN carrying ``pgbouncer=true`` (``postgresql://u@h:16432/db?pgbouncer=true``)
is pooled in transaction mode, so the pool turns off asyncpg's statement cache
(PgBouncer 1.18 has no protocol-level prepared statements in that mode) and
refuses schema isolation by ``search_path`` (a session setting does not stick:
isolate by database instead, see `isolated_url`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import orjson

Pool = asyncpg.Pool  # the type the other layers name, so only storage imports the driver

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 7_240_531  # arbitrary, fixed: serializes migrate() across processes
log = logging.getLogger(__name__)


class JsonText(str):
    """JSON already encoded (e.g. the lead record a stage also sends to Kafka): stored in a jsonb column as is."""


def _encode_jsonb(value: object) -> str:
    return value if isinstance(value, JsonText) else orjson.dumps(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=_encode_jsonb, decoder=orjson.loads, schema="pg_catalog")


def split_pgbouncer(dsn: str) -> tuple[str, bool]:
    """(the DSN without its ``pgbouncer`` flag, whether it goes through PgBouncer in transaction mode)."""
    parts = urlsplit(dsn)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flags = [v for k, v in query if k == "pgbouncer"]
    if not flags:
        return dsn, False
    rest = urlencode([(k, v) for k, v in query if k != "pgbouncer"])
    return urlunsplit(parts._replace(query=rest)), flags[-1].lower() in ("1", "true", "yes", "on")


def pool_options(dsn: str, schema: str | None = None) -> tuple[str, dict[str, Any]]:
    """The DSN asyncpg gets and the connect options that go with it (PgBouncer-safe when flagged)."""
    plain, pgbouncer = split_pgbouncer(dsn)
    options: dict[str, Any] = {}
    if pgbouncer:
        if schema or "search_path" in urlsplit(plain).query:
            raise ValueError(
                "schema isolation (search_path) does not hold under PgBouncer transaction pooling: use a database"
            )
        # 1.18 in transaction mode: no named prepared statements survive a transaction boundary.
        options["statement_cache_size"] = 0
    elif schema:
        options["server_settings"] = {"search_path": schema}
    return plain, options


async def create_pool(dsn: str, *, size: int = 8, schema: str | None = None) -> asyncpg.Pool:
    """A pool whose connections encode jsonb with orjson (and use `schema` when given)."""
    plain, options = pool_options(dsn, schema)
    return await asyncpg.create_pool(
        plain,
        min_size=1,
        max_size=size,
        init=_init_connection,
        reset=_reset_connection,
        command_timeout=60,
        **options,
    )


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """What a released connection needs here: no open transaction. asyncpg's default reset sends
    ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every release, a round trip per
    query; nothing here leaves session state behind (the migration lock is released where it is taken,
    and settings come from the connection's startup, which RESET ALL would keep anyway)."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection (PgBouncer-safe when the DSN says so), jsonb as in the pools."""
    plain, options = pool_options(dsn)
    conn = await asyncpg.connect(plain, **options)
    await _init_connection(conn)
    return conn


def with_database(dsn: str, database: str) -> str:
    """`dsn` pointing at another database on the same server (query kept)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


async def isolated_url(dsn: str, name: str, admin_dsn: str | None = None) -> str:
    """A DSN of its own for a run or a test: a database `name` when `dsn` goes through PgBouncer
    (created through `admin_dsn`, a direct connection), else a schema `name` in `dsn`'s database."""
    _, pgbouncer = split_pgbouncer(dsn)
    if not pgbouncer:
        await create_schema(dsn, name)
        return f"{dsn}{'&' if '?' in dsn else '?'}search_path={name}"
    conn = await asyncpg.connect(split_pgbouncer(admin_dsn or dsn)[0], statement_cache_size=0)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(dsn, name)


async def drop_isolated(dsn: str, name: str, admin_dsn: str | None = None) -> None:
    """Drop what `isolated_url` made."""
    _, pgbouncer = split_pgbouncer(dsn)
    if not pgbouncer:
        await drop_schema(dsn, name)
        return
    conn = await asyncpg.connect(split_pgbouncer(admin_dsn or dsn)[0], statement_cache_size=0)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def isolated_pool(
    dsn: str, name: str, admin_dsn: str | None = None, *, size: int = 2
) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """A pool on a schema or database of its own (`isolated_url`), with its DSN; both dropped at the end. For a
    bench or a test that fills tables; it migrates nothing (the caller chooses how far)."""
    url = await isolated_url(dsn, name, admin_dsn)
    try:
        pool = await create_pool(url, size=size)
        try:
            yield url, pool
        finally:
            await pool.close()
    finally:
        await drop_isolated(dsn, name, admin_dsn)


async def create_schema(dsn: str, schema: str) -> None:
    """Create `schema` if missing (a demo run or a test gets its own)."""
    conn = await connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        await conn.close()


async def drop_schema(dsn: str, schema: str) -> None:
    """Drop `schema` and everything in it (the end of a benchmark's or a test's own schema)."""
    conn = await connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


# Audit tables range-partitioned by month (migrations 0008, 0009): `migrate` makes the coming months'
# partitions on every run; retention drops a whole month (`DROP TABLE <table>_yYYYYmMM`).
MONTHLY_TABLES = ("provider_calls", "email_events", "dedupe_merges")


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("*.sql"))


async def migrate(pool: asyncpg.Pool, *, until: str | None = None) -> list[str]:
    """Apply pending migrations (those named up to `until`, when given); return the names applied now.

    Each migration runs in its own transaction that first takes a transaction-level advisory
    lock, then checks whether another process applied it meanwhile. Then the time-partitioned
    tables get their next months' partitions.
    """
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        done = set()
        if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for path in migration_files():
            if path.name in done or (until is not None and path.name > until):
                continue
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                if await conn.fetchval("SELECT 1 FROM schema_migrations WHERE name = $1", path.name):
                    continue
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", path.name)
            log.info("applied migration %s", path.name)
            applied_now.append(path.name)
        if await conn.fetchval("SELECT to_regproc('leadstream_month_partitions') IS NOT NULL"):
            async with conn.transaction():  # workers starting together must not race to make a month
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
                for table in MONTHLY_TABLES:
                    if await conn.fetchval("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass($1)", table):
                        await conn.fetchval("SELECT leadstream_month_partitions($1::regclass, 0, 3)", table)
    return applied_now
