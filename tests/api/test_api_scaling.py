"""Scaling the API: the stats cache (on a hand-moved clock), its settings, and several server processes on one port."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from httpx import ASGITransport, AsyncClient

from config import SettingsError, load_settings
from leadstream.api.app import create_app
from leadstream.api.cache import CachedValue
from leadstream.api.keys import create_key
from leadstream.embedded import free_port
from schemas import Lead
from storage.api_keys import ApiKeys
from storage.db import create_pool, drop_isolated, isolated_url, migrate
from storage.records import LeadRecords, RecordUpdate
from tests.waiting import until

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loads:
    """A load that returns 1, 2, 3, … and can be held until released."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()
        self.fail_next = False

    async def __call__(self) -> int:
        self.calls += 1
        await self.release.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("PostgreSQL went away")
        return self.calls


# ---- the cache, on an injected clock -------------------------------------------------------------------


async def test_a_value_is_reused_until_it_is_ttl_old_then_loaded_again():
    clock, load = Clock(), Loads()
    cache = CachedValue(load, ttl_s=1.0, clock=clock)
    assert await cache.get() == 1
    clock.now += 0.999
    assert await cache.get() == 1 and load.calls == 1
    clock.now += 0.001
    assert await cache.get() == 2 and load.calls == 2 == cache.loads


async def test_callers_during_a_load_share_it():
    clock, load = Clock(), Loads()
    cache = CachedValue(load, ttl_s=1.0, clock=clock)
    load.release.clear()
    callers = [asyncio.create_task(cache.get()) for _ in range(20)]
    await until(lambda: load.calls == 1, timeout_s=5, what="the first load to begin")
    await asyncio.sleep(0)  # every caller has reached the pending load
    load.release.set()
    assert await asyncio.gather(*callers) == [1] * 20
    assert load.calls == 1


async def test_a_caller_that_goes_away_does_not_cancel_the_others_load():
    cache = CachedValue(load := Loads(), ttl_s=1.0, clock=Clock())
    load.release.clear()
    first = asyncio.create_task(cache.get())
    second = asyncio.create_task(cache.get())
    await until(lambda: load.calls == 1, timeout_s=5, what="the load to begin")
    first.cancel()
    load.release.set()
    assert await second == 1
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_failed_load_is_not_kept():
    clock, load = Clock(), Loads()
    cache = CachedValue(load, ttl_s=1.0, clock=clock)
    load.fail_next = True
    with pytest.raises(RuntimeError):
        await cache.get()
    assert await cache.get() == 2  # loaded again at once, not after the TTL
    assert await cache.get() == 2


async def test_the_age_counts_from_when_the_load_began():
    clock, load = Clock(), Loads()
    cache = CachedValue(load, ttl_s=1.0, clock=clock)

    async def slow() -> int:
        clock.now += 0.7  # the count took 0.7 s
        return await load()

    cache.load = slow
    assert await cache.get() == 1
    clock.now += 0.3  # 1.0 s after the count began, 0.3 s after it ended
    assert await cache.get() == 2


async def test_a_ttl_of_zero_loads_every_time():
    cache = CachedValue(load := Loads(), ttl_s=0, clock=Clock())
    assert [await cache.get() for _ in range(3)] == [1, 2, 3] and load.calls == 3


@pytest.mark.services
async def test_stats_answer_from_the_cache_until_it_expires(resources, api_settings, pool):
    app = create_app(api_settings, resources)
    clock = Clock()
    app.state.stats_cache.clock = clock
    key, _ = await create_key(resources.keys, "stats", ["read"])
    headers = {"X-API-Key": key.token}

    async def write(lead_id: str) -> None:
        lead = Lead(lead_id=lead_id, geo_key="NY", source="api", name="Acme", zip="10002")
        await LeadRecords(pool).write([RecordUpdate(lead, "enrich", "a" * 32, 1_700_000_000_000)])

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://api") as client:
        await write("ld_stats_1")
        first = (await client.get("/v1/stats", headers=headers)).json()
        assert first["in_flight"] == 1 and first["by_stage"] == {"enrich": 1}
        await write("ld_stats_2")
        clock.now += api_settings.api.stats_cache_s - 0.01
        assert (await client.get("/v1/stats", headers=headers)).json() == first
        clock.now += 0.01
        second = (await client.get("/v1/stats", headers=headers)).json()
        assert second["in_flight"] == 2 and second["total"] == 2
    assert app.state.stats_cache.loads == 2


