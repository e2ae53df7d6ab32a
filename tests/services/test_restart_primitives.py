"""restart_postgres() and restart_redis(), the chaos primitives, on throwaway instances.

Throwaway instances on free ports, so the shared PostgreSQL and Redis other tests
use are never restarted here.
"""

from __future__ import annotations

import asyncpg
import pytest
import redis.asyncio as aioredis

pytestmark = [pytest.mark.services, pytest.mark.timeout(180)]


async def test_restart_postgres_cuts_sessions_and_keeps_committed_rows(svc, unique):
    from svclib import postgres

    pg = postgres.throwaway(f"restart-{unique}")
    try:
        before = await asyncpg.connect(pg.url())
        await before.execute("CREATE TABLE kept (id int PRIMARY KEY)")
        await before.executemany("INSERT INTO kept VALUES ($1)", [(i,) for i in range(50)])
        old_pid = pg.pid()

        seconds = postgres.restart_postgres(pg)

        assert pg.pid() != old_pid  # really a new postmaster
        with pytest.raises((asyncpg.PostgresConnectionError, ConnectionError, OSError)):
            await before.fetchval("SELECT 1")  # the old session did not survive
        before.terminate()
        after = await asyncpg.connect(pg.url())
        try:
            assert await after.fetchval("SELECT count(*) FROM kept") == 50  # crash recovery kept the commits
        finally:
            await after.close()
        print(f"\nrestart_postgres: {seconds:.2f}s")
    finally:
        pg.remove()


async def test_restart_redis_kills_and_comes_back_empty(svc, tmp_path):
    from svclib import redis as redis_service

    server = redis_service.throwaway(tmp_path / "redis")
    try:
        url = f"redis://127.0.0.1:{server.port}/0"
        before = aioredis.from_url(url)
        await before.set("k", "v")
        old_pid = server.pid()

        seconds = redis_service.restart_redis(server)

        assert server.pid() not in (None, old_pid)
        await before.aclose()  # its pooled connection died with the server
        after = aioredis.from_url(url)
        try:
            assert await after.ping() is True
            assert await after.get("k") is None  # no persistence: a restart loses the cache
        finally:
            await after.aclose()
        print(f"\nrestart_redis: {seconds:.2f}s")
    finally:
        server.remove()
