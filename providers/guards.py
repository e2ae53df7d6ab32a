"""Builds the shared guards of every paid provider from the settings, once per worker.

One `ProviderGuards` per worker process holds the cost ledger, the budget
guard and the response cache, and makes one circuit breaker and one shared
rate limiter per provider name, so the scrape and enrich stages guard their
providers the same way (`providers.guarded` says in which order).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from config import Settings
from providers.breaker import CircuitBreaker
from providers.cache import ResponseCache
from providers.guarded import Guarded
from providers.ledger import BudgetGuard, CallStore, CostLedger
from providers.limits import SharedRateLimiter

T = TypeVar("T")


class ProviderGuards:
    """Per-provider breakers and limiters plus the shared ledger, budget and cache."""

    def __init__(self, settings: Settings, calls: CallStore | None) -> None:
        s = settings
        self.settings = s
        self.rates = {name: p.rate for name, p in s.providers.items() if p.rate}
        self.costs = {name: p.cost_usd for name, p in s.providers.items()}
        budgets = {name: p.daily_budget_usd for name, p in s.providers.items() if p.daily_budget_usd is not None}
        # Without a database (an operator's one-off CLI run) nothing is written and no budget applies.
        self.ledger = CostLedger(calls) if calls is not None else None
        self.budget = BudgetGuard(calls, budgets, ledger=self.ledger) if budgets and calls is not None else None
        # Runs that share a broker under a topic prefix (tests, demos) share no cached answers either.
        self.cache = ResponseCache(
            s.redis_url,
            {name: p.cache_ttl_s for name, p in s.providers.items() if p.cache_ttl_s},
            prefix=s.redis_prefix("cache"),
        )
        self.breakers: dict[str, CircuitBreaker] = {}

    def breaker(self, provider: str) -> CircuitBreaker:
        s = self.settings
        if provider not in self.breakers:
            self.breakers[provider] = CircuitBreaker(
                provider, failure_threshold=s.breaker_failures, window_s=s.breaker_window_s, open_s=s.breaker_open_s
            )
        return self.breakers[provider]

    def wrap(
        self,
        provider: str,
        call: Callable[..., Awaitable[T]],
        *,
        operation: str,
        encode: Callable[[T], Any],
        decode: Callable[[Any], T],
    ) -> Guarded[T]:
        """`call` behind cache → budget → breaker → shared rate limit → ledger."""
        limiter = None
        if provider in self.rates:
            limiter = SharedRateLimiter(self.settings.redis_url, provider=provider, rate=self.rates[provider])
        return Guarded(
            provider,
            call,
            operation=operation,
            cost_usd=self.costs.get(provider, 0.0),
            ledger=self.ledger,
            budget=self.budget,
            cache=self.cache,
            limiter=limiter,
            breaker=self.breaker(provider),
            encode=encode,
            decode=decode,
        )

    async def aclose(self) -> None:
        if self.ledger is not None:
            await self.ledger.flush()
        await self.cache.aclose()
