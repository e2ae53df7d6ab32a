"""Per-field provider waterfall: try providers in the configured order until one
returns a value that passes the field's check.

A provider that is paused (daily budget spent), whose circuit is open, or that
keeps failing is skipped, and the lead carries on with the next one: one
provider's outage costs the lead that provider's answer, never the lead. A
transient failure (5xx, timeout, 429) is retried in place a few times with
exponential backoff and jitter, honouring Retry-After (tenacity), before the
waterfall moves on. Every try is recorded as a `ProviderAttempt`, so a lead
shows which provider gave each field and why the others did not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from providers.breaker import ProviderUnavailable
from providers.http import PermanentProviderError, TransientProviderError
from providers.ledger import ProviderPaused
from schemas.lead import ProviderAttempt

T = TypeVar("T")

Lookup = Callable[[], Awaitable[Any]]  # a provider's answer for this lead, or None
Check = Callable[[Any], Awaitable[Any]]  # the accepted (possibly filtered) value, or None to reject


class ProviderSkipped(Exception):
    """A provider cannot answer for this lead (not configured, no website, nothing rendered)."""


def _retry_wait(max_wait_s: float):
    backoff = wait_exponential(multiplier=0.2, max=max_wait_s) + wait_random(0, 0.2)

    def wait(state) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after_s", None)
        return min(after, max_wait_s) if after else backoff(state)

    return wait


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, TransientProviderError) and not isinstance(exc, ProviderUnavailable)


@dataclass
class FieldResult(Generic[T]):
    value: T | None = None
    provider: str | None = None
    attempts: list[ProviderAttempt] = field(default_factory=list)


@dataclass
class Waterfall:
    """Runs one field's providers in order; see the module docstring."""

    field: str
    tries_per_provider: int = 3
    max_wait_s: float = 5.0

    async def run(self, providers: Sequence[tuple[str, Lookup]], check: Check) -> FieldResult:
        result: FieldResult[Any] = FieldResult()
        for name, lookup in providers:
            outcome, detail, value = await self._try(lookup, check)
            result.attempts.append(ProviderAttempt(field=self.field, provider=name, outcome=outcome, detail=detail))
            if outcome == "accepted":
                result.value, result.provider = value, name
                break
        return result

    async def _try(self, lookup: Lookup, check: Check) -> tuple[str, str | None, Any]:
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.tries_per_provider),
                wait=_retry_wait(self.max_wait_s),
                retry=retry_if_exception(_retryable),
                reraise=True,
            ):
                with attempt:
                    answer = await lookup()
        except ProviderSkipped as exc:
            return "unavailable", str(exc), None
        except ProviderPaused as exc:
            return "paused", str(exc), None
        except ProviderUnavailable as exc:
            return "circuit_open", str(exc), None
        except (TransientProviderError, PermanentProviderError) as exc:
            return "failed", str(exc), None
        if answer is None or answer == []:
            return "empty", None, None
        accepted = await check(answer)
        if accepted is None:
            return "rejected", None, None
        return "accepted", None, accepted
