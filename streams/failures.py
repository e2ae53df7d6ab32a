"""The runner's one failure policy: which action each error a stage raises leads to, and how long to wait.

Nothing below the runner retries: adapters raise typed errors
(`providers.http.TransientProviderError` with `retry_after_s`,
`PermanentProviderError`, …) and this module decides. The table is the
contract the runner's module docstring repeats:

=============================================  ==========================================  ==================
error raised by `Stage.decode` / `Stage.handle`  action                                      counts an attempt
=============================================  ==========================================  ==================
`InvalidMessage`, pydantic `ValidationError`     dead letter at once (``InvalidMessage``)     yes
(any error from `decode`: ``ValueError`` too)
`TransientProviderError` (5xx, 429, timeout,     retry after `RetryPolicy.delay` (backoff,    yes; dead letter
circuit open, no rate-limit slot) and a bare     jitter, Retry-After), at most                after
``TimeoutError``                                 `max_attempts` attempts                      `max_attempts`
`Deferred` (send cap, paused sender, window)     wait `retry_after_s` (1 s … `max_defer_s`)   no (never dead-
                                                 and ask again, without limit                 lettered)
`INFRA_ERRORS`: the store unreachable            retry with backoff (≤ `max_backoff_s`),      no (never dead-
(`storage.errors.STORE_ERRORS`: connection       without limit: the lead is fine, our         lettered)
errors, admin shutdown, too many connections),   infrastructure is not
Redis connection/timeout, Faust's
``PartitionsMismatch``
anything else: `PermanentProviderError`, a       dead letter with the error's type name       yes
missing/unreadable file (``FileNotFoundError``,  (a bug or a permanent failure; the worker
``PermissionError``, …), a bug                   goes on)
=============================================  ==========================================  ==================

Bare ``OSError`` is deliberately not infrastructure: a file that is missing
today is missing on every retry, and retrying it without limit would hold the
partition for ever. Such an event is dead-lettered and can be replayed once
the file is back (`leadstream dlq replay`).
"""

from __future__ import annotations

import asyncio
import enum
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import redis.exceptions
from faust.exceptions import PartitionsMismatch
from pydantic import ValidationError

from providers.http import TransientProviderError
from storage.errors import STORE_ERRORS
from streams.stage import Deferred, InvalidMessage

# Retried without a limit: the lead is fine, our infrastructure is not (yet). A table's PartitionsMismatch
# is a changelog whose metadata has not reached this worker yet (streams.admin), not a bad lead.
INFRA_ERRORS: tuple[type[BaseException], ...] = (
    *STORE_ERRORS,
    PartitionsMismatch,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)

# What `Deferred` reasons are counted as (`leadstream_stage_deferrals_total{reason}` is a small closed set).
DEFERRAL_KINDS = ("send_cap", "paused", "window", "budget", "other")

Sleep = Callable[[float], Awaitable[None]]


class Action(enum.Enum):
    DEAD_LETTER = "dead_letter"  # at once, with the error's type as the reason
    RETRY = "retry"  # bounded by max_attempts, then dead letter
    WAIT = "wait"  # a deferral: not an attempt, never a dead letter
    RETRY_INFRA = "retry_infra"  # unbounded, not an attempt


def action_for(exc: BaseException) -> Action:
    """The action for an error raised by `Stage.handle` (see the table in the module docstring)."""
    if isinstance(exc, Deferred):
        return Action.WAIT
    if isinstance(exc, TransientProviderError | TimeoutError):
        return Action.RETRY
    if isinstance(exc, INFRA_ERRORS):
        return Action.RETRY_INFRA
    return Action.DEAD_LETTER


def reason_label(exc: BaseException) -> str:
    """The dead letter's reason label: ``InvalidMessage`` for every bad-input error, else the type's name."""
    if isinstance(exc, InvalidMessage | ValidationError):
        return "InvalidMessage"
    return type(exc).__name__


def deferral_kind(exc: Deferred) -> str:
    """The `Deferred`'s kind when it names one of `DEFERRAL_KINDS`, else read from its reason."""
    if exc.kind in DEFERRAL_KINDS:
        return exc.kind
    text = str(exc).lower()
    for word, kind in (("paused", "paused"), ("window", "window"), ("cap", "send_cap"), ("budget", "budget")):
        if word in text:
            return kind
    return "other"


@dataclass
class RetryPolicy:
    """How long the runner waits, how often it tries, and how large a dead letter may be.

    `sleep` and `random` are injected so tests run the policy on a fake clock.
    """

    max_attempts: int = 4
    backoff_s: float = 0.2
    max_backoff_s: float = 10.0
    min_defer_s: float = 1.0
    max_defer_s: float = 60.0  # re-check a deferral at least this often (a pause can clear early)
    dead_letter_max_bytes: int = 64 * 1024  # the whole dead-letter message: key, headers and value
    sleep: Sleep = field(default=asyncio.sleep, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Exponential backoff with ±50 % jitter, at least the provider's Retry-After (both capped)."""
        base = min(self.max_backoff_s, self.backoff_s * (2 ** (max(attempt, 1) - 1)))
        jittered = base * (0.5 + self.random())
        return max(jittered, min(retry_after or 0.0, self.max_backoff_s))

    def defer_delay(self, retry_after_s: float) -> float:
        return min(max(retry_after_s, self.min_defer_s), self.max_defer_s)
