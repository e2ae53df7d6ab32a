"""PgBouncer in transaction mode, the streaming replica, and point-in-time restore from the WAL archive.

They write only to tables and databases of their own on the primary named by .services/env
and never stop it; the restore runs in a fresh instance on a free port.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import datetime
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

pytestmark = [pytest.mark.services, pytest.mark.timeout(300)]


def _with_database(url: str, database: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{database}"))


@pytest.fixture
def primary(svc, admin_database_url):
    """svclib's primary, checked to be the one LEADSTREAM_DATABASE_URL names."""
    from svclib import postgres

    pg = postgres.primary()
    assert urlparse(admin_database_url).port == pg.port, (
        "svclib would act on another PostgreSQL than the env names (LEADSTREAM_DATABASE_ADMIN_URL or _URL)"
    )
    return pg


@pytest.fixture
async def scratch_database(admin_database_url, unique):
    """A database of its own: under transaction pooling, isolation by schema (search_path) does not hold."""
    name = f"svc_{unique}"
    admin = await asyncpg.connect(admin_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # PgBouncer may still pool a connection
        await admin.close()


async def test_pgbouncer_pools_per_transaction_for_any_database(pgbouncer_url, scratch_database, svc):
    from svclib import pgbouncer

    assert "pool_mode|transaction" in pgbouncer.admin_psql("SHOW CONFIG").replace(" ", "")
    url = _with_database(pgbouncer_url, scratch_database)  # reachable through the wildcard entry
    pool = await asyncpg.create_pool(url, min_size=4, max_size=4, statement_cache_size=0)
    try:
        await pool.execute("CREATE TABLE hits (worker int, n int, PRIMARY KEY (worker, n))")

        async def work(worker: int) -> None:
            for n in range(25):
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute("INSERT INTO hits VALUES ($1, $2)", worker, n)
                    assert await conn.fetchval("SELECT count(*) FROM hits WHERE worker = $1", worker) == n + 1

        await asyncio.gather(*(work(w) for w in range(8)))
        assert await pool.fetchval("SELECT count(*) FROM hits") == 200
        assert await pool.fetchval("SELECT current_database()") == scratch_database

        # Transaction pooling: two client connections, used one after the other, get the same
        # server backend (in session mode each would hold its own). This pool is ours alone.
        async with pool.acquire() as a, pool.acquire() as b:
            assert await a.fetchval("SELECT pg_backend_pid()") == await b.fetchval("SELECT pg_backend_pid()")
    finally:
        await pool.close()
    pgbouncer.release_database(scratch_database)


async def test_replica_streams_the_primarys_writes_and_reports_lag(
    svc, primary, admin_database_url, replica_url, unique
):
    from svclib import pg_replica

    assert urlparse(replica_url).port == pg_replica.replica().port
    table = f"svc_replica_{unique}"
    writer = await asyncpg.connect(admin_database_url)
    reader = await asyncpg.connect(replica_url)
    try:
        await writer.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
        await writer.executemany(f"INSERT INTO {table} VALUES ($1)", [(i,) for i in range(100)])
        deadline = time.monotonic() + 30
        while True:  # poll the replica until it has replayed the writes
            exists = await reader.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
            if exists and await reader.fetchval(f"SELECT count(*) FROM {table}") == 100:
                break
            assert time.monotonic() < deadline, "the replica did not show the primary's writes within 30 s"
            await asyncio.sleep(0.05)
        assert await reader.fetchval("SELECT pg_is_in_recovery()") is True
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await reader.execute(f"INSERT INTO {table} VALUES (1000)")

        pg_replica.wait_caught_up(timeout=30)
        lag = pg_replica.replication_lag()
        print(f"\nreplica lag: {lag}")
        assert lag.streaming
        assert lag.replay_lsn and lag.replay_bytes >= 0
        assert lag.replay_delay_seconds is not None and lag.replay_delay_seconds >= 0  # a commit was replayed
    finally:
        await writer.execute(f"DROP TABLE IF EXISTS {table}")
        await writer.close()
        await reader.close()


async def test_point_in_time_restore_keeps_only_what_committed_before_the_target(
    svc, primary, admin_database_url, unique
):
    from svclib import common, postgres

    table = f"svc_pitr_{unique}"
    work = postgres.scratch_dir(f"pitr-{unique}")
    loop = asyncio.get_running_loop()
    conn = await asyncpg.connect(admin_database_url)
    restored = None
    try:
        await conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, batch text NOT NULL)")
        backup = await loop.run_in_executor(None, postgres.base_backup, work / "base")
        await conn.executemany(f"INSERT INTO {table} VALUES ($1, 'before')", [(i,) for i in range(500)])
        target: datetime = await conn.fetchval("SELECT clock_timestamp()")  # after batch 1 committed
        await conn.executemany(f"INSERT INTO {table} VALUES ($1, 'after')", [(i,) for i in range(500, 800)])
        await loop.run_in_executor(None, postgres.archive_now)

        restored = await loop.run_in_executor(
            None, postgres.restore_to, target, work / "restored", common.free_port(), backup.path
        )
        print(
            f"\nbase backup {backup.size_mb:.0f} MB in {backup.seconds:.1f}s; "
            f"restore to {target.isoformat()} and promote in {restored.seconds:.1f}s"
        )
        copy = await asyncpg.connect(restored.instance.url())
        try:
            rows = await copy.fetch(f"SELECT batch, count(*) AS n FROM {table} GROUP BY batch")
            assert {r["batch"]: r["n"] for r in rows} == {"before": 500}
            assert await copy.fetchval("SELECT pg_is_in_recovery()") is False  # promoted: writable
            await copy.execute(f"INSERT INTO {table} VALUES (-1, 'restored')")
        finally:
            await copy.close()
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()
        if restored:
            restored.instance.remove()
        shutil.rmtree(work, ignore_errors=True)
