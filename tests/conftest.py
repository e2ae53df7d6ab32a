"""Shared fixtures: the real services (started by scripts/services) and the simulator.

Tests that need Kafka, PostgreSQL or Redis read their addresses from the same
``LEADSTREAM_*`` variables the app uses; ``scripts/test`` exports them. A test
that needs a service which is not reachable fails (it is never skipped), so a
CI run cannot pass while testing nothing.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlparse

import pytest
import pytest_asyncio

from simulator.core import SimConfig, Simulator


def _require(var: str) -> str:
    value = os.environ.get(var)
    if not value:
        pytest.fail(f"{var} is not set: run the tests through scripts/test (it starts the services)")
    return value


def _reachable(url: str, default_port: int) -> None:
    parsed = urlparse(url.replace("kafka://", "tcp://"))
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        pytest.fail(f"{url} is not reachable ({exc}): start it with scripts/services up")


def _service(var: str, default_port: int) -> str:
    """The URL in `var`, after checking its first address answers (a Faust list uses its first broker)."""
    url = _require(var)
    _reachable(url.split(";")[0], default_port)
    return url


@pytest.fixture(scope="session")
def kafka_broker() -> str:
    return _service("LEADSTREAM_KAFKA_BROKER", 9092)


@pytest.fixture(scope="session")
def database_url() -> str:
    return _service("LEADSTREAM_DATABASE_URL", 5432)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _service("LEADSTREAM_REDIS_URL", 6379)


@pytest.fixture(scope="session")
def admin_database_url(database_url) -> str:
    """A direct connection to the primary for admin work (CREATE/DROP DATABASE), even when
    LEADSTREAM_DATABASE_URL goes through PgBouncer (scripts/test sets both)."""
    return os.environ.get("LEADSTREAM_DATABASE_ADMIN_URL") or database_url


@pytest_asyncio.fixture
async def pool(database_url, admin_database_url, unique):
    """An asyncpg pool on a fresh schema (or, through PgBouncer, a fresh database: a session's
    search_path does not hold under transaction pooling) with every migration applied; dropped afterwards."""
    from storage.db import isolated_pool, migrate

    async with isolated_pool(database_url, f"test_{unique}", admin_database_url, size=4) as (_, pool):
        await migrate(pool)
        yield pool


@pytest.fixture
def unique() -> str:
    """A short unique token for topic prefixes, keys and schemas."""
    return uuid.uuid4().hex[:8]


@pytest_asyncio.fixture(scope="session")
async def simulator():
    """The provider simulator on a loopback port: yields (base_url, Simulator)."""
    from simulator.app import start_simulator

    sim = Simulator(SimConfig(seed=7))
    runner, base_url = await start_simulator(sim)
    yield base_url, sim
    await runner.cleanup()


@pytest.fixture
def fresh_sim(simulator):
    """The session simulator with counters, records and faults reset for this test."""
    base_url, sim = simulator
    sim.reset()
    saved = sim.config
    sim.config = SimConfig(seed=saved.seed)
    yield base_url, sim
    sim.config = saved
    sim.reset()


@pytest_asyncio.fixture(scope="session")
async def sim_dns(simulator):
    """The session simulator's fixture DNS server (UDP, loopback): yields its ``127.0.0.1:PORT``."""
    from simulator.dns import start_dns

    _, sim = simulator
    transport, address = await start_dns(sim)
    yield address
    transport.close()


# ---- services beyond the core three (scripts/services; the fixtures fail if they are not running) ----


@pytest.fixture(scope="session")
def svc():
    """scripts/svclib (start/stop/kill/restart primitives), bound to the services of LEADSTREAM_SVC_STATE.

    .services/env names the state dir and ports the running services were started with,
    so the primitives act on exactly those (and never on another checkout's).
    """
    import sys
    from pathlib import Path

    _require("LEADSTREAM_SVC_STATE")
    scripts = str(Path(__file__).resolve().parents[1] / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    import svclib
    import svclib.common

    if str(svclib.common.STATE) != os.environ["LEADSTREAM_SVC_STATE"]:
        pytest.fail("svclib was imported before .services/env was sourced")
    return svclib


@pytest.fixture(scope="session")
def kafka_cluster() -> str:
    """The 3-broker cluster (Faust style 'kafka://h:p;kafka://h:p;...'): scripts/services up kafka-cluster."""
    return _service("LEADSTREAM_KAFKA_CLUSTER", 9092)


@pytest.fixture(scope="session")
def pgbouncer_url() -> str:
    return _service("LEADSTREAM_PGBOUNCER_URL", 6432)


@pytest.fixture(scope="session")
def replica_url() -> str:
    return _service("LEADSTREAM_REPLICA_DATABASE_URL", 5432)


@pytest.fixture(scope="session")
def prometheus_url() -> str:
    return _service("LEADSTREAM_PROMETHEUS_URL", 9090)


@pytest.fixture(scope="session")
def jaeger_urls() -> tuple[str, str]:
    """(OTLP/HTTP base URL, Jaeger query URL)."""
    otlp, query = _require("LEADSTREAM_OTLP_ENDPOINT"), _require("LEADSTREAM_JAEGER_QUERY_URL")
    _reachable(otlp, 4318)
    _reachable(query, 16686)
    return otlp, query
