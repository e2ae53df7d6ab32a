"""Circuit breaker, cost ledger with budget caps and response cache around the
real search adapter, against the simulator over HTTP, real Redis and PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from providers.breaker import BreakerState, CircuitBreaker, ProviderUnavailable
from providers.cache import ResponseCache
from providers.clock import ManualClock
from providers.guarded import Guarded
from providers.http import TransientProviderError
from providers.ledger import BudgetGuard, CostLedger, ProviderPaused
from providers.limits import SharedRateLimiter
from providers.search import YelpSearch
from schemas.lead import RawLead
from simulator.world_places import KNOWN_ZIPS
from storage.provider_calls import ProviderCalls

pytestmark = pytest.mark.services

ZIPS = sorted(KNOWN_ZIPS)


@pytest.fixture
async def yelp(fresh_sim):
    client = YelpSearch(fresh_sim[0], "test-key", timeout_s=5)
    yield client
    await client.aclose()


def encode_leads(leads: list[RawLead]) -> list:
    return [lead.model_dump(mode="json") for lead in leads]


def decode_leads(items: list) -> list[RawLead]:
    return [RawLead.model_validate(item) for item in items]


async def test_breaker_opens_rejects_fast_half_opens_and_closes(fresh_sim, yelp):
    _, sim = fresh_sim
    clock = ManualClock()
    breaker = CircuitBreaker("yelp", failure_threshold=3, window_s=10, open_s=0.6, clock=clock)
    search = Guarded("yelp", yelp.search, breaker=breaker)
    sim.config.update({"search": {"down": True}})
    for _ in range(3):
        assert breaker.state is BreakerState.closed
        with pytest.raises(TransientProviderError, match="HTTP 503"):
            await search(ZIPS[0], "plumber", 5)
    assert breaker.state is BreakerState.open and sim.counters["search.requests"] == 3

    clock.advance(0.2)
    with pytest.raises(ProviderUnavailable) as caught:
        await search(ZIPS[0], "plumber", 5)
    assert sim.counters["search.requests"] == 3  # rejected without sending anything
    assert caught.value.retry_after_s == pytest.approx(0.4)  # when the circuit half-opens

    clock.advance(0.4)
    assert breaker.state is BreakerState.half_open
    with pytest.raises(TransientProviderError, match="HTTP 503"):  # trial fails: open again
        await search(ZIPS[0], "plumber", 5)
    assert breaker.state is BreakerState.open and sim.counters["search.requests"] == 4

    sim.config.update({"search": {"down": False, "latency_median_ms": 150, "latency_p95_ms": 150}})
    clock.advance(0.6)
    trial = asyncio.create_task(search(ZIPS[0], "plumber", 5))
    await asyncio.sleep(0)  # the trial starts: it claims the half-open slot before its request goes out...
    with pytest.raises(ProviderUnavailable):  # ...so a second call is refused
        await search(ZIPS[1], "plumber", 5)
    assert await trial and breaker.state is BreakerState.closed
    assert sim.counters["search.requests"] == 5
    assert await search(ZIPS[1], "plumber", 5)


async def test_failures_outside_the_window_do_not_open(fresh_sim, yelp):
    _, sim = fresh_sim
    clock = ManualClock()
    breaker = CircuitBreaker("yelp", failure_threshold=2, window_s=0.3, open_s=5, clock=clock)
    sim.config.update({"search": {"down": True}})
    for _ in range(2):
        with pytest.raises(TransientProviderError):
            await breaker.call(yelp.search, ZIPS[0], "plumber", 5)
        clock.advance(0.35)
    assert breaker.state is BreakerState.closed
    for _ in range(2):  # two failures within the window do open it
        with pytest.raises(TransientProviderError):
            await breaker.call(yelp.search, ZIPS[0], "plumber", 5)
    assert breaker.state is BreakerState.open


async def test_budget_cap_pauses_its_provider_and_ledger_has_a_row_per_call(fresh_sim, yelp, pool):
    _, sim = fresh_sim
    ledger = CostLedger(ProviderCalls(pool), batch_size=2, flush_interval_s=60)
    budget = BudgetGuard(ProviderCalls(pool), {"yelp": 0.025, "google": 1.0}, ledger=ledger, refresh_s=60)
    search = Guarded("yelp", yelp.search, ledger=ledger, budget=budget, operation="search", cost_usd=0.01)
    for zip_code in ZIPS[:3]:
        assert await search(zip_code, "plumber", 5, lead_id=f"ld_{zip_code}")
    assert ledger.pending() == 1  # batch of 2 written, 1 buffered
    with pytest.raises(ProviderPaused, match="daily budget"):
        await search(ZIPS[3], "plumber", 5)
    assert sim.counters["search.requests"] == 3  # the paused call never went out
    assert not await budget.allowed("yelp") and await budget.allowed("google") and await budget.allowed("openai")

    assert await ledger.flush() == 1
    rows = await pool.fetch(
        "SELECT provider, operation, cost_usd::float8 AS cost, hit, lead_id FROM provider_calls ORDER BY id"
    )
    assert [(r["provider"], r["operation"], r["cost"], r["hit"], r["lead_id"]) for r in rows] == [
        ("yelp", "search", 0.01, False, f"ld_{z}") for z in ZIPS[:3]
    ]

    # Another worker (fresh guard, nothing buffered) sees the same spend in the table.
    other = BudgetGuard(ProviderCalls(pool), {"yelp": 0.025})
    assert await other.spent_today("yelp") == pytest.approx(0.03)
    assert not await other.allowed("yelp")
    assert await BudgetGuard(ProviderCalls(pool), {"yelp": 0.05}).allowed("yelp")


def _cached_search(yelp, cache: ResponseCache, limiter: SharedRateLimiter, **guards) -> Guarded:
    """The yelp search behind `cache` and `limiter` (and any other `guards`), its leads encoded for the cache."""
    return Guarded(
        "yelp",
        yelp.search,
        cache=cache,
        limiter=limiter,
        operation="search",
        encode=encode_leads,
        decode=decode_leads,
        **guards,
    )


async def test_cache_hit_skips_the_provider_and_is_ledgered(fresh_sim, yelp, pool, redis_url, unique):
    _, sim = fresh_sim
    # a TTL long enough that no key expires on its own however slow the machine: expiry is done by hand below
    cache = ResponseCache(redis_url, {"yelp": 600}, prefix=f"test:{unique}")
    ledger = CostLedger(ProviderCalls(pool), batch_size=100)
    limiter = SharedRateLimiter(redis_url, provider=f"yelp-{unique}", rate="50/second")
    search = _cached_search(yelp, cache, limiter, ledger=ledger, cost_usd=0.02)
    try:
        first = await search(ZIPS[0], "plumber", 5, lead_id="ld_a")
        again = await search(ZIPS[0], "plumber", 5, lead_id="ld_b")
        assert first and again == first
        assert sim.counters["search.requests"] == 1  # the hit never reached the provider
        await search(ZIPS[1], "plumber", 5)  # other arguments: a miss
        assert sim.counters["search.requests"] == 2
        keys = [k async for k in cache._redis.scan_iter(f"test:{unique}:yelp:*")]
        ttls = [await cache._redis.pttl(k) for k in keys]
        assert len(keys) == 2 and all(300_000 < ttl <= 600_000 for ttl in ttls)  # the provider's TTL
        await cache._redis.delete(*keys)  # what Redis does when the TTL runs out (on its own clock)
        await search(ZIPS[0], "plumber", 5)  # expired: a miss again
        assert sim.counters["search.requests"] == 3
        await ledger.flush()
        rows = await pool.fetch("SELECT cost_usd::float8 AS cost, hit, lead_id FROM provider_calls ORDER BY id")
        assert [(r["cost"], r["hit"], r["lead_id"]) for r in rows] == [
            (0.02, False, "ld_a"),
            (0.0, True, "ld_b"),
            (0.02, False, None),
            (0.02, False, None),
        ]
    finally:
        await cache.aclose()


async def test_in_process_entries_expire_on_the_injected_clock():
    clock = ManualClock()
    cache = ResponseCache("", {"web": 30}, clock=clock)
    await cache.set("web", "https://a.example/", b"a")
    clock.advance(29.9)
    assert await cache.get("web", "https://a.example/") == b"a"
    clock.advance(0.1)
    assert await cache.get("web", "https://a.example/") is None


async def test_cache_values_and_in_process_fallback(redis_url, unique):
    shared = ResponseCache(redis_url, {"web": 30}, prefix=f"test:{unique}")
    local = ResponseCache("", {"web": 30}, max_local_entries=2)
    try:
        for cache in (shared, local):
            assert await cache.get("web", "https://a.example/") is None
            await cache.set("web", "https://a.example/", b"<html>a</html>")
            await cache.set("web", {"url": "b", "ua": "x"}, {"status": 200, "body": "b"})
            await cache.set("yelp", "no-ttl", b"never stored")
            assert await cache.get("web", "https://a.example/") == b"<html>a</html>"
            assert await cache.get("web", {"ua": "x", "url": "b"}) == {"status": 200, "body": "b"}  # key order ignored
            assert await cache.get("yelp", "no-ttl") is None
        await local.set("web", "c", b"c")  # over 2 entries: the least recent goes
        assert await local.get("web", "https://a.example/") is None
        keys = [k async for k in shared._redis.scan_iter(f"test:{unique}:*")]
        assert len(keys) == 2 and all(b"a.example" not in k for k in keys)  # hashed keys
        assert 0 < await shared._redis.ttl(keys[0]) <= 30
    finally:
        await shared.aclose()


async def test_cache_read_and_rate_slot_share_one_round_trip_but_only_a_sent_call_takes_a_slot(
    fresh_sim, yelp, redis_url, unique
):
    """Cache and limiter in one Redis: a miss reads the cache and reserves the slot in one script; a hit takes
    no slot; a provider whose breaker is open takes none either (the read then goes alone, as before)."""
    _, sim = fresh_sim
    clock = ManualClock()
    cache = ResponseCache(redis_url, {"yelp": 60}, prefix=f"test:{unique}")
    limiter = SharedRateLimiter(redis_url, provider=f"yelp-{unique}", rate="1/minute", clock=clock)
    slots: list[float] = []
    limiter.on_slot = lambda key, at, waited: slots.append(at)
    breaker = CircuitBreaker("yelp", failure_threshold=1, window_s=10, open_s=30, clock=clock)
    search = _cached_search(yelp, cache, limiter, breaker=breaker)
    try:
        assert limiter.shares_redis(cache.redis_url)
        first = await search(ZIPS[0], "plumber", 5)
        assert len(slots) == 1 and sim.counters["search.requests"] == 1
        assert await search(ZIPS[0], "plumber", 5) == first  # a hit: the minute's only slot is not asked for again
        assert len(slots) == 1 and (cache.hits, cache.misses) == (1, 1)
        with pytest.raises(TransientProviderError, match="rate limit 1/minute") as caught:
            await search(ZIPS[1], "plumber", 5)  # a miss, and the next slot is a minute away: nothing reserved
        assert 50 < caught.value.retry_after_s <= 60 and clock.sleeps == []

        await limiter.clear()
        sim.config.update({"search": {"down": True}})
        with pytest.raises(TransientProviderError, match="HTTP 503"):
            await search(ZIPS[2], "plumber", 5)  # takes the slot, fails, opens the breaker
        assert breaker.state is BreakerState.open and len(slots) == 2
        await limiter.clear()
        with pytest.raises(ProviderUnavailable):
            await search(ZIPS[3], "plumber", 5)
        assert len(slots) == 2  # the open breaker rejected the call before any slot was reserved
        assert await limiter.acquire(timeout_s=0.0)  # and the shared window is still free for other workers
    finally:
        await cache.aclose()
        await limiter.clear()


async def test_acquire_unless_cached_answers_the_value_or_reserves(redis_url, unique):
    limiter = SharedRateLimiter(redis_url, provider=f"u-{unique}", rate="1/minute", clock=ManualClock())
    cache = ResponseCache(redis_url, {"web": 60}, prefix=f"test:{unique}")
    try:
        key = cache.shared_key("web", "https://a.example/")
        assert key is not None and cache.shared_key("yelp", "no-ttl") is None
        assert await limiter.acquire_unless_cached(key, timeout_s=0.0) is None  # a miss: the slot is taken
        with pytest.raises(TransientProviderError):
            await limiter.acquire_unless_cached(key, timeout_s=0.0)  # ... so the next miss gets none
        await cache.set("web", "https://a.example/", b"a")
        blob = await limiter.acquire_unless_cached(key, timeout_s=0.0)  # cached: answered although the window is full
        assert cache.answer(blob) == b"a"
        assert not SharedRateLimiter("", provider="m", rate="1/second").shares_redis(redis_url)
    finally:
        await cache.aclose()
        await limiter.clear()


async def test_a_cached_answer_is_served_while_the_budget_cannot_be_read(fresh_sim, yelp, pool, redis_url, unique):
    """The cache-or-slot shortcut asks the budget before the cache; a ledger database that does not answer must
    not stop a cached answer (it never did): the hit is served, and a miss meets the budget's error unsent."""
    _, sim = fresh_sim
    cache = ResponseCache(redis_url, {"yelp": 60}, prefix=f"test:{unique}")
    limiter = SharedRateLimiter(redis_url, provider=f"yelp-{unique}", rate="50/second", clock=ManualClock())
    budget = BudgetGuard(ProviderCalls(pool), {"yelp": 1.0}, refresh_s=0.0)  # re-read the sum on every call
    search = _cached_search(yelp, cache, limiter, budget=budget)
    try:
        first = await search(ZIPS[0], "plumber", 5)
        await pool.close()  # the ledger's database can no longer be read
        assert await search(ZIPS[0], "plumber", 5) == first
        with pytest.raises(asyncpg.InterfaceError):
            await search(ZIPS[1], "plumber", 5)
        assert sim.counters["search.requests"] == 1 and (cache.hits, cache.misses) == (1, 2)
    finally:
        await cache.aclose()
        await limiter.clear()
