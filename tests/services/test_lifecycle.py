"""scripts/services starts each new service, every one answers, and `down` stops them all.

A second, throwaway set of services: its own state dir (--state) and free ports, so the
services other tests use are not touched. The Kafka nodes are left out here (their
start/kill/restart is covered by test_kafka_cluster.py).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

pytestmark = [pytest.mark.services, pytest.mark.timeout(300)]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "services"
NAMES = [
    "postgres",
    "redis",
    "pgbouncer",
    "pg-replica",
    "prometheus",
    "alertmanager",
    "postgres-exporter",
    "redis-exporter",
    "jaeger",
]


def _services(state: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--state", str(state), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            values[key] = shlex.split(value)[0]
    return values


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        return response.read().decode()


async def test_new_services_start_answer_and_stop(svc, tmp_path):
    from svclib.common import PORTS, free_port, port_open

    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADSTREAM_")}
    ports = {name: free_port() for name in PORTS}
    # The Kafka cluster uses base+0..2: give each base two spare ports above it.
    ports["KAFKA_CLUSTER"], ports["KAFKA_CLUSTER_CONTROLLER"] = 0, 0
    env.update({f"LEADSTREAM_SVC_{name}_PORT": str(p) for name, p in ports.items() if p})
    try:
        started = _services(state, env, "up", *NAMES)
        assert started.returncode == 0, started.stdout + started.stderr
        assert _services(state, env, "status", *NAMES).returncode == 0
        urls = _read_env(state / "env")
        assert urls["LEADSTREAM_SVC_STATE"] == str(state.resolve())

        conn = await asyncpg.connect(urls["LEADSTREAM_DATABASE_URL"])
        assert await conn.fetchval("SHOW archive_mode") == "on"
        await conn.close()
        pooled = await asyncpg.connect(urls["LEADSTREAM_PGBOUNCER_URL"], statement_cache_size=0)
        assert await pooled.fetchval("SELECT $1::int + 1", 41) == 42
        await pooled.close()
        replica = await asyncpg.connect(urls["LEADSTREAM_REPLICA_DATABASE_URL"])
        assert await replica.fetchval("SELECT pg_is_in_recovery()") is True
        await replica.close()
        client = aioredis.from_url(urls["LEADSTREAM_REDIS_URL"])
        assert await client.ping() is True
        await client.aclose()
        _get(f"{urls['LEADSTREAM_PROMETHEUS_URL']}/-/ready")
        _get(f"{urls['LEADSTREAM_ALERTMANAGER_URL']}/-/ready")
        assert "\npg_up 1" in _get(f"http://127.0.0.1:{ports['POSTGRES_EXPORTER']}/metrics")
        assert "\nredis_up 1" in _get(f"http://127.0.0.1:{ports['REDIS_EXPORTER']}/metrics")
        assert '"data"' in _get(f"{urls['LEADSTREAM_JAEGER_QUERY_URL']}/api/services")
        assert urls["LEADSTREAM_OTLP_ENDPOINT"] == f"http://127.0.0.1:{ports['JAEGER_OTLP_HTTP']}"

        stopped = _services(state, env, "down")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert _services(state, env, "status", *NAMES).returncode == 3
        used = [p for name, p in ports.items() if p and not name.startswith("KAFKA")]
        assert [p for p in used if port_open(p)] == []
        assert "LEADSTREAM_DATABASE_URL" not in _read_env(state / "env")
    finally:
        _services(state, env, "reset", *NAMES)
        pg_home = state / "postgres"
        if pg_home.is_symlink():  # the PostgreSQL files went to /tmp (tmp_path is private to root)
            shutil.rmtree(pg_home.resolve(), ignore_errors=True)
