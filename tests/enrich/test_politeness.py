"""Per-domain politeness: request rate, concurrency, the shared robots.txt cache.

The rate is checked on the slots the fetcher's rate limiter granted (its
``on_slot`` hook), on the limiter's own clock: a `ManualClock` for the
in-process window, Redis's clock for the shared one. Nothing is measured in
wall time. The simulator counts the requests that arrived per domain and path
(``sim.records["web"]``) and the most in flight per domain
(``sim.max_inflight["web:<domain>"]``).
"""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio as aioredis

from providers.clock import ManualClock
from providers.http import TransientProviderError
from providers.robots import ROBOTS_KEY_PREFIX, SharedRobots
from providers.web import RobotsDisallowed, WebFetcher
from simulator.core import Simulator
from simulator.websites import HOME_PATHS, domain_for_profile
from tests.providers.test_limits import busiest_window

RATE = "5/second"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every Redis call fails at once


def _fetcher(proxy: str, **kwargs) -> WebFetcher:
    options = {"timeout_s": 3.0, "per_domain_concurrency": 2}
    options.update(kwargs)
    return WebFetcher(proxy, user_agent="leadstream-test/1.0", **options)


def _site(sim: Simulator, profile: str, tag: str) -> str:
    """A domain of `profile` no other run has used (rate windows and robots entries live in Redis)."""
    return domain_for_profile(sim.config.seed, profile, prefix=f"{tag}-")


def _requests(sim: Simulator, domain: str, path: str | None = None) -> list[dict]:
    return [r for r in sim.records["web"] if r["domain"] == domain and (path is None or r["path"] == path)]


def _pages(domain: str, count: int) -> list[str]:
    return [f"http://{domain}{HOME_PATHS[n % len(HOME_PATHS)]}" for n in range(count)]


async def _fetch_all(fetcher: WebFetcher, urls: list[str]) -> None:
    async def one(url: str) -> None:
        result = await fetcher.fetch(url)
        assert result.status == 200, (url, result.status)

    await asyncio.gather(*(one(u) for u in urls))


def _record_slots(fetcher: WebFetcher) -> dict[str, list[tuple[float, bool]]]:
    """Per domain, the (slot time, had to wait) of every rate slot the fetcher's limiter grants from now on."""
    slots: dict[str, list[tuple[float, bool]]] = {}
    assert fetcher._rate is not None  # a fetcher with a per-domain rate
    fetcher._rate.on_slot = lambda key, at, waited: slots.setdefault(key, []).append((at, waited))
    return slots


def _slow_site_latency(sim: Simulator) -> None:
    """40 ms per request, so two concurrent requests really overlap at the site."""
    sim.config.family("web").latency_median_ms = 40
    sim.config.family("web").latency_p95_ms = 60


async def test_rate_and_concurrency_per_domain_hold_and_other_domains_run_free(web_sim, unique) -> None:
    proxy, sim = web_sim
    _slow_site_latency(sim)
    busy, quiet = _site(sim, "wix", f"busy-{unique}"), _site(sim, "nextjs", f"quiet-{unique}")
    clock = ManualClock(start=0.0)
    fetcher = _fetcher(proxy, per_domain_rate=RATE, clock=clock)
    slots = _record_slots(fetcher)
    try:
        await asyncio.gather(_fetch_all(fetcher, _pages(busy, 40)), _fetch_all(fetcher, _pages(quiet, 4)))
    finally:
        await fetcher.aclose()

    assert len(_requests(sim, busy)) == 41 and len(_requests(sim, busy, "/robots.txt")) == 1  # robots.txt counts too
    busy_slots = [at for at, _ in slots[busy]]
    assert len(busy_slots) == 41 and busiest_window(busy_slots, 1.0 - 1e-9) <= 5  # 5/s (less 1 ns of float rounding)
    assert any(waited for _, waited in slots[busy])  # the limit, not luck, spread them
    assert sim.max_inflight[f"web:{busy}"] == 2
    # The quiet domain (robots.txt + 4 pages = its whole budget) never waited behind the busy one.
    assert len(_requests(sim, quiet)) == 5 and [waited for _, waited in slots[quiet]] == [False] * 5
    assert sim.max_inflight[f"web:{quiet}"] <= 2


