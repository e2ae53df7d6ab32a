"""Chaos on the real 3-broker cluster: each scenario is bounded in time and ends with the one verifier.

Run: ``pytest tests/chaos -s`` (``-s`` shows the ``CHAOS`` figure lines). Every scenario runs the
pipeline in worker processes on the cluster of ``.services/env`` (RF 3, min ISR 2, acks=all).
Brokers are killed with `svclib.kafka_cluster` (the cluster of ``LEADSTREAM_SVC_STATE``);
PostgreSQL and Redis are restarted only as throwaway instances of the scenario's own.
Waits poll external state with deadlines; the recovery figures are wall time by nature (measured,
printed, bounded by the scenario's deadline, never compared to a tight threshold).

Figures of one run of the whole directory (2-core machine shared with other runs, 2 main workers
+ 1 mockup worker unless noted; `flock /work/wt/heavy.lock pytest tests/chaos -s`, 2026-12-02):

| scenario | leads | lost | sent twice | dead letters | recovery s |
|---|---|---|---|---|---|
| worker kill -9 ×2 per cycle, during a rebalance | 400 | 0 | 0 | 12 InvalidMessage | 47.7, 34.1 per cycle (19-25 in quieter runs) |
| broker kill -9, restart after 10 s | 300 | 0 | 0 | 9 InvalidMessage | 18.8 |
| PostgreSQL restart (immediate), 1 main worker | 300 | 0 | 0 | 18 InvalidMessage | 15.4 |
| Redis restart (SIGKILL), 1 main worker | 300 | 0 | 0 | 15 InvalidMessage | 11.1 |
| provider storms (30 % 5xx, 429, slow sites) | 300 | 0 | 0 | 13 InvalidMessage | - |
| fuzz (test_fuzz.py), 1 main worker | 10,000 msgs | 0 crashes, 0 stalled partitions | - | 8,568 InvalidMessage + 1,432 skipped as an ended lead's redelivery | drained 9 s after the last send |

Whole directory: 6 passed in 763 s under load (over the ~10 min target; the worker-kill scenario is the longest).
Worker kill rerun alone on 2026-12-03 after the fetch wait (250 ms) and table-manager changes: 400 leads,
lost 0, sent twice 0, 12 InvalidMessage, 45.0 and 21.7 s per cycle (phases: docs/operating.md, "Recovery").
"""

from __future__ import annotations

import asyncio
import time

import pytest

from leadstream.progress import missing_terminal
from simulator.core import SimConfig
from simulator.leads import generate_leads

from .harness import ChaosPipeline, Figures, Progress, verify

TEST_TIMEOUT_S = 300
TEST_BUDGET_S = TEST_TIMEOUT_S - 40  # start to drained; the rest is for the verifier and stopping the workers
pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(TEST_TIMEOUT_S)]

# What a scenario may dead-letter: malformed leads, and what the provider storms exhaust.
BASE_ERRORS = {"InvalidMessage"}
STALL_LIMIT_S = 90.0  # how long a scenario waits for recovery (the goal is < 30 s per kill; printed)


async def _run(
    pipeline: ChaosPipeline,
    leads: int,
    faults,
    *,
    seed: int,
    sim_config=None,
    per_minute: float = 900.0,
    expected=BASE_ERRORS,
) -> Figures:
    generated = generate_leads(leads, seed)
    began = time.monotonic()
    try:
        await pipeline.start(sim_config)  # inside: workers that started before one failed to get ready are stopped
        push = asyncio.create_task(pipeline.push_generated(generated, per_minute))
        async with Progress(pipeline) as progress:
            recovery = await faults(pipeline, progress)
            await push
            # drain within the test's time limit, so a stall ends in a diagnosis, not in pytest's kill
            pipeline.options.timeout_s = max(30.0, TEST_BUDGET_S - (time.monotonic() - began))
            ids = [g.lead_id for g in generated]
            snap = await pipeline.wait_until_drained(ids)
            missing = await missing_terminal(pipeline.pool, ids)
            if snap.in_flight or snap.total_lag or missing:
                await pipeline.diagnose(progress, missing)
        figures = await verify(
            pipeline,
            generated,
            scenario=pipeline.name,
            recovery_s=recovery,
            expected_errors=expected,
            no_progress_s=progress.no_progress_s,
        )
    finally:
        await pipeline.stop()
    return figures


def _check(figures: Figures) -> None:
    assert not figures.problems, "\n".join(figures.problems)
    assert figures.lost == 0 and figures.double_terminal == 0 and figures.sent_twice == 0
    # Recovery seconds are wall time on a shared machine: printed (the CHAOS line), never asserted.
    # STALL_LIMIT_S only bounds how long a scenario waits.


def svclib_module(name: str):
    """A `scripts/svclib` submodule (the `svc` fixture put scripts/ on sys.path and checked the state dir)."""
    import importlib

    return importlib.import_module(f"svclib.{name}")


def kafka_cluster_nodes():
    return svclib_module("kafka_cluster")


async def _wait(seconds: float) -> None:
    """Let the pipeline run for a while between faults (scenario pacing, not an assertion)."""
    await asyncio.sleep(seconds)


