"""The shared rate limiter: its guarantee checked on the slot times its window records, never on wall time.

With Redis the window runs on Redis's clock, so the slots three worker processes
got are stamped by one clock, in the order Redis granted them; without Redis it
runs on an injected clock that the tests move by hand.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis
import redis.exceptions

from providers.cache import ResponseCache
from providers.clock import ManualClock
from providers.http import TransientProviderError
from providers.limits import SharedRateLimiter
from simulator.world import world_for
from simulator.world_places import KNOWN_ZIPS

WORKER = Path(__file__).with_name("limit_worker.py")
SECOND_US = 1_000_000


def busiest_window(times: list[float], window: float = 1.0) -> int:
    """The most timestamps found in any half-open window [t, t + window)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_busiest_window_counts_sliding_windows():
    assert busiest_window([0.0, 0.5, 0.99, 1.0, 1.2, 1.98]) == 4
    assert busiest_window([0.0, 1.0, 2.0]) == 1
    assert busiest_window([]) == 0


@pytest.mark.services
async def test_rate_holds_across_three_worker_processes(fresh_sim, redis_url, unique):
    base_url, sim = fresh_sim
    provider, per_worker, zip_code = f"yelp-{unique}", 12, next(iter(KNOWN_ZIPS))
    world_for(sim).businesses(zip_code, "plumber")  # build the world now, not inside the first request
    args = [base_url, redis_url, provider, "10/second", str(per_worker), zip_code, "plumber"]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    try:
        for proc in procs:  # a bound for a hung process, not a timing assertion
            assert (await asyncio.wait_for(proc.stdout.readline(), timeout=60)).strip() == b"ready"
        for proc in procs:
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), timeout=120)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
    slots = []
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err.decode()[-2000:]
        lines = [orjson.loads(line) for line in out.splitlines()]
        assert len(lines) == per_worker and all(line["leads"] > 0 for line in lines)
        slots.extend(line["slot_us"] for line in lines)

    # The guarantee, exactly (no allowance for clock skew: one clock stamped them all): never more than
    # 10 slots in any one-second window, for the three workers together, not 10 each.
    assert busiest_window(slots, SECOND_US) <= 10
    assert sim.counters["search.requests"] - 3 == len(slots) == len(set(slots))  # one request per slot (+3 warm-ups)
    assert sim.counters["search.429"] == 0


@pytest.mark.services
async def test_a_waiting_caller_gets_the_next_slot_and_keys_have_their_own_windows(redis_url, unique):
    clock = ManualClock()  # times the waits (Redis's clock stamps the slots): nothing sleeps
    limiter = SharedRateLimiter(redis_url, provider=f"p-{unique}", rate="4/second", clock=clock)
    slots = [round(await limiter.acquire("key-a") * 1e6) for _ in range(6)]
    assert busiest_window(slots, SECOND_US) == 4
    assert slots[4] - slots[0] >= SECOND_US  # the fifth slot waited for the first to leave the window
    assert len(clock.sleeps) == 2
    other = await limiter.acquire("key-b", timeout_s=0.0)  # a different key has its own window: granted at once,
    assert round(other * 1e6) < slots[-1]  # not queued behind key-a's reserved slots


async def test_the_window_on_an_injected_clock():
    clock = ManualClock()
    limiter = SharedRateLimiter("", provider="m", rate="3/second", clock=clock)
    slots = [await limiter.acquire() for _ in range(7)]
    start = clock.time() - 2.0
    assert [round(s - start, 6) for s in slots] == [0, 0, 0, 1, 1, 1, 2]  # each wait ends as a slot frees
    assert clock.sleeps == [1.0, 1.0]  # the 4th and the 7th caller waited; the 5th and 6th did not
    assert busiest_window(slots) == 3
    await limiter.clear()
    assert await limiter.acquire() == clock.time()  # a cleared window grants at once


async def test_no_slot_within_the_timeout_fails_at_once_with_when_to_retry():
    clock = ManualClock()
    limiter = SharedRateLimiter("", provider="q", rate="1/minute", clock=clock)
    await limiter.acquire()
    clock.advance(10.0)
    with pytest.raises(TransientProviderError, match="rate limit 1/minute") as caught:
        await limiter.acquire(timeout_s=0.3)
    assert caught.value.retry_after_s == pytest.approx(50.0) and clock.sleeps == []  # the wait could never fit


@pytest.mark.services
async def test_no_slot_within_the_timeout_with_redis(redis_url, unique):
    limiter = SharedRateLimiter(redis_url, provider=f"q-{unique}", rate="1/minute")
    await limiter.acquire()
    with pytest.raises(TransientProviderError) as caught:
        await limiter.acquire(timeout_s=0.3)
    assert 50 < caught.value.retry_after_s <= 61
    await limiter.clear()
    await limiter.acquire(timeout_s=0.0)  # cleared: granted without waiting