async def test_rate_is_shared_through_redis_by_two_fetchers(web_sim, redis_url, unique) -> None:
    proxy, sim = web_sim
    site = _site(sim, "wix", f"shared-{unique}")
    workers = [_fetcher(proxy, per_domain_rate=RATE, redis_url=redis_url) for _ in range(2)]
    logs = [_record_slots(w) for w in workers]
    try:
        await asyncio.gather(*(_fetch_all(w, _pages(site, 6)) for w in workers))
    finally:
        for worker in workers:
            await worker.aclose()

    assert len(_requests(sim, site)) == 13 and len(_requests(sim, site, "/robots.txt")) == 1  # robots.txt shared too
    # Both workers' slots, stamped by Redis's one clock: 5/s for the two together, not 5/s each.
    slots = [round(at * 1e6) for log in logs for at, _ in log[site]]
    assert len(slots) == 13 and busiest_window(slots, 1_000_000) <= 5
    assert all(log[site] for log in logs)  # both took part
    assert sim.max_inflight[f"web:{site}"] <= 4  # concurrency is per process: 2 each


async def test_no_rate_slot_within_the_timeout_is_transient(web_sim, unique) -> None:
    proxy, sim = web_sim
    site = _site(sim, "wix", f"starved-{unique}")
    clock = ManualClock()
    fetcher = _fetcher(proxy, per_domain_rate="1/minute", timeout_s=0.5, clock=clock)
    try:
        no_slot = r"per-domain rate 1/minute for .*: no slot within 0.5s"
        with pytest.raises(TransientProviderError, match=no_slot) as info:
            await fetcher.fetch(f"http://{site}/")  # robots.txt took the minute's only slot
    finally:
        await fetcher.aclose()
    assert clock.sleeps == [] and info.value.retry_after_s > 50  # failed at once: the wait could never fit
    assert [r["path"] for r in _requests(sim, site)] == ["/robots.txt"]


async def test_redis_down_never_fails_a_fetch_for_robots_but_pauses_rate_limited_fetching(
    web_sim, unique, caplog
) -> None:
    proxy, sim = web_sim
    first, second = _site(sim, "wix", f"down1-{unique}"), _site(sim, "nextjs", f"down2-{unique}")
    robots_only = _fetcher(proxy, redis_url=DEAD_REDIS)
    rate_limited = _fetcher(proxy, redis_url=DEAD_REDIS, per_domain_rate=RATE)
    try:
        with caplog.at_level(logging.WARNING, logger="providers.web"):
            assert (await robots_only.fetch(f"http://{first}/")).status == 200
            assert (await robots_only.fetch(f"http://{second}/")).status == 200
        warnings = [r for r in caplog.records if "robots.txt cache in Redis unavailable" in r.getMessage()]
        assert len(warnings) == 1  # once per fetcher, not once per Redis call
        with pytest.raises(TransientProviderError, match="per-domain rate limiter unavailable"):
            await rate_limited.fetch(f"http://{first}/")
    finally:
        await robots_only.aclose()
        await rate_limited.aclose()
    assert len(_requests(sim, first, "/robots.txt")) == len(_requests(sim, second, "/robots.txt")) == 1


async def test_robots_txt_is_fetched_once_for_all_fetchers_sharing_redis(web_sim, redis_url, unique) -> None:
    proxy, sim = web_sim
    _slow_site_latency(sim)
    site = _site(sim, "wix", f"robots-{unique}")
    workers = [_fetcher(proxy, redis_url=redis_url, robots_ttl_s=60) for _ in range(3)]
    redis = aioredis.from_url(redis_url)
    try:
        # Two workers miss at the same moment: one fetches, the other waits for its verdict.
        await asyncio.gather(*(w.fetch(f"http://{site}/") for w in workers[:2] for _ in range(3)))
        await workers[2].fetch(f"http://{site}/")  # a third, later: straight from Redis
        ttl_ms = await redis.pttl(f"{ROBOTS_KEY_PREFIX}:http://{site}")
    finally:
        for worker in workers:
            await worker.aclose()
        await redis.aclose()
    assert len(_requests(sim, site, "/robots.txt")) == 1
    assert len(_requests(sim, site, "/")) == 7
    assert 50_000 < ttl_ms <= 60_000


