"""A circuit breaker per provider: stop calling a provider that keeps failing.

closed → open after `failure_threshold` transient failures within `window_s`;
open rejects at once with `ProviderUnavailable` (no request is sent) for
`open_s`; then half-open lets ONE trial call through: success closes the
circuit, failure opens it again for another `open_s`.

Time comes from an injected `providers.clock.Clock` (the system's by default).

The state is per process on purpose: each worker learns of an outage from its
own first few failures (a handful of requests), the breaker needs no network
round trip on the hot path, and a stale shared "open" flag can never block
every worker after the provider has recovered.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

from providers import metrics
from providers.clock import SYSTEM_CLOCK, Clock
from providers.http import PermanentProviderError, TransientProviderError

T = TypeVar("T")


class ProviderUnavailable(TransientProviderError):
    """The provider's circuit is open; `retry_after_s` is when it will half-open."""


def is_rate_limited(exc: TransientProviderError) -> bool:
    """A 429: the provider is up and answering, we are only too fast (not a breaker failure)."""
    return "HTTP 429" in str(exc)


class BreakerState(str, enum.Enum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


class CircuitBreaker:
    """Counts transient failures of one provider and refuses calls while it looks down."""

    def __init__(
        self,
        provider: str,
        *,
        failure_threshold: int = 5,
        window_s: float = 60.0,
        open_s: float = 30.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.provider = provider
        self.clock = clock
        self.failure_threshold = failure_threshold
        self.window_s = window_s
        self.open_s = open_s
        self._failures: deque[float] = deque()
        self._opened_at: float | None = None
        self._trial_running = False
        metrics.watch_breaker(provider, lambda: self.state.value)

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.closed
        if self.clock.monotonic() - self._opened_at < self.open_s:
            return BreakerState.open
        return BreakerState.half_open

    def before_call(self) -> None:
        """Raise `ProviderUnavailable` unless a call may go out now (claims the half-open trial)."""
        state = self.state
        if state is BreakerState.closed:
            return
        if state is BreakerState.half_open and not self._trial_running:
            self._trial_running = True
            return
        remaining = self.open_s - (self.clock.monotonic() - (self._opened_at or 0.0))
        raise ProviderUnavailable(self.provider, f"circuit {state.value}", retry_after_s=max(remaining, 0.1))

    def on_success(self) -> None:
        """The provider answered: close the circuit and forget old failures."""
        self._failures.clear()
        self._opened_at = None
        self._trial_running = False

    def on_failure(self) -> None:
        """A transient failure: open when the threshold is reached (or the half-open trial failed)."""
        now = self.clock.monotonic()
        if self._opened_at is not None:  # the trial failed, or a call started before opening
            self._opened_at, self._trial_running = now, False
            return
        self._failures.append(now)
        while self._failures and now - self._failures[0] > self.window_s:
            self._failures.popleft()
        if len(self._failures) >= self.failure_threshold:
            self._opened_at = now
            self._failures.clear()

    def abandon(self) -> None:
        """The claimed call was never sent (cancelled, or no rate-limit slot): free the half-open trial."""
        self._trial_running = False

    def settle(self, exc: BaseException | None) -> None:
        """Count the outcome of a call that `before_call` let through.

        Transient errors are failures; success, a permanent error (a 4xx) or a
        429 mean the provider is up and answering; anything else (cancelled)
        frees the trial without counting.
        """
        if exc is None or isinstance(exc, PermanentProviderError):
            self.on_success()
        elif isinstance(exc, TransientProviderError):
            self.on_success() if is_rate_limited(exc) else self.on_failure()
        else:
            self.abandon()

    async def call(self, coro_fn: Callable[..., Awaitable[T]], *args, **kwargs) -> T:
        """Run `coro_fn(*args, **kwargs)` under the breaker (see `settle`)."""
        self.before_call()
        try:
            result = await coro_fn(*args, **kwargs)
        except BaseException as exc:
            self.settle(exc)
            raise
        self.settle(None)
        return result
