"""One provider call with every guard, in the order that wastes nothing:

1. cache hit → return it (ledger: hit, cost 0) — no budget, breaker or slot used;
2. budget spent → `ProviderPaused` (permanent for today: pause the provider);
3. circuit open → `ProviderUnavailable` (transient, retry_after_s = time to half-open);
4. take a shared rate-limit slot (waits; `TransientProviderError` on timeout);
5. call the adapter; a 429's Retry-After travels on the `TransientProviderError`
   it raises, and the stage runner backs off by it (with jitter);
6. breaker learns the outcome; an answered call goes to the ledger with its
   cost and its result to the cache.

Failed calls are not written to the ledger: providers bill answered requests.

With the cache and the rate limit in the same Redis, 1 and 4 are one round trip
(`SharedRateLimiter.acquire_unless_cached`: the cached answer, else a slot) when
nothing in between can stop the call: the breaker is closed and the budget is
not spent (known in process; the budget's sum is re-read every few seconds, and a
failed re-read sends the call the two-trip way). Otherwise they stay two, in the order above,
so a paused or failing provider never takes a shared slot. A breaker that opens
while the slot is awaited leaves the slot unused: fewer calls, never more.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from opentelemetry import trace

from providers import metrics
from providers.breaker import BreakerState, CircuitBreaker, ProviderUnavailable
from providers.cache import ResponseCache
from providers.http import PermanentProviderError, TransientProviderError
from providers.ledger import BudgetGuard, CostLedger, ProviderPaused
from providers.limits import SharedRateLimiter

T = TypeVar("T")

ACQUIRE_TIMEOUT_S = 30.0  # longest wait for a shared rate-limit slot before the call counts as failed


_TRACER = trace.get_tracer("leadstream")  # the global provider's: set by streams.tracing.configure


def _identity(value: Any) -> Any:
    return value


class Guarded(Generic[T]):
    """Wraps `call` (an adapter's bound coroutine method) for `provider`.

    `cost_usd` is the price of one answered call. `encode`/`decode` turn the
    result into bytes or a JSON-able dict/list for the cache and back; the cache
    key is `operation` plus the call's arguments, which must then be JSON-able.
    """

    def __init__(
        self,
        provider: str,
        call: Callable[..., Awaitable[T]],
        *,
        limiter: SharedRateLimiter | None = None,
        breaker: CircuitBreaker | None = None,
        ledger: CostLedger | None = None,
        budget: BudgetGuard | None = None,
        cache: ResponseCache | None = None,
        operation: str | None = None,
        cost_usd: float = 0.0,
        encode: Callable[[T], bytes | dict[str, Any] | list[Any]] = _identity,
        decode: Callable[[Any], T] = _identity,
    ) -> None:
        self.provider = provider
        self.operation: str = operation or str(getattr(call, "__name__", "call"))
        self._call = call
        self.limiter, self.breaker, self.ledger, self.budget, self.cache = limiter, breaker, ledger, budget, cache
        self.cost_usd = cost_usd
        self._encode, self._decode = encode, decode
        metrics.init_provider(provider, self.operation)

    async def __call__(self, *args: Any, lead_id: str | None = None, **kwargs: Any) -> T:
        """The guarded call, in a child span of the stage's span (`streams.tracing`; a no-op when tracing is off)."""
        with _TRACER.start_as_current_span(
            f"{self.provider} {self.operation}",
            kind=trace.SpanKind.CLIENT,
            attributes={"leadstream.provider": self.provider, "leadstream.operation": self.operation},
        ):
            return await self._guarded(args, kwargs, lead_id)

    async def _guarded(self, args: tuple[Any, ...], kwargs: dict[str, Any], lead_id: str | None) -> T:
        key, slot_taken = None, False
        if self.cache is not None and self.cache.enabled(self.provider):
            key = [self.operation, list(args), kwargs]
            try:
                cached, slot_taken = await self._cached_or_slot(self.cache, key)
            except TransientProviderError:
                self._count("transient_error")  # a miss and no slot in time, as `_send` would have found
                raise
            if cached is not None:
                self._count("cache_hit")
                await self._record(0.0, True, lead_id)
                return self._decode(cached)
        if self.budget is not None:
            try:
                await self.budget.check(self.provider)
            except ProviderPaused:
                self._count("budget_paused")
                raise
        try:
            result = await self._send(args, kwargs, slot_taken)
        except ProviderUnavailable:
            self._count("circuit_open")
            raise
        except TransientProviderError:
            self._count("transient_error")
            raise
        except PermanentProviderError:
            self._count("permanent_error")
            raise
        self._count("ok")
        metrics.series(metrics.COST_USD, self.provider).inc(self.cost_usd)
        await self._record(self.cost_usd, False, lead_id)
        if key is not None and self.cache is not None:
            await self.cache.set(self.provider, key, self._encode(result))
        return result

    async def _cached_or_slot(self, cache: ResponseCache, key: Any) -> tuple[Any, bool]:
        """(the cached answer or None, whether a rate-limit slot was taken meanwhile): see the module docstring."""
        limiter, shared = self.limiter, cache.shared_key(self.provider, key)
        if (
            limiter is None
            or shared is None
            or not limiter.shares_redis(cache.redis_url)
            or (self.breaker is not None and self.breaker.state is not BreakerState.closed)
            or not await self._budget_allows()
        ):
            return await cache.get(self.provider, key), False
        blob = await limiter.acquire_unless_cached(shared, timeout_s=ACQUIRE_TIMEOUT_S)
        return cache.answer(blob), blob is None

    async def _budget_allows(self) -> bool:
        """Whether the budget lets a call go now; False too when it cannot tell (the ledger's database does not
        answer): then the cache is read alone, so a cached answer is still served, and a miss meets the budget's
        own error in `budget.check`, as without the shortcut."""
        if self.budget is None:
            return True
        try:
            return await self.budget.allowed(self.provider)
        except Exception:
            return False

    async def _send(self, args: tuple[Any, ...], kwargs: dict[str, Any], slot_taken: bool = False) -> T:
        breaker = self.breaker
        if breaker is not None:
            breaker.before_call()
        try:
            if self.limiter is not None and not slot_taken:
                await self.limiter.acquire(timeout_s=ACQUIRE_TIMEOUT_S)
        except BaseException:
            if breaker is not None:
                breaker.abandon()  # nothing was sent: free the half-open trial
            raise
        started = time.perf_counter()
        try:
            result = await self._call(*args, **kwargs)
        except BaseException as exc:
            if breaker is not None:
                breaker.settle(exc)
            raise
        finally:
            metrics.series(metrics.CALL_SECONDS, self.provider, self.operation).observe(time.perf_counter() - started)
        if breaker is not None:
            breaker.settle(None)
        return result

    def _count(self, outcome: str) -> None:
        metrics.series(metrics.CALLS, self.provider, self.operation, outcome).inc()

    async def _record(self, cost_usd: float, hit: bool, lead_id: str | None) -> None:
        if self.ledger is not None:
            await self.ledger.record(self.provider, self.operation, cost_usd, hit, lead_id)