async def test_a_robots_miss_costs_two_redis_round_trips(web_sim, redis_url, unique) -> None:
    """Look-else-lock is one script, store-and-unlock another; the lock is gone afterwards and a second
    fetcher reads the verdict in one round trip."""
    proxy, sim = web_sim
    site = _site(sim, "wix", f"trips-{unique}")
    first, second = (_fetcher(proxy, redis_url=redis_url, robots_ttl_s=60) for _ in range(2))
    commands: list[str] = []
    for fetcher in (first, second):
        assert fetcher._shared_robots is not None
        shared_redis = fetcher._shared_robots._redis
        execute = shared_redis.execute_command

        async def counted(*args, _execute=execute, **kwargs):
            commands.append(str(args[0]).upper())
            return await _execute(*args, **kwargs)

        shared_redis.execute_command = counted  # type: ignore[method-assign]
    redis = aioredis.from_url(redis_url)
    for script in (SharedRobots._CLAIM, SharedRobots._RELEASE):  # a fresh Redis: EVALSHA, SCRIPT LOAD, EVALSHA once
        await redis.script_load(script)
    try:
        assert (await first.fetch(f"http://{site}/")).status == 200
        trips_first = len(commands)
        assert (await second.fetch(f"http://{site}/")).status == 200
        lock_left = await redis.exists(f"{ROBOTS_KEY_PREFIX}:http://{site}:lock")
    finally:
        await first.aclose()
        await second.aclose()
        await redis.aclose()
    assert trips_first == 2 and len(commands) == 3, commands
    assert not lock_left
    assert len(_requests(sim, site, "/robots.txt")) == 1


@pytest.mark.parametrize("profile", ["robots_disallow_all", "robots_partial"])
async def test_a_disallow_cached_in_redis_is_honoured_by_another_fetcher(
    web_sim, redis_url, unique, profile: str
) -> None:
    proxy, sim = web_sim
    site = _site(sim, profile, f"deny-{unique}")
    first, second = (_fetcher(proxy, redis_url=redis_url, robots_ttl_s=60) for _ in range(2))
    try:
        if profile == "robots_disallow_all":
            for worker in (first, second):
                with pytest.raises(RobotsDisallowed, match="robots.txt disallows /$"):
                    await worker.fetch(f"http://{site}/")
        else:  # the rules themselves travel through Redis, not only a verdict
            assert (await first.fetch(f"http://{site}/")).status == 200
            with pytest.raises(RobotsDisallowed, match="robots.txt disallows /contact"):
                await second.fetch(f"http://{site}/contact")
            assert (await second.fetch(f"http://{site}/")).status == 200
    finally:
        await first.aclose()
        await second.aclose()
    assert len(_requests(sim, site, "/robots.txt")) == 1
    assert not _requests(sim, site, "/contact")


async def test_robots_entries_expire_with_their_ttl_and_failures_sooner(web_sim, redis_url, unique) -> None:
    proxy, sim = web_sim
    site, failing = _site(sim, "wix", f"ttl-{unique}"), _site(sim, "nextjs", f"ttlerr-{unique}")
    clock = ManualClock()
    options = {"redis_url": redis_url, "robots_ttl_s": 0.6, "robots_error_ttl_s": 0.3, "clock": clock}
    first, second = _fetcher(proxy, **options), _fetcher(proxy, **options)
    redis = aioredis.from_url(redis_url)

    async def expire_in_redis(domain: str, ttl_ms: int) -> None:
        """Check the entry's TTL in Redis, then do what Redis does when it runs out (on Redis's own clock)."""
        key = f"{ROBOTS_KEY_PREFIX}:http://{domain}"
        assert 0 < await redis.pttl(key) <= ttl_ms
        await redis.delete(key)

    try:
        await first.fetch(f"http://{site}/")
        await second.fetch(f"http://{site}/")
        assert len(_requests(sim, site, "/robots.txt")) == 1
        clock.advance(0.59)
        await second.fetch(f"http://{site}/")  # still fresh in process
        assert len(_requests(sim, site, "/robots.txt")) == 1
        clock.advance(0.02)
        await expire_in_redis(site, 600)
        await second.fetch(f"http://{site}/")  # expired locally and in Redis: fetched again
        await first.fetch(f"http://{site}/")  # ...once: the first fetcher finds the new entry in Redis
        assert len(_requests(sim, site, "/robots.txt")) == 2

        sim.config.family("web").error_rate = 1.0  # robots.txt answers 500: disallow all, cached briefly
        with pytest.raises(RobotsDisallowed, match="HTTP 500"):
            await first.fetch(f"http://{failing}/")
        sim.config.family("web").error_rate = 0.0
        clock.advance(0.31)
        await expire_in_redis(failing, 300)
        assert (await second.fetch(f"http://{failing}/")).status == 200
    finally:
        await first.aclose()
        await second.aclose()
        await redis.aclose()
    assert len(_requests(sim, failing, "/robots.txt")) == 2