# ---- settings --------------------------------------------------------------------------------------------


def test_defaults_are_one_process_and_a_one_second_stats_cache():
    api = load_settings().api
    assert (api.workers, api.process_count(), api.stats_cache_s) == (1, 1, 1.0)


def test_zero_workers_is_one_per_core_this_process_may_use():
    api = load_settings(api={"workers": 0}).api
    assert api.process_count() == len(os.sched_getaffinity(0))


def test_the_settings_are_read_from_their_variables(monkeypatch):
    monkeypatch.setenv("LEADSTREAM_API__WORKERS", "3")
    monkeypatch.setenv("LEADSTREAM_API__STATS_CACHE_S", "0")
    api = load_settings().api
    assert (api.workers, api.process_count(), api.stats_cache_s) == (3, 3, 0.0)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LEADSTREAM_API__WORKERS", "-1"),
        ("LEADSTREAM_API__WORKERS", "65"),
        ("LEADSTREAM_API__WORKERS", "two"),
        ("LEADSTREAM_API__STATS_CACHE_S", "-0.5"),
        ("LEADSTREAM_API__STATS_CACHE_S", "61"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_the_cli_refuses_a_negative_worker_count():
    result = subprocess.run(
        [sys.executable, "-m", "leadstream", "api", "--workers", "-1"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "--workers" in result.stderr


# ---- `leadstream api --workers 2`: two processes, one port -------------------------------------------------


async def _get(port: int, path: str, token: str) -> tuple[asyncio.StreamWriter, int, int]:
    """GET `path` on a new connection left open; returns (writer, our local port, status)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: api\r\nX-API-Key: {token}\r\n\r\n".encode())
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    length = next(
        int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.lower().startswith("content-length")
    )
    await reader.readexactly(length)
    return writer, writer.get_extra_info("sockname")[1], int(head.split(" ", 2)[1])


def _servers(pid: int, port: int) -> dict[int, set[int]]:
    """The server processes under `pid` (those listening on `port`) → the client ports of their connections."""
    out: dict[int, set[int]] = {}
    for child in psutil.Process(pid).children(recursive=True):
        try:
            conns = child.net_connections("tcp")
        except psutil.Error:
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in conns):
            out[child.pid] = {
                c.raddr.port for c in conns if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port and c.raddr
            }
    return out


@pytest.mark.services
async def test_two_processes_serve_one_port_and_both_answer(
    database_url, admin_database_url, kafka_broker, redis_url, unique, tmp_path
):
    name = f"scale_{unique}"
    url = await isolated_url(database_url, name, admin_database_url)
    pool = await create_pool(url, size=1)
    port = free_port()
    proc = None
    writers: list[asyncio.StreamWriter] = []
    log = tmp_path / "api.log"
    try:
        await migrate(pool)
        key, _ = await create_key(ApiKeys(pool), "scale", ["read"], rate="100000/second")
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LEADSTREAM_DATABASE_URL": url,
            "LEADSTREAM_KAFKA_BROKER": kafka_broker,
            "LEADSTREAM_REDIS_URL": redis_url,
            "LEADSTREAM_TOPIC_PREFIX": f"scale-{unique}.",
        }
        env.pop("LEADSTREAM_REPLICA_DATABASE_URL", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadstream", "api", "--workers", "2", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def two_listening() -> bool:
            assert proc.poll() is None, log.read_text()
            return len(_servers(proc.pid, port)) == 2

        await until(two_listening, timeout_s=120, what="two server processes listening on the port")
        answered: dict[int, int] = {}  # server pid → requests it answered
        for _ in range(200):  # the kernel hands each new connection to whichever process accepts first
            writer, client_port, status = await _get(port, "/v1/stats", key.token)
            writers.append(writer)
            assert status == 200, log.read_text()
            owner = [pid for pid, peers in _servers(proc.pid, port).items() if client_port in peers]
            assert len(owner) == 1
            answered[owner[0]] = answered.get(owner[0], 0) + 1
            if len(answered) == 2:
                break
        assert len(answered) == 2, f"one process answered all of {sum(answered.values())} connections"
    finally:
        for writer in writers:
            writer.close()
        if proc is not None:
            children = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            _, alive = psutil.wait_procs(children, timeout=30)
            assert not alive, f"server processes left behind: {alive}"
        await pool.close()
        await drop_isolated(database_url, name, admin_database_url)
    assert proc.returncode == 0, log.read_text()