@pytest.mark.services
async def test_waiting_callers_reserve_their_slots_in_order_and_wait_once(redis_url, unique):
    """Redis's clock stands still for the test (a `ManualClock` times the waits): a caller that asked, waited
    and asked again would be refused again and again; a reservation is made once and waited for once."""
    clock = ManualClock()
    limiter = SharedRateLimiter(redis_url, provider=f"r-{unique}", rate="2/second", clock=clock)
    seen: list[tuple[float, bool]] = []
    limiter.on_slot = lambda key, at, waited: seen.append((at, waited))
    slots = [await limiter.acquire("k") for _ in range(6)]  # one after another: each reserves behind the last
    assert [waited for _, waited in seen] == [False, False, True, True, True, True]
    gaps = [round(later - first, 3) for first, later in zip(slots, slots[2:])]
    assert gaps == [1.0] * 4  # the third slot is the first one's plus the period, and so on: no slot is lost
    assert busiest_window([round(s * 1e6) for s in slots], SECOND_US) == 2
    assert len(clock.sleeps) == 4  # one wait per waiting caller, however far away its slot
    # The window outlives its furthest slot by a period, so nobody is granted a slot inside it meanwhile.
    window = aioredis.from_url(redis_url)
    try:
        key = limiter._key("k")
        assert await window.llen(key) == 2
        assert await window.pttl(key) > 2_500  # the last slot is ~2 s away, plus the 1 s period
    finally:
        await window.aclose()
    await limiter.clear("k")


@pytest.mark.services
async def test_concurrent_callers_on_redis_get_distinct_slots_in_the_window(redis_url, unique):
    clock = ManualClock()
    limiter = SharedRateLimiter(redis_url, provider=f"c-{unique}", rate="3/second", clock=clock)
    slots = await asyncio.gather(*(limiter.acquire() for _ in range(10)))
    stamps = sorted(round(s * 1e6) for s in slots)
    assert len(set(stamps)) == 10 and busiest_window(stamps, SECOND_US) == 3
    assert len(clock.sleeps) == 7  # the first three went at once
    await limiter.clear()


@pytest.mark.services
async def test_a_slot_past_the_timeout_is_not_reserved(redis_url, unique):
    clock = ManualClock()
    limiter = SharedRateLimiter(redis_url, provider=f"t-{unique}", rate="1/minute", clock=clock)
    first = await limiter.acquire(timeout_s=0.0)
    for _ in range(3):  # refused callers leave nothing behind ...
        with pytest.raises(TransientProviderError):
            await limiter.acquire(timeout_s=0.3)
    later = await limiter.acquire(timeout_s=61)  # ... so a patient one gets the very next slot
    assert round(later - first, 3) == 60.0 and clock.sleeps == [pytest.approx(60.0, abs=0.5)]
    await limiter.clear()


async def test_concurrent_callers_on_the_injected_window():
    clock = ManualClock()
    limiter = SharedRateLimiter("", provider="n", rate="2/second", clock=clock)
    slots = await asyncio.gather(*(limiter.acquire() for _ in range(5)))
    start = clock.time() - sum(clock.sleeps)
    assert sorted(round(s - start, 6) for s in slots) == [0, 0, 1, 1, 2]
    assert clock.sleeps == [1.0, 1.0]  # the 3rd and the 5th waited (a hand-moved clock: the 4th found time moved)


@pytest.mark.services
@pytest.mark.timeout(120)
async def test_a_redis_restart_reloads_the_scripts_and_starts_an_empty_window(svc, tmp_path, unique):
    """A restarted Redis (a throwaway one) has lost its keys and its loaded scripts. The first call on the pooled
    connection the restart cut fails (`ConnectionError`: transient for the callers); the next reconnects, gets
    NOSCRIPT, loads the script and runs it (redis-py's `Script`), on an empty window: the slots granted before
    the restart are forgotten (nothing persists), so up to `limit` more go at once, and the rate holds again."""
    from svclib import redis as redis_service

    server = redis_service.throwaway(tmp_path / "redis")
    url = f"redis://127.0.0.1:{server.port}/0"
    limiter = SharedRateLimiter(url, provider=f"x-{unique}", rate="1/minute", clock=ManualClock())
    cache = ResponseCache(url, {"web": 60}, prefix=f"test:{unique}")
    try:
        await limiter.acquire(timeout_s=0.0)
        with pytest.raises(TransientProviderError):
            await limiter.acquire(timeout_s=0.0)
        redis_service.restart_redis(server)
        with pytest.raises(redis.exceptions.ConnectionError):
            await limiter.acquire(timeout_s=0.0)
        await limiter.acquire(timeout_s=0.0)  # a fresh window
        with pytest.raises(TransientProviderError):
            await limiter.acquire(timeout_s=0.0)  # ... that keeps the rate again
        key = cache.shared_key("web", "https://a.example/")
        assert key is not None
        with pytest.raises(TransientProviderError):
            await limiter.acquire_unless_cached(key, timeout_s=0.0)  # not cached, and the window is full
        await cache.set("web", "https://a.example/", b"a")
        assert cache.answer(await limiter.acquire_unless_cached(key, timeout_s=0.0)) == b"a"  # a hit: no slot needed
        stats = await aioredis.from_url(url).info("commandstats")
        assert stats["cmdstat_script|load"]["calls"] == 2  # each script loaded once after the restart
    finally:
        await cache.aclose()
        server.remove()
