"""The one path every stage's events take: decode → handle with retries →
record → send → (the agent acks). Shared by all stages so retry, dead-letter
and metrics behave the same everywhere.

Delivery guarantee: at-least-once. A batch's records are written to PostgreSQL
and its output messages acknowledged by the broker before the agent acks the
batch's offsets. A crash in between redelivers the batch; every effect is
idempotent (upserts keyed by lead id, the email outbox), so that is harmless.

Errors:
- `InvalidMessage` / validation errors → dead letter at once.
- `TransientProviderError` → retried with exponential backoff and jitter (and
  the provider's Retry-After), then dead-lettered after `max_attempts`.
- Infrastructure errors (PostgreSQL or Redis unreachable) → retried without a
  limit: dead-lettering a whole outage would lose nothing but would bury
  good leads; waiting keeps them in Kafka.
- `Deferred` (a send cap, a paused sender) → waits and asks again, without limit.
- An output to a topic the stage does not declare as a sink (`streams.topology`)
  is a bug → dead letter (`UndeclaredTopic`), nothing of that event is sent.
- Any other exception is a bug or a permanent failure → dead letter.

Ordered (stateful) stages get batches (`process_batch`), handled one event at
a time in offset order. Unordered (I/O-bound) stages stream: each event is
`submit`ted, handled in the background and acked in offset order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import redis.exceptions
from faust.exceptions import PartitionsMismatch
from pydantic import ValidationError

from providers.http import TransientProviderError
from schemas import Lead, RawLead
from storage.errors import STORE_ERRORS
from storage.records import DeadLetter, LeadRecords, RecordUpdate
from streams import metrics
from streams.envelope import H_DLQ_REASON, Envelope, make_headers, now_ms
from streams.stage import Deferred, InvalidMessage, Output, Stage, _short
from streams.topology import LEADS_SCRAPED, dead_letter_topic

log = logging.getLogger(__name__)

# Retried without a limit: the lead is fine, our infrastructure is not (yet). A table's PartitionsMismatch
# is a changelog whose metadata has not reached this worker yet (streams.admin), not a bad lead.
INFRA_ERRORS: tuple[type[BaseException], ...] = (
    *STORE_ERRORS,
    PartitionsMismatch,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


MAX_DEFER_SLEEP_S = 60.0  # re-check a deferral at least this often (a pause can clear early)


class Sender(Protocol):
    async def __call__(self, topic: str, key: bytes | None, value: bytes, headers: dict[str, bytes]) -> Awaitable[Any]:
        """Hand a message to the producer; return an awaitable that resolves once the broker has it."""


@dataclass
class RetryPolicy:
    max_attempts: int = 4
    backoff_s: float = 0.2
    max_backoff_s: float = 10.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        base = min(self.max_backoff_s, self.backoff_s * (2 ** (attempt - 1)))
        jittered = base * (0.5 + random.random())
        return max(jittered, min(retry_after or 0.0, self.max_backoff_s))


_RAW_FIELDS = set(RawLead.model_fields)


def encode_lead(lead: Lead, topic: str = "") -> bytes:
    """Serialize for `topic`: leads.scraped carries the public RawLead contract, the rest the full Lead."""
    if topic == LEADS_SCRAPED:
        return orjson.dumps(lead.model_dump(mode="json", exclude_none=True, include=_RAW_FIELDS))
    return orjson.dumps(lead.model_dump(mode="json", exclude_none=True))


class InOrderAcks:
    """Acks events in offset order per partition, whatever order they finish in.

    Faust's consumer assumes acks arrive in order: with acks out of order it
    can commit past an offset that is still in flight (faust-streaming 0.15.3,
    `Consumer._new_offset`: the gap check is skipped before the first commit
    and is off by one after it), and a crash would then lose that event. So a
    finished event waits here until every earlier event of its partition is
    finished too.
    """

    def __init__(self, ack: Callable[[Any], Awaitable[Any]]) -> None:
        self.ack = ack
        self.pending: dict[Any, deque[list[Any]]] = {}

    def track(self, event: Any) -> list[Any]:
        entry = [event, False]
        self.pending.setdefault(event.message.tp, deque()).append(entry)
        return entry

    async def done(self, entry: list[Any]) -> None:
        entry[1] = True
        queue = self.pending[entry[0].message.tp]
        while queue and queue[0][1]:
            await self.ack(queue.popleft()[0])


class StageRunner:
    """Runs one stage's batches. Owned by that stage's agent."""

    def __init__(
        self,
        stage: Stage[Any],
        records: LeadRecords,
        send: Sender,
        retry: RetryPolicy | None = None,
        concurrency: int = 32,
        event_scope: Callable[[Any], contextlib.AbstractContextManager[Any]] | None = None,
        sinks: Iterable[str] | None = None,
    ) -> None:
        """`sinks`: the only topics the stage's outputs may name (None: not checked)."""
        self.stage = stage
        self.records = records
        self.send = send
        self.retry = retry or RetryPolicy()
        self._slots = asyncio.Semaphore(stage.max_concurrency or concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._acks: InOrderAcks | None = None
        self.event_scope = event_scope or (lambda _event: contextlib.nullcontext())
        self.sinks = frozenset(sinks) if sinks is not None else None

    async def process_batch(self, events: Iterable[Any]) -> None:
        """Handle Faust events one at a time, in order; record and send the results. Never raises for a bad event."""
        started = time.perf_counter()
        pairs = [(event, Envelope.from_event(event)) for event in events]
        # A lead that has ended goes no further: a redelivery, or a second message
        # with the same lead id, must not act on it again (or email it).
        ended = await self._until_done(lambda: self.records.ended([env.lead_id for _, env in pairs if env.lead_id]))
        if ended:
            metrics.EVENTS.labels(self.stage.name, "skipped_ended").inc(sum(1 for _, e in pairs if e.lead_id in ended))
            pairs = [(event, env) for event, env in pairs if env.lead_id not in ended]
        envelopes = [env for _, env in pairs]
        results: list[list[Output] | DeadLetter] = []
        for event, env in pairs:
            with self.event_scope(event):
                results.append(await self._run_one(env))

        updates: list[RecordUpdate] = []
        letters: list[DeadLetter] = []
        sends: list[tuple[str, bytes | None, bytes, dict[str, bytes]]] = []
        for env, result in zip(envelopes, results):
            if isinstance(result, DeadLetter):
                letters.append(result)
                sends.append(self._dead_letter_message(env, result))
                continue
            for out in result:
                trace_id = out.trace_id or env.trace_id
                ingest_ms = out.ingest_ms or env.ingest_ms
                updates.append(RecordUpdate(out.lead, self.stage.name, trace_id, ingest_ms, out.terminal, out.reason))
                headers = make_headers(out.lead.lead_id, trace_id, ingest_ms)
                for topic in out.topics:
                    sends.append((topic, out.lead.geo_key.encode(), encode_lead(out.lead, topic), headers))

        await self._until_done(self.stage.after_batch)
        await self._until_done(lambda: self.records.write(updates))
        await self._until_done(lambda: self.records.dead_letter(letters))
        pending = [await self.send(*message) for message in sends]
        await asyncio.gather(*pending)
        self._observe(updates, letters, time.perf_counter() - started)

    async def submit(self, event: Any, ack: Callable[[Any], Awaitable[Any]]) -> None:
        """Streaming mode (unordered stages): handle `event` in the background, ack it when done.

        Waits for a free slot first, so at most `concurrency` events are in
        flight (backpressure). A slow website delays only its own lead, not a
        whole batch. Events finish out of order but are acked in offset order
        per partition (`InOrderAcks`), so a crash replays everything unfinished.
        """
        await self._slots.acquire()
        if self._acks is None:
            self._acks = InOrderAcks(ack)
        entry = self._acks.track(event)
        task = asyncio.create_task(self._handle_and_ack(event, entry))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle_and_ack(self, event: Any, entry: list[Any]) -> None:
        assert self._acks is not None  # set by submit before the task starts
        try:
            await self.process_batch([event])
            await self._acks.done(entry)
        except asyncio.CancelledError:
            raise  # shutting down: not acked, so it is redelivered
        except Exception:  # process_batch handles event errors itself; this is a bug: keep the offset uncommitted
            log.exception("%s: could not finish an event; it will be redelivered after a restart", self.stage.name)
        finally:
            self._slots.release()

    async def _run_one(self, env: Envelope) -> list[Output] | DeadLetter:
        stage = self.stage
        try:
            item = stage.decode(env)
        except (InvalidMessage, ValidationError, ValueError) as exc:
            return self._letter(env, "InvalidMessage", _short(exc), attempts=1)
        attempt = 0
        while True:
            attempt += 1
            try:
                outputs = await stage.handle(item, env)
                undeclared = self._undeclared(outputs)
                if undeclared:
                    return self._letter(
                        env,
                        "UndeclaredTopic",
                        f"bug: stage {stage.name!r} sent to {undeclared}, "
                        f"not among its sinks {sorted(self.sinks or ())} (streams.topology)",
                        attempt,
                        item,
                    )
                return outputs
            except TransientProviderError as exc:
                metrics.RETRIES.labels(stage.name, type(exc).__name__).inc()
                if attempt >= self.retry.max_attempts:
                    return self._letter(
                        env, type(exc).__name__, f"gave up after {attempt} attempts: {exc}", attempt, item
                    )
                await asyncio.sleep(self.retry.delay(attempt, exc.retry_after_s))
            except Deferred as exc:
                attempt -= 1  # waiting for permission is not a failed attempt
                metrics.RETRIES.labels(stage.name, "Deferred").inc()
                await asyncio.sleep(min(max(exc.retry_after_s, 1.0), MAX_DEFER_SLEEP_S))
            except INFRA_ERRORS as exc:
                metrics.RETRIES.labels(stage.name, type(exc).__name__).inc()
                log.warning("%s: infrastructure error, retrying (lead %s): %r", stage.name, env.lead_id, exc)
                await asyncio.sleep(self.retry.delay(min(attempt, 6)))
            except (InvalidMessage, ValidationError) as exc:
                return self._letter(env, "InvalidMessage", _short(exc), attempt, item)
            except Exception as exc:  # a bug or a permanent provider failure: keep the worker going
                log.exception("%s: failed on lead %s", stage.name, env.lead_id)
                return self._letter(env, type(exc).__name__, _short(exc), attempt, item)

    def _undeclared(self, outputs: list[Output]) -> list[str]:
        if self.sinks is None:
            return []
        return sorted({topic for out in outputs for topic in out.topics if topic not in self.sinks})

    def _letter(self, env: Envelope, error_type: str, reason: str, attempts: int, item: Any = None) -> DeadLetter:
        lead_id = getattr(item, "lead_id", None) or env.lead_id
        geo = getattr(item, "geo_key", None) or (env.key.decode("utf-8", "replace") if env.key else "unknown")
        return DeadLetter(
            stage=self.stage.name,
            lead_id=lead_id,
            geo_key=geo,
            topic=env.topic,
            partition=env.partition,
            offset=env.offset,
            error_type=error_type,
            reason=reason,
            attempts=attempts,
            payload=env.payload,
            trace_id=env.trace_id,
            ingest_ms=env.ingest_ms,
        )

    def _dead_letter_message(
        self, env: Envelope, letter: DeadLetter
    ) -> tuple[str, bytes | None, bytes, dict[str, bytes]]:
        try:
            payload: dict[str, Any] = {"payload": env.payload.decode("utf-8"), "payload_encoding": "utf-8"}
        except UnicodeDecodeError:
            payload = {"payload": base64.b64encode(env.payload).decode(), "payload_encoding": "base64"}
        body = {
            "stage": letter.stage,
            "lead_id": letter.lead_id,
            "error_type": letter.error_type,
            "reason": letter.reason,
            "attempts": letter.attempts,
            "source_topic": env.topic,
            "source_partition": env.partition,
            "source_offset": env.offset,
            "failed_at_ms": now_ms(),
            "headers": env.headers,
            **payload,
        }
        headers = make_headers(letter.lead_id or "", env.trace_id, env.ingest_ms)
        headers[H_DLQ_REASON] = f"{letter.error_type}: {letter.reason}"[:1000].encode()
        return dead_letter_topic(self.stage.name), env.key, orjson.dumps(body), headers

    async def _until_done(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Retry a system-of-record call until it lands: offsets must not be acked before it."""
        attempt = 0
        while True:
            try:
                return await call()
            except INFRA_ERRORS as exc:
                attempt += 1
                log.warning("%s: record write failed (attempt %d), retrying: %r", self.stage.name, attempt, exc)
                await asyncio.sleep(self.retry.delay(min(attempt, 6)))

    def _observe(self, updates: list[RecordUpdate], letters: list[DeadLetter], seconds: float) -> None:
        name = self.stage.name
        metrics.BATCH_SECONDS.labels(name).observe(seconds)
        now = now_ms()
        for u in updates:
            if u.state is not None:
                metrics.EVENTS.labels(name, "terminal").inc()
                metrics.TERMINAL.labels(u.state.value).inc()
                metrics.E2E_SECONDS.labels(u.state.value).observe(max(0.0, (now - u.ingest_ms) / 1000))
            else:
                metrics.EVENTS.labels(name, "forwarded").inc()
        for d in letters:
            metrics.EVENTS.labels(name, "dead_lettered").inc()
            metrics.TERMINAL.labels("dead_lettered").inc()
            metrics.E2E_SECONDS.labels("dead_lettered").observe(max(0.0, (now - d.ingest_ms) / 1000))
            log.warning("%s: dead-lettered lead %s: %s: %s", name, d.lead_id, d.error_type, d.reason)
