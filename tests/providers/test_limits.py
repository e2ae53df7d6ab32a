"""The shared rate limiter against real Redis: one budget across worker processes."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import orjson
import pytest

from providers.http import TransientProviderError
from providers.limits import SharedRateLimiter
from simulator.world import world_for
from simulator.world_places import KNOWN_ZIPS

pytestmark = pytest.mark.services

WORKER = Path(__file__).with_name("limit_worker.py")


def busiest_window(times: list[float], window_s: float = 1.0) -> int:
    """The most timestamps found in any half-open window [t, t + window_s)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_busiest_window_counts_sliding_windows():
    assert busiest_window([0.0, 0.5, 0.99, 1.0, 1.2, 1.98]) == 4
    assert busiest_window([0.0, 1.0, 2.0]) == 1
    assert busiest_window([]) == 0


async def test_rate_holds_across_three_worker_processes(fresh_sim, redis_url, unique):
    base_url, sim = fresh_sim
    sim.config.family("search").latency_median_ms = 0.0  # server arrival ~ send time
    provider, duration_s, zip_code = f"yelp-{unique}", 3.0, next(iter(KNOWN_ZIPS))
    world_for(sim).businesses(zip_code, "plumber")  # build the world now, not inside the first request
    start = time.time() + 4.0  # time for all three to import and connect
    args = [base_url, redis_url, provider, "10/second", str(start), str(duration_s), zip_code, "plumber"]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(3)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), timeout=60)
    per_worker = []
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err.decode()[-2000:]
        per_worker.append([orjson.loads(line) for line in out.splitlines()])
    sends = [send for worker in per_worker for send in worker]
    assert all(per_worker), "every worker got slots"

    # The limiter's guarantee, on the times its shared window kept (+1: two processes can
    # read the clock and reach Redis in opposite orders, a few microseconds apart).
    assert busiest_window([s["slot_at"] for s in sends]) <= 11
    assert busiest_window([s["slot_at"] for s in sends], 0.95) <= 10
    # Saturated for 3 s: about 10/s in total, not 10/s per worker.
    assert 25 <= len(sends) <= 10 * (duration_s + 1)
    # What the provider saw: one request per slot, and per second no more than the limit plus
    # a little scheduling jitter (2 shared cores: a worker descheduled after its slot sends late).
    arrivals = [r["at"] for r in sim.records["search.yelp"] if r["at"] >= start]
    assert sim.counters["search.requests"] - 3 == len(sends) == len(arrivals)  # 3 warm-up requests
    assert busiest_window(arrivals) <= 13
    assert busiest_window(arrivals, 0.8) <= 10
    assert max(arrivals) - min(arrivals) >= len(arrivals) / 10 - 1.2  # spread, not a burst
    assert sim.counters["search.429"] == 0


async def test_acquire_waits_for_a_slot_then_times_out(redis_url, unique):
    limiter = SharedRateLimiter(redis_url, provider=f"p-{unique}", rate="4/second")
    began = time.monotonic()
    stamps = []
    for _ in range(10):
        await limiter.acquire("key-a")
        stamps.append(time.time())
    assert busiest_window(stamps, 0.95) <= 4
    assert time.monotonic() - began >= 2.0  # slots 9 and 10 needed the third second
    # A different key has its own window.
    await asyncio.wait_for(limiter.acquire("key-b"), timeout=0.5)

    slow = SharedRateLimiter(redis_url, provider=f"q-{unique}", rate="1/minute")
    await slow.acquire()
    began = time.monotonic()
    with pytest.raises(TransientProviderError) as caught:
        await slow.acquire(timeout_s=0.3)
    assert time.monotonic() - began < 0.2  # the wait could never fit: fails at once
    assert 50 < caught.value.retry_after_s <= 61
    await slow.clear()
    await asyncio.wait_for(slow.acquire(), timeout=0.5)


async def test_in_process_fallback_without_redis(unique):
    limiter = SharedRateLimiter("", provider=f"m-{unique}", rate="3/second")
    stamps = []

    async def take() -> None:
        await limiter.acquire()
        stamps.append(time.time())

    began = time.monotonic()
    await asyncio.gather(*(take() for _ in range(7)))
    assert busiest_window(stamps, 0.95) <= 3
    assert time.monotonic() - began >= 2.0
