"""The runner's one failure policy: which action each error a stage raises leads to, and how long to wait.

The error → action table is the contract in `streams.runner`'s module
docstring; `action_for` and `RetryPolicy` implement it. Nothing below the
runner retries: adapters raise typed errors (`TransientProviderError` with
``retry_after_s``, `PermanentProviderError`, …) and this module decides.

Bare ``OSError`` is deliberately not infrastructure: a file that is missing
today is missing on every retry, and retrying it without limit would hold the
partition for ever. Such an event is dead-lettered and can be replayed once
the file is back (``leadstream dlq replay``). Infrastructure is a store or
Redis that cannot be reached (`storage.errors.STORE_ERRORS`), a transaction the store
rolled back for a concurrent one (`STORE_CONFLICTS`: deadlock, serialization failure), a Kafka cluster
that cannot take a message right now (`KAFKA_TRANSIENT_ERRORS`), and a table
changelog not ready yet.
"""

from __future__ import annotations

import asyncio
import enum
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiokafka.errors as kafka_errors
import redis.exceptions
from faust.exceptions import PartitionsMismatch
from pydantic import ValidationError

from providers.breaker import ProviderUnavailable
from providers.http import TransientProviderError
from schemas.versions import SchemaVersionError
from storage.errors import STORE_CONFLICTS, STORE_ERRORS, is_store_outage
from streams.metrics import DEFERRAL_REASONS
from streams.stage import Deferred, InvalidMessage

# What the producer raises while the cluster is degraded (a broker down, a leader moving, fewer in-sync
# replicas than min.insync.replicas for a while): the message is fine, send it again. Not here, so a dead
# letter: a message the broker will never take (MessageSizeTooLargeError, InvalidTopicError,
# TopicAuthorizationFailedError, ...).
KAFKA_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    kafka_errors.KafkaTimeoutError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.NotEnoughReplicasError,
    kafka_errors.NotEnoughReplicasAfterAppendError,
    kafka_errors.NotLeaderForPartitionError,
    kafka_errors.LeaderNotAvailableError,
    kafka_errors.KafkaConnectionError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.NoBrokersAvailable,
    kafka_errors.KafkaStorageError,
    kafka_errors.StaleMetadata,
)

# Retried without a limit: the lead is fine, our infrastructure is not (yet). A table's PartitionsMismatch
# is a changelog whose metadata has not reached this worker yet (streams.admin), not a bad lead.
INFRA_ERRORS: tuple[type[BaseException], ...] = (
    *STORE_ERRORS,
    *STORE_CONFLICTS,
    *KAFKA_TRANSIENT_ERRORS,
    PartitionsMismatch,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)

# What `Deferred` reasons are counted as (`leadstream_stage_deferrals_total{reason}` is a small closed set).
DEFERRAL_KINDS = DEFERRAL_REASONS

Sleep = Callable[[float], Awaitable[None]]


class Action(enum.Enum):
    DEAD_LETTER = "dead_letter"  # at once, with the error's type as the reason
    RETRY = "retry"  # bounded by max_attempts, then dead letter
    WAIT = "wait"  # a deferral: not an attempt, never a dead letter
    RETRY_INFRA = "retry_infra"  # unbounded, not an attempt
    WAIT_CIRCUIT = "wait_circuit"  # a provider's open circuit: not an attempt, bounded by max_circuit_wait_s


def action_for(exc: BaseException) -> Action:
    """The action for an error raised by `Stage.handle` (see the table in the module docstring)."""
    if isinstance(exc, Deferred):
        return Action.WAIT
    if isinstance(exc, ProviderUnavailable):  # refused before any request went out
        return Action.WAIT_CIRCUIT
    if isinstance(exc, TransientProviderError | TimeoutError):
        return Action.RETRY
    if is_infra(exc):
        return Action.RETRY_INFRA
    return Action.DEAD_LETTER


def is_infra(exc: BaseException) -> bool:
    """Our infrastructure failed, not the lead: `INFRA_ERRORS`, or a store connection closed under a
    transaction (`storage.errors.is_store_outage`, which no type tuple can name)."""
    return isinstance(exc, INFRA_ERRORS) or is_store_outage(exc)


def decode_label(exc: BaseException) -> str:
    """The dead letter's reason label for an error from `Stage.decode`: the message can never be read as it is.

    A version this worker does not take keeps its own name (``NewerSchemaVersion``, ``OlderSchemaVersion``):
    those messages are fine, only this worker is too old (or they too old) for them, and once the newer workers
    run ``leadstream dlq replay --reason NewerSchemaVersion`` finds them. Any other bad payload (a ValueError)
    is ``InvalidMessage``; anything else is a bug in decode, named by its type.
    """
    if isinstance(exc, SchemaVersionError):
        return type(exc).__name__
    return "InvalidMessage" if isinstance(exc, ValueError) else reason_label(exc)


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
    max_circuit_wait_s: float = 90.0  # waiting on open circuits, in all, before the lead is dead-lettered
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

    def circuit_delay(self, retry_after_s: float | None) -> float:
        """Until the circuit half-opens (at least `min_defer_s`), plus up to half again: the leads waiting on
        one circuit come back spread out, after its one trial call has told whether the provider is back. At
        most `max_defer_s`, the longest wait the liveness checks allow for (`streams.health`)."""
        base = max(retry_after_s or 0.0, self.min_defer_s)
        return min(base * (1.0 + 0.5 * self.random()), self.max_defer_s)
