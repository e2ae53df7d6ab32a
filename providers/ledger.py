"""What provider calls cost, and a daily spending cap per provider.

`CostLedger` buffers one row per answered call (or cache hit) and writes them
to ``provider_calls`` (through a `CallStore`: `storage.provider_calls`) in batches, so the hot path does not wait on PostgreSQL
for every request. `BudgetGuard` sums a provider's spend since UTC midnight
(all workers, from the table) plus what this process recorded but has not
written yet, and says whether the provider may still be called today.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from providers import metrics
from providers.http import PermanentProviderError

log = logging.getLogger(__name__)


class CallStore(Protocol):
    """Where ledger rows go and today's spend comes from (implemented by `storage.provider_calls.ProviderCalls`)."""

    unavailable_errors: tuple[type[BaseException], ...]  # the store is down: keep the rows, try again later

    async def insert(self, rows: Sequence[tuple[Any, ...]]) -> None: ...

    async def spent_today(self, provider: str) -> float: ...


class ProviderPaused(PermanentProviderError):
    """The provider's daily budget is spent. Permanent for today: the caller should pause
    consuming work for this provider (see `BudgetGuard.allowed`), not retry each event."""


@dataclass(frozen=True)
class _Row:
    at: datetime
    provider: str
    operation: str
    cost_usd: float
    hit: bool
    lead_id: str | None


class CostLedger:
    """Buffered writer of ``provider_calls`` rows: flushed every `batch_size` rows,
    when the oldest buffered row is `flush_interval_s` old, or on `flush()`."""

    def __init__(
        self, store: CallStore, *, batch_size: int = 100, flush_interval_s: float = 5.0, max_buffer: int = 50_000
    ) -> None:
        self._store = store
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_buffer = max_buffer
        self._buffer: list[_Row] = []
        self._oldest_at = 0.0
        self._lock = asyncio.Lock()
        self.recorded_usd: defaultdict[str, float] = defaultdict(float)  # cumulative, this process
        self.flushed_usd: defaultdict[str, float] = defaultdict(float)

    async def record(
        self, provider: str, operation: str, cost_usd: float, hit: bool, lead_id: str | None = None
    ) -> None:
        """Buffer one call. Never raises for a database outage: the rows stay buffered
        (up to `max_buffer`) and go out with the next successful flush."""
        if not self._buffer:
            self._oldest_at = time.monotonic()
        self._buffer.append(_Row(datetime.now(UTC), provider, operation, float(cost_usd), hit, lead_id))
        self.recorded_usd[provider] += float(cost_usd)
        if len(self._buffer) > self.max_buffer:
            dropped = self._buffer[: len(self._buffer) - self.max_buffer]
            del self._buffer[: len(dropped)]
            log.error("cost ledger: dropped %d unwritten rows (database unreachable?)", len(dropped))
        if len(self._buffer) >= self.batch_size or time.monotonic() - self._oldest_at >= self.flush_interval_s:
            try:
                await self.flush()
            except self._store.unavailable_errors as exc:
                log.warning("cost ledger: flush failed, %d rows kept: %s", len(self._buffer), exc)

    def pending(self) -> int:
        return len(self._buffer)

    async def flush(self) -> int:
        """Write the buffered rows in one batch; return how many were written."""
        async with self._lock:
            rows, self._buffer = self._buffer, []
            if not rows:
                return 0
            try:
                await self._store.insert([astuple(r) for r in rows])
            except BaseException:
                self._buffer[:0] = rows  # keep order; retried with the next flush
                raise
            for row in rows:
                self.flushed_usd[row.provider] += row.cost_usd
            self._oldest_at = time.monotonic()
            return len(rows)


class BudgetGuard:
    """Daily caps in USD per provider (providers without a cap are never paused).

    The table sum is re-read at most every `refresh_s` seconds; between reads,
    this process's own new spend (from `ledger`) is added, so one busy worker
    stops right at the cap. Spend by other workers shows up at the next read:
    the cap is exact per process and at most `refresh_s` of others' spend late.
    """

    def __init__(
        self, store: CallStore, caps: dict[str, float], *, ledger: CostLedger | None = None, refresh_s: float = 5.0
    ) -> None:
        self._store = store
        self.caps = dict(caps)
        self._ledger = ledger
        self.refresh_s = refresh_s
        self._base: dict[str, tuple[float, float]] = {}  # provider -> (read at, table sum - flushed by us)
        for provider, cap in self.caps.items():
            metrics.BUDGET_USD.labels(provider).set(cap)

    async def spent_today(self, provider: str) -> float:
        """USD spent on `provider` since UTC midnight, as far as this process knows."""
        now = time.monotonic()
        cached = self._base.get(provider)
        if cached is None or now - cached[0] >= self.refresh_s:
            flushed_before = self._ledger.flushed_usd[provider] if self._ledger else 0.0
            total = await self._store.spent_today(provider)
            cached = (now, float(total) - flushed_before)
            self._base[provider] = cached
        recorded = self._ledger.recorded_usd[provider] if self._ledger else 0.0
        spent = cached[1] + recorded
        cap = self.caps.get(provider)
        if cap is not None:
            metrics.BUDGET_REMAINING_USD.labels(provider).set(max(cap - spent, 0.0))
        return spent

    async def allowed(self, provider: str) -> bool:
        """False once today's spend reached the provider's cap: pause that provider's work."""
        cap = self.caps.get(provider)
        return cap is None or await self.spent_today(provider) < cap

    async def check(self, provider: str) -> None:
        """Raise `ProviderPaused` when `allowed(provider)` is False."""
        if not await self.allowed(provider):
            raise ProviderPaused(provider, f"daily budget of ${self.caps[provider]:.2f} spent")
