"""What a stage is: plain logic the runner drives, testable without Kafka.

A stage decodes a message into its input type and turns one input into a list
of `Output`s: the lead as it now stands, the topics it goes to next, and the
terminal state when its journey ends here. It never talks to Kafka or to the
system of record itself; the runner does, for every stage the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from schemas import Lead, TerminalState
from schemas.versions import MessageKind, SchemaVersionError
from streams.envelope import Envelope

T = TypeVar("T")


class Versioned(Protocol):
    """A message model that names its kind (`schemas.versions`): `Lead`, `RawLead`, `ScrapeJob`."""

    message_kind: ClassVar[MessageKind]

    @classmethod
    def model_validate(cls, obj: Any) -> Self: ...


M = TypeVar("M", bound=Versioned)


def read_message(model: type[M], payload: bytes) -> M:
    """The one way a stage reads a message: parse, bring it to the current version, validate.

    `schemas.versions.SchemaVersionError` (a newer or too old version) passes through the stages' decoders
    unwrapped, so its dead letter is named for it, not ``InvalidMessage``.
    """
    return model.model_validate(model.message_kind.read(payload))


@dataclass
class Output:
    lead: Lead
    topics: tuple[str, ...] = ()
    terminal: TerminalState | None = None
    reason: str | None = None
    trace_id: str | None = None  # a new lead (scrape) starts its own trace
    ingest_ms: int | None = None  # ... and its own clock


class InvalidMessage(ValueError):
    """The message can never be processed (bad payload): dead-letter it at once."""


class Deferred(Exception):
    """The stage may not act on this event yet (a send cap, a paused sender): retry later, never dead-letter.

    The event keeps its slot and stays unacked, so a stage whose slots are all
    deferred stops consuming: the work stays queued in Kafka, nothing is dropped.
    """

    def __init__(self, reason: str, retry_after_s: float = 30.0, kind: str | None = None) -> None:
        """`kind`: what is waited for, as counted in metrics (`streams.failures.DEFERRAL_KINDS`)."""
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.kind = kind


class Stage(Generic[T]):
    """Base class: override `handle`; override `decode` when the input is not a Lead."""

    name: str = ""
    ordered: bool = False  # True: events are handled one at a time in offset order, in batches (stateful stages)
    max_concurrency: int | None = None  # cap on events in `handle` at once (default: LEADSTREAM_CONCURRENCY)

    async def start(self) -> None:
        """Open clients (HTTP pools, browsers). Called once per worker before the first event."""

    async def stop(self) -> None:
        """Release what `start` opened."""

    async def complete_batch(self) -> None:
        """Decide what needs the whole batch, after its last `handle` and before anything is recorded or sent.

        The output lists `handle` returned for this batch are read only after this: a stage may still change
        them here (the dedupe stage's phone claims: one database transaction per batch, not one per lead).
        Retried like a record write when the store is out (`StageRunner._until_done`), so it must be safe to
        call again. Ordered stages only: a streaming stage's events are handled each on its own, concurrently,
        and this is never called for them."""

    async def after_batch(self) -> None:
        """Persist side records the batch produced (audit logs, review items) before offsets are acked."""

    def decode(self, envelope: Envelope) -> Any:
        try:
            lead = read_message(Lead, envelope.payload)
        except SchemaVersionError:
            raise
        except ValueError as exc:
            raise InvalidMessage(f"not a valid lead record: {_short(exc)}") from exc
        if envelope.lead_id and envelope.lead_id != lead.lead_id:
            raise InvalidMessage(f"lead-id header {envelope.lead_id!r} does not match payload lead_id {lead.lead_id!r}")
        return lead

    async def handle(self, item: T, envelope: Envelope) -> list[Output]:
        raise NotImplementedError


def _short(exc: Exception, limit: int = 600) -> str:
    text = str(exc).replace("\n", "; ")
    return text if len(text) <= limit else text[: limit - 3] + "..."