@pytest.mark.parametrize("membership", ["static", "dynamic"])
async def test_worker_kill_during_a_rebalance(kafka_cluster, database_url, redis_url, tmp_path, membership):
    """Two cycles: kill -9 worker 1, restart it 5 s later (its join starts a rebalance), and while that
    rebalance runs, kill -9 worker 2 and restart it 3 s later. Stall measured per cycle.

    Static membership is what k8s/base ships (the pod name as group.instance.id): a restarted worker
    takes its partitions back without a rebalance. Dynamic is what a worker without an instance id does."""

    async def faults(pipeline: ChaosPipeline, progress: Progress) -> list[float]:
        stalls = []
        for _ in range(2):
            await _wait(8)
            fault_at = time.monotonic()
            pipeline.kill("main-1")
            stall = asyncio.create_task(progress.stall_s(fault_at, STALL_LIMIT_S))
            await _wait(5)
            pipeline.restart("main-1")
            await _wait(3)  # main-1's join has started a rebalance that waits for the dead member
            pipeline.kill("main-2")
            await _wait(3)
            pipeline.restart("main-2")
            stalls.append(await stall)
        return stalls

    pipeline = ChaosPipeline(
        f"worker-kill-{membership}",
        broker=kafka_cluster,
        database_url=database_url,
        redis_url=redis_url,
        leads=400,
        workdir=tmp_path,
        static_membership=membership == "static",
    )
    _check(await _run(pipeline, 400, faults, seed=21))


async def test_broker_kill_and_restart(kafka_cluster, database_url, redis_url, svc, tmp_path):
    """kill -9 one of the three brokers mid-run (RF 3, min ISR 2: writes go on), restart it 10 s later."""

    async def faults(pipeline: ChaosPipeline, progress: Progress) -> list[float]:
        await _wait(8)
        fault_at = time.monotonic()
        await asyncio.to_thread(kafka_cluster_nodes().kill_broker, 2)
        stall = asyncio.create_task(progress.stall_s(fault_at, STALL_LIMIT_S))
        await _wait(10)
        await asyncio.to_thread(kafka_cluster_nodes().start_broker, 2)
        return [await stall]

    pipeline = ChaosPipeline(
        "broker-kill",
        broker=kafka_cluster,
        database_url=database_url,
        redis_url=redis_url,
        leads=300,
        workdir=tmp_path,
    )
    try:
        _check(await _run(pipeline, 300, faults, seed=22))
    finally:
        await asyncio.to_thread(kafka_cluster_nodes().start_broker, 2)  # idempotent: the next scenario needs all 3


async def test_postgres_restart_mid_run(kafka_cluster, redis_url, svc, tmp_path, unique):
    """An immediate stop of PostgreSQL (sessions cut, crash recovery), on a throwaway instance of this test."""
    pg = await asyncio.to_thread(svclib_module("postgres").throwaway, f"chaos-{unique}")

    async def faults(pipeline: ChaosPipeline, progress: Progress) -> list[float]:
        await _wait(8)
        fault_at = time.monotonic()
        stall = asyncio.create_task(progress.stall_s(fault_at, STALL_LIMIT_S))
        await asyncio.to_thread(svclib_module("postgres").restart_postgres, pg)
        return [await stall]

    pipeline = ChaosPipeline(
        "postgres-restart",
        broker=kafka_cluster,
        database_url=pg.url(),
        redis_url=redis_url,
        leads=300,
        workdir=tmp_path,
        main_workers=1,
    )
    try:
        _check(await _run(pipeline, 300, faults, seed=23))
    finally:
        await asyncio.to_thread(pg.remove)


async def test_redis_restart_mid_run(kafka_cluster, database_url, svc, tmp_path):
    """SIGKILL Redis (rate-limit buckets and caches lost) and start it again, on a throwaway server."""
    server = await asyncio.to_thread(svclib_module("redis").throwaway, tmp_path / "redis")

    async def faults(pipeline: ChaosPipeline, progress: Progress) -> list[float]:
        await _wait(8)
        fault_at = time.monotonic()
        stall = asyncio.create_task(progress.stall_s(fault_at, STALL_LIMIT_S))
        await asyncio.to_thread(svclib_module("redis").restart_redis, server)
        return [await stall]

    pipeline = ChaosPipeline(
        "redis-restart",
        broker=kafka_cluster,
        database_url=database_url,
        redis_url=f"redis://127.0.0.1:{server.port}/0",
        leads=300,
        workdir=tmp_path,
        main_workers=1,
    )
    try:
        _check(await _run(pipeline, 300, faults, seed=24))
    finally:
        await asyncio.to_thread(server.remove)


async def test_provider_storms(kafka_cluster, database_url, redis_url, tmp_path):
    """30 % 5xx from SendGrid and the finders, 429 with Retry-After, and websites slower than the HTTP timeout."""
    storm = SimConfig(seed=25)
    storm.update(
        {
            "sendgrid": {"error_rate": 0.3, "rate_limit_per_s": 20},
            "hunter": {"error_rate": 0.3, "rate_limit_per_s": 10},
            "pagespeed": {"error_rate": 0.3, "rate_limit_per_s": 10},
            "search": {"error_rate": 0.3},
            "web": {"latency_median_ms": 30, "latency_p95_ms": 2500},  # the slowest beyond the 1.5 s timeout
        }
    )

    async def faults(pipeline: ChaosPipeline, progress: Progress) -> list[float]:
        return []  # the storm lasts the whole run

    pipeline = ChaosPipeline(
        "provider-storms",
        broker=kafka_cluster,
        database_url=database_url,
        redis_url=redis_url,
        leads=300,
        workdir=tmp_path,
        main_workers=1,
        extra_env={"LEADSTREAM_HTTP_TIMEOUT_S": "1.5"},
    )
    expected = BASE_ERRORS | {"TransientProviderError", "ProviderUnavailable", "TimeoutError"}
    figures = await _run(pipeline, 300, faults, seed=25, sim_config=storm, expected=expected)
    _check(figures)
    assert pipeline.sim.counters["sendgrid.500"] > 0 and pipeline.sim.counters["sendgrid.429"] >= 0
