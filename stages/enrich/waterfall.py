"""Per-field provider waterfall: try providers in the configured order until one
returns a value that passes the field's check.

Contract (the stage runner's retry policy is the only one; nothing here retries):

* A provider that is not configured or cannot answer for this lead (`ProviderSkipped`),
  is paused (daily budget spent), answers nothing, or whose answer fails the check is
  this provider's miss: the waterfall moves on to the next.
* A permanent failure (`PermanentProviderError`) is a miss too.
* A transient failure (5xx, timeout, 429, no rate-limit slot, circuit open) is that
  provider's miss *for this lead, now*: the waterfall moves on at once, and the
  provider's circuit breaker has counted it (`providers.guarded`).
* If the field ends without a value and at least one provider failed transiently,
  the field could have had a value without the outage: the last transient error is
  raised (with its ``retry_after_s``), so the runner retries the whole lead later and,
  after `max_attempts`, dead-letters it for replay. A provider that failed outranks
  one whose open circuit refused the call: only when every transient miss was a
  refusal is `ProviderUnavailable` raised, which the runner waits out without counting
  an attempt (`streams.failures`). A lead never loses a field for good to a passing
  outage; a field nobody could fill for good reasons stays empty.

Every try is recorded as a `ProviderAttempt`, so a lead shows which provider
gave each field and why the others did not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from providers.breaker import ProviderUnavailable
from providers.http import PermanentProviderError, TransientProviderError
from providers.ledger import ProviderPaused
from schemas.lead import ProviderAttempt

T = TypeVar("T")

Lookup = Callable[[], Awaitable[Any]]  # a provider's answer for this lead, or None
Check = Callable[[Any], Awaitable[Any]]  # the accepted (possibly filtered) value, or None to reject


class ProviderSkipped(Exception):
    """A provider cannot answer for this lead (not configured, no website, nothing rendered)."""


@dataclass
class FieldResult(Generic[T]):
    value: T | None = None
    provider: str | None = None
    attempts: list[ProviderAttempt] = field(default_factory=list)


@dataclass
class Waterfall:
    """Runs one field's providers in order; see the module docstring."""

    field: str

    async def run(self, providers: Sequence[tuple[str, Lookup]], check: Check) -> FieldResult:
        """The first accepted value; raises the last `TransientProviderError` when none was accepted and
        a provider failed transiently (see the module docstring)."""
        result: FieldResult[Any] = FieldResult()
        transient: TransientProviderError | None = None
        for name, lookup in providers:
            outcome, detail, value = await self._try(lookup, check)
            result.attempts.append(ProviderAttempt(field=self.field, provider=name, outcome=outcome, detail=detail))
            if outcome == "accepted":
                result.value, result.provider = value, name
                return result
            # A provider that failed outranks one whose open circuit refused (no request went out): the runner
            # counts the first as an attempt and only waits for the second (`streams.failures`).
            if isinstance(value, TransientProviderError) and (
                transient is None or not isinstance(value, ProviderUnavailable)
            ):
                transient = value
        if transient is not None:
            raise transient
        return result

    async def _try(self, lookup: Lookup, check: Check) -> tuple[str, str | None, Any]:
        """(outcome, detail, accepted value — or the transient error that made this provider miss)."""
        try:
            answer = await lookup()
        except ProviderSkipped as exc:
            return "unavailable", str(exc), None
        except ProviderPaused as exc:
            return "paused", str(exc), None
        except ProviderUnavailable as exc:
            return "circuit_open", str(exc), exc
        except TransientProviderError as exc:
            return "failed", str(exc), exc
        except PermanentProviderError as exc:
            return "failed", str(exc), None
        if answer is None or answer == []:
            return "empty", None, None
        accepted = await check(answer)
        if accepted is None:
            return "rejected", None, None
        return "accepted", None, accepted
