"""The one path every stage's events take: decode → handle under the failure
policy → record → send → (the agent acks). Shared by all stages so retries,
dead letters and metrics behave the same everywhere.

Delivery guarantee: at-least-once. A batch's records are written to PostgreSQL
and its output messages acknowledged by the broker before the agent acks the
batch's offsets. A crash in between redelivers the batch; every effect is
idempotent (upserts keyed by lead id, the email outbox), so that is harmless.

Errors → actions (the contract; `streams.failures` implements it, and nothing
below the runner retries — adapters raise typed errors):

| raised by `decode` / `handle`                         | action                                              | attempt? |
|-------------------------------------------------------|-----------------------------------------------------|----------|
| any error from `decode`, or a payload string holding | dead letter at once, reason ``InvalidMessage`` for  | yes (1)  |
| NUL (``\\u0000``: jsonb refuses it; `reject_nul`)     | a ``ValueError`` (bad payload), else its type (bug) |          |
| a ``schema_version`` this worker does not take        | dead letter at once, reason ``NewerSchemaVersion``  | yes (1)  |
| (`schemas.versions`; current and previous are read)   | (or ``OlderSchemaVersion``): replay after upgrading |          |
| `InvalidMessage`, pydantic `ValidationError`          | dead letter at once, reason ``InvalidMessage``      | yes      |
| `TransientProviderError` (5xx, 429, timeout, no rate  | wait `RetryPolicy.delay` (backoff ×2 from           | yes      |
| slot), bare ``TimeoutError``                          | `backoff_s`, ±50 % jitter, ≥ Retry-After, all       |          |
|                                                       | ≤ `max_backoff_s`) and retry; dead letter (reason   |          |
|                                                       | the error's type) at `max_attempts`                 |          |
| `ProviderUnavailable` (a provider's circuit is open   | wait until it half-opens, +0…50 %                   | no       |
| or its one trial call is out: nothing was sent)       | (`RetryPolicy.circuit_delay`, 1…60 s), retry; dead  |          |
|                                                       | letter (``ProviderUnavailable``) once the waits add |          |
|                                                       | up to `max_circuit_wait_s`                          |          |
| `Deferred` (send cap, paused sender, send window)     | wait `retry_after_s` clamped to 1…60 s, ask again;  | no       |
|                                                       | never dead-lettered                                 |          |
| `INFRA_ERRORS` (store unreachable/restarting, Redis   | wait (backoff, ≤ `max_backoff_s`) and retry without | no       |
| connection/timeout, Faust ``PartitionsMismatch``, a   | limit: the lead is fine, our infrastructure is not  |          |
| degraded Kafka cluster: `KAFKA_TRANSIENT_ERRORS`)     | (the runner's own writes and sends: the same)       |          |
| also a store transaction rolled back for a            |                                                     |          |
| concurrent one: deadlock, serialization failure; a    |                                                     |          |
| store connection closed under a transaction           |                                                     |          |
| (`storage.errors.is_store_outage`)                    |                                                     |          |
| anything else: `PermanentProviderError`, a missing or | dead letter at once, reason the error's type (a     | yes      |
| unreadable file (``FileNotFoundError``, …), a bug     | bug or a permanent failure; the worker goes on)     |          |
| an output to a topic the stage does not declare       | dead letter ``UndeclaredTopic``; nothing of the     | yes      |
| (`streams.topology`)                                  | event is sent                                       |          |
| the runner's own path fails (a bug in the runner, an  | `settle_unfinished` (`process_batch` calls it for   | —        |
| output the broker will never take, such as            | ordered batches and streamed events alike): count   |          |
| ``MessageSizeTooLargeError``; a record the store      | ``leadstream_stage_events_total{outcome=            |          |
| refuses)                                              | "internal_error"}``, dead letter ``InternalError``, |          |
|                                                       | then ack; if even that fails, stop the worker       |          |
|                                                       | (redelivery after the restart), never a stall       |          |

Leads that already ended (any terminal state) are skipped, not handled again.
A dead letter keeps the whole original message (key, headers, payload) in
PostgreSQL and sends a capped message to ``deadletter.<stage>``
(`streams.deadletter`), so it is always deliverable and its event always
acked; ``leadstream dlq replay`` puts originals back. Metrics:
``leadstream_stage_retries_total{stage,error}``,
``leadstream_stage_deferrals_total{stage,reason}`` (an open circuit's wait: ``circuit_open``),
``leadstream_dead_letters_total{stage,reason}``.

Ordered (stateful) stages get batches (`process_batch`), handled one event at
a time in offset order; then the stage completes the batch (`Stage.complete_batch`:
decisions that need the whole batch); their table writes are kept per key during the batch
and written back (`flush_state`, `tables.batched`) after its last event and
before its records, sends and acks. Unordered (I/O-bound) stages stream: each event is
`submit`ted, handled in the background and acked in offset order.

Backpressure (streaming): an event is admitted in `submit` (at most
`admitted_per_slot`, LEADSTREAM_ADMITTED_PER_SLOT, times the work slots in
flight, from submit to ack) and takes a work slot (``LEADSTREAM_CONCURRENCY``,
or the stage's `max_concurrency`: at most that many events in `stage.handle`)
for each attempt only. The waits above (a retry's or an outage's backoff, a
`Deferred`) hold no work slot: a few leads sleeping seconds in backoff used to
hold about half of the slot-time (issue #9).

A rebalance redelivers every message of a partition from its committed offset,
also to the worker that keeps the partition: the events it still has in flight
and those it finished behind a slow one (acks go in order, so one 10 s site
timeout at the head holds back everything finished after it). A streaming
runner remembers the outcome of its last `REMEMBERED_EVENTS` messages by
(partition, offset): a redelivered message that finished here is acked without
being handled again, and one still in flight here is acked when that attempt
finishes (``leadstream_stage_events_total{outcome="redelivered"}``). Before,
each rebalance of a worker-kill cycle handled them all again, renders and
provider calls included, on the machine the restarted workers were starting on.

Acks and rebalances: `InOrderAcks` keeps a partition's acks in the order its
events arrived; events still in flight when their partition is revoked are
acked when they finish, possibly after the partition came back. Faust's
commit bookkeeping could commit past an offset that never ran when a
rebalance met a message held by its fetch loop (issue #10's lost lead);
`streams.consumer.SafeConsumer` commits a partition only up to the first
offset that is not acked, counted from the committed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

import orjson

from schemas import Lead, RawLead
from storage.records import DeadLetter, LeadRecords, RecordUpdate
from streams import metrics, tracing
from streams.deadletter import dead_letter_message
from streams.envelope import Envelope, clean_text, make_headers, now_ms, plausible_id, plausible_ms
from streams.failures import (
    INFRA_ERRORS,
    Action,
    RetryPolicy,
    action_for,
    decode_label,
    deferral_kind,
    is_infra,
    reason_label,
)
from streams.health import MONITOR, HealthMonitor
from streams.stage import Deferred, InvalidMessage, Output, Stage, _short
from streams.topology import GEO_KEYED_TOPICS, LEADS_SCRAPED, message_key

__all__ = ["INFRA_ERRORS", "InOrderAcks", "RetryPolicy", "Sender", "StageRunner", "encode_lead"]

log = logging.getLogger(__name__)


def _count_end(lead_id: str | None, state: str, ingest_ms: int, ended: set[str], now: int) -> None:
    """``leadstream_terminal_total`` and the e2e latency, once per lead: the store said this write ended it
    (`storage.records`), so a redelivered or doubly handled lead is not counted twice. Each id is taken
    from `ended` as it is counted."""
    if lead_id is None or lead_id not in ended:
        return
    ended.discard(lead_id)
    metrics.series(metrics.TERMINAL, state).inc()
    metrics.E2E_SECONDS.labels(state).observe(max(0.0, (now - ingest_ms) / 1000))


def record_write_retried(exc: BaseException) -> bool:
    """The runner's own writes must land before offsets are acked: outages and slow stores are waited out."""
    return is_infra(exc) or isinstance(exc, TimeoutError)


UNFINISHED_SEND_TIMEOUT_S = 60.0  # how long `settle_unfinished` waits for the broker to take its dead letters
# Outcomes a streaming runner keeps, by (partition, offset), so a rebalance's redelivery is not handled again
# (module docstring): about a minute of one worker's events at full rate; a few hundred bytes each.
REMEMBERED_EVENTS = 4096
# Events a streaming stage admits per work slot (`StageRunner`; LEADSTREAM_ADMITTED_PER_SLOT): those in
# `stage.handle` plus those waiting out a backoff or a deferral, or for a slot, or being recorded and sent.
ADMITTED_PER_SLOT = 4


class Sender(Protocol):
    async def __call__(self, topic: str, key: bytes | None, value: bytes, headers: dict[str, bytes]) -> Awaitable[Any]:
        """Hand a message to the producer; return an awaitable that resolves once the broker has it."""


_RAW_FIELDS = set(RawLead.model_fields)


def encode_lead(lead: Lead, topic: str = "") -> bytes:
    """Serialize for `topic`: leads.scraped carries the public RawLead contract, the rest the full Lead."""
    if topic == LEADS_SCRAPED:
        return orjson.dumps(lead.model_dump(mode="json", exclude_none=True, include=_RAW_FIELDS))
    return orjson.dumps(lead.model_dump(mode="json", exclude_none=True))


def reject_nul(payload: bytes) -> None:
    """Raise `InvalidMessage` when a JSON payload holds a NUL character (``\\u0000``) in a string or key.

    PostgreSQL's jsonb refuses it, so such a lead would fail at the upsert, after the stage ran; refusing it
    here makes it an ``InvalidMessage`` dead letter like any other bad payload. Only payloads with the escape's
    bytes are parsed (a literal backslash before ``u0000`` is not a NUL).
    """
    if b"\\u0000" not in payload:
        return
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return  # not JSON: decode says so
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise InvalidMessage("a string holds a NUL character (\\u0000), which PostgreSQL cannot store")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


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
        admitted_per_slot: int = ADMITTED_PER_SLOT,
        event_scope: Callable[[Any], contextlib.AbstractContextManager[Any]] | None = None,
        sinks: Iterable[str] | None = None,
        health: HealthMonitor | None = None,
        flush_state: Sequence[Callable[[], object]] = (),
    ) -> None:
        """`concurrency`: work slots, events inside `stage.handle` at once (the stage's `max_concurrency`
        wins); `admitted_per_slot`: events a streaming stage admits per work slot (`submit`);
        `sinks`: the only topics the stage's outputs may name (None: not checked);
        `health`: where progress is reported (`streams.health`, the process's monitor by default);
        `flush_state`: called after a batch's last event, before its records, sends and ack: the write-backs
        of the stage's tables (`tables.batched.WriteBehind.flush`)."""
        self.stage = stage
        self.records = records
        self.send = send
        self.retry = retry or RetryPolicy()
        work_slots = stage.max_concurrency or concurrency
        self._slots = asyncio.Semaphore(work_slots)  # streaming: held only inside `stage.handle` (`_handle`)
        self._admission = asyncio.Semaphore(work_slots * admitted_per_slot)  # streaming: held from submit to ack
        self._tasks: set[asyncio.Task[None]] = set()
        self._acks: InOrderAcks | None = None
        # streaming mode: each recent message's attempt, by (partition, offset) (`submit`, `_attempt`)
        self._attempts: OrderedDict[tuple[Any, int], asyncio.Future[bool]] = OrderedDict()
        self.event_scope = event_scope or (lambda _event: contextlib.nullcontext())
        self.sinks = frozenset(sinks) if sinks is not None else None
        self.health = health or MONITOR
        self.flush_state = tuple(flush_state)
        self.closing = False  # set by `drain`: take no new events
        self._busy = 0  # events inside process_batch
        self._idle = asyncio.Event()
        self._idle.set()
        metrics.init_stage(stage.name, tuple(self.sinks or ()))
        self.health.register_stage(stage.name)

    async def process_batch(self, events: Iterable[Any]) -> None:
        """Handle Faust events one at a time, in order; record and send the results. Never raises for a bad event.

        When the runner's own path fails (a bug, a record the store refuses, an output the broker will never
        take), the events get the defined outcome of `settle_unfinished` (dead letter ``InternalError``), and
        only if that fails too is the error raised (the worker is stopping: do not ack).
        """
        await self._settled(list(events), None)

    async def _settled(self, batch: list[Any], slots: asyncio.Semaphore | None) -> None:
        """`process_batch` for `batch`; `slots`: the work slots `stage.handle` runs in (streaming), or None."""
        try:
            await self._process_batch(batch, slots)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not await self.settle_unfinished(batch, exc):
                raise

    async def _process_batch(self, events: list[Any], slots: asyncio.Semaphore | None) -> None:
        started = time.perf_counter()
        pairs = [(event, Envelope.from_event(event)) for event in events]
        self._enter(len(pairs))
        try:
            await self._process(pairs, started, slots)
        finally:
            self._leave(len(pairs))

    def _enter(self, count: int) -> None:
        metrics.series(metrics.CONSUMED, self.stage.name).inc(count)
        metrics.series(metrics.IN_FLIGHT, self.stage.name).inc(count)
        self._busy += count
        self._idle.clear()

    def _leave(self, count: int) -> None:
        metrics.series(metrics.IN_FLIGHT, self.stage.name).dec(count)
        self._busy -= count
        if self._busy <= 0:
            self._idle.set()

    async def _process(
        self, pairs: list[tuple[Any, Envelope]], started: float, slots: asyncio.Semaphore | None
    ) -> None:
        # A lead that has ended goes no further: a redelivery, or a second message
        # with the same lead id, must not act on it again (or email it).
        ended = await self._until_done(lambda: self.records.ended([env.lead_id for _, env in pairs if env.lead_id]))
        if ended:
            metrics.series(metrics.EVENTS, self.stage.name, "skipped_ended").inc(
                sum(1 for _, e in pairs if e.lead_id in ended)
            )
            pairs = [(event, env) for event, env in pairs if env.lead_id not in ended]
        envelopes = [env for _, env in pairs]
        results: list[list[Output] | DeadLetter] = []
        for event, env in pairs:
            with self.event_scope(event), tracing.stage_span(self.stage.name, env):
                began = time.perf_counter()
                results.append(await self._run_one(env, slots))
                metrics.series(metrics.PROCESSING_SECONDS, self.stage.name).observe(time.perf_counter() - began)
        if self.stage.ordered:  # may still change `results` (`Stage.complete_batch`)
            await self._until_done(self.stage.complete_batch)
        for flush in self.flush_state:  # the batch's table writes, before anything acks it
            flush()

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
                # Encoded once: the same bytes go to every topic that carries the full Lead and into its row.
                encoded = encode_lead(out.lead)
                updates.append(
                    RecordUpdate(out.lead, self.stage.name, trace_id, ingest_ms, out.terminal, out.reason, encoded)
                )
                headers = tracing.inject(make_headers(out.lead.lead_id, trace_id, ingest_ms), env, self.stage.name)
                for topic in out.topics:
                    metrics.series(metrics.PRODUCED, self.stage.name, topic).inc()
                    key = message_key(topic, out.lead.lead_id, out.lead.geo_key)
                    value = encode_lead(out.lead, topic) if topic == LEADS_SCRAPED else encoded
                    sends.append((topic, key, value, headers))

        await self._until_done(self.stage.after_batch)
        ended_now: set[str] = await self._until_done(lambda: self.records.write(updates))
        ended_now |= await self._until_done(lambda: self.records.dead_letter(letters))
        await self._until_done(lambda: self._send_all(sends))
        self._observe(updates, letters, time.perf_counter() - started, ended_now)
        self.health.progress(self.stage.name)

    async def _send_all(self, sends: list[tuple[str, bytes | None, bytes, dict[str, bytes]]]) -> None:
        """Produce `sends` and wait until the broker has every one; raise the first refusal.

        A transient refusal (`streams.failures.KAFKA_TRANSIENT_ERRORS`) makes `_until_done` send them all
        again: downstream effects are idempotent, so a duplicate is harmless and a gap is not.
        """
        pending = [await self.send(*message) for message in sends]
        results = await asyncio.gather(*pending, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def submit(self, event: Any, ack: Callable[[Any], Awaitable[Any]]) -> None:
        """Streaming mode (unordered stages): handle `event` in the background, ack it when done.

        Waits to be admitted first, so at most `admitted_per_slot` × the work
        slots are in flight (backpressure: a long deferral cannot pull a topic
        into memory). Each attempt then takes a work slot only while
        `stage.handle` runs (`_handle`): an event waiting out a backoff or a
        deferral lets another one work. A slow website delays only its own
        lead, not a whole batch. Events finish out of order but are acked in
        offset order per partition (`InOrderAcks`), so a crash replays
        everything unfinished. A message this runner has already handled, or
        is handling, is not admitted again and not handled again (`_rejoin`,
        module docstring).
        """
        key = (event.message.tp, event.message.offset)
        earlier = self._attempts.get(key)
        if earlier is not None and earlier.done() and not earlier.result():
            earlier = None  # that attempt was not acked (cancelled, or not even dead-lettered): handle it anew
        if earlier is None:
            await self._admission.acquire()
        if self.closing:  # shutting down (`drain`): leave it unacked for the next owner of the partition
            if earlier is None:
                self._admission.release()
            await asyncio.Event().wait()  # until Faust cancels the agent
        if self._acks is None:
            self._acks = InOrderAcks(ack)
        entry = self._acks.track(event)
        if earlier is None:
            work = self._handle_and_ack(event, entry, self._attempt(key))
        else:
            work = self._rejoin(earlier, event, entry)
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _attempt(self, key: tuple[Any, int]) -> asyncio.Future[bool]:
        """A new attempt at the message `key`: its future says whether it ended acked (its effects landed)."""
        outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._attempts[key] = outcome
        self._attempts.move_to_end(key)
        for _ in range(len(self._attempts) - REMEMBERED_EVENTS):  # forget the oldest finished ones
            oldest, attempt = next(iter(self._attempts.items()))
            if attempt.done():
                del self._attempts[oldest]
            else:  # still in flight (a site timeout, a deferred email): kept, it is not finished
                self._attempts.move_to_end(oldest)
        return outcome

    async def _rejoin(self, earlier: asyncio.Future[bool], event: Any, entry: list[Any]) -> None:
        """A redelivery of a message handled here: ack it in its turn once the earlier attempt ended acked,
        else (it was abandoned) handle it like any event."""
        assert self._acks is not None  # set by submit before the task starts
        if await asyncio.shield(earlier):
            metrics.series(metrics.EVENTS, self.stage.name, "redelivered").inc()
            await self._acks.done(entry)
            return
        await self._admission.acquire()
        key = (event.message.tp, event.message.offset)
        await self._handle_and_ack(event, entry, self._attempt(key))

    async def _handle_and_ack(self, event: Any, entry: list[Any], outcome: asyncio.Future[bool]) -> None:
        assert self._acks is not None  # set by submit before the task starts
        try:
            await self._settled([event], self._slots)  # its own failures end in settle_unfinished (a dead letter)
        except asyncio.CancelledError:
            raise  # shutting down: not acked, so it is redelivered
        except Exception:  # not even a dead letter could be delivered: settle_unfinished is stopping the worker
            log.exception("%s: could not finish an event; it will be redelivered after the restart", self.stage.name)
        else:
            outcome.set_result(True)  # its effects landed: a redelivery of it may be acked as it is
            await self._acks.done(entry)
        finally:
            if not outcome.done():
                outcome.set_result(False)
            self._admission.release()

    async def idle(self) -> None:
        """Return once no ordered batch is inside `process_batch` (a rebalance waits for this: `WorkerRuntime`)."""
        await self._idle.wait()

    @property
    def is_idle(self) -> bool:
        return self._idle.is_set()

    async def drain(self, grace_s: float) -> bool:
        """Graceful shutdown: take no new events, let those in flight finish for up to `grace_s`,
        then cancel the rest. True when everything in flight finished (and was acked).

        A cancelled event is not acked (`_handle_and_ack`), so its partition's next owner gets it
        again; what it recorded is idempotent. Nothing is ever half-acked: acks go in offset order.
        """
        self.closing = True
        tasks = set(self._tasks)
        try:
            async with asyncio.timeout(grace_s):
                if tasks:
                    await asyncio.wait(tasks)
                await self._idle.wait()  # an ordered stage's batch in process_batch
            return True
        except TimeoutError:
            for task in self._tasks:
                task.cancel()
            if self._tasks:
                await asyncio.wait(set(self._tasks))
            log.warning(
                "%s: abandoned %d unfinished event(s) at shutdown; they will be redelivered",
                self.stage.name,
                max(self._busy, 0),
            )
            return False

    async def _run_one(self, env: Envelope, slots: asyncio.Semaphore | None = None) -> list[Output] | DeadLetter:
        """Decode and handle one event under the failure policy (`streams.failures`): its outputs, or its dead letter.

        `slots` (streaming): each attempt takes a work slot for `stage.handle` only, so the waits between
        attempts (backoff, deferral) hold none (`_handle`)."""
        stage, policy = self.stage, self.retry
        try:
            reject_nul(env.payload)
            item = stage.decode(env)
        except Exception as exc:  # whatever decode raises, this message can never be read: no retry helps
            if not isinstance(exc, ValueError):  # not a bad message but a bug in decode: say where
                log.exception("%s: decode failed on lead %s", stage.name, env.lead_id)
            return self._letter(env, decode_label(exc), _short(exc), attempts=1)
        attempts = infra_failures = 0
        circuit_waited_s = 0.0
        while True:
            try:
                outputs = await self._handle(item, env, slots)
            except Deferred as exc:  # waiting for permission is not a failed attempt
                metrics.series(metrics.DEFERRALS, stage.name, deferral_kind(exc)).inc()
                self.health.alive(stage.name)
                await policy.sleep(policy.defer_delay(exc.retry_after_s))
                continue
            except Exception as exc:
                action = action_for(exc)
                if action is Action.WAIT_CIRCUIT:
                    # No request went out: not an attempt. Waiting until the circuit half-opens keeps the
                    # lead's attempts for calls the provider actually failed.
                    if circuit_waited_s >= policy.max_circuit_wait_s:
                        reason = f"waited {circuit_waited_s:.0f} s on open circuits: {_short(exc)}"
                        return self._letter(env, type(exc).__name__, reason, attempts, item)
                    delay = policy.circuit_delay(getattr(exc, "retry_after_s", None))
                    circuit_waited_s += delay
                    metrics.series(metrics.DEFERRALS, stage.name, "circuit_open").inc()
                    self.health.alive(stage.name)
                    await policy.sleep(delay)
                    continue
                if action is Action.RETRY_INFRA:  # our infrastructure, not the lead: not an attempt either
                    infra_failures += 1
                    metrics.series(metrics.RETRIES, stage.name, type(exc).__name__).inc()
                    self.health.alive(stage.name)
                    log.warning("%s: infrastructure error, retrying (lead %s): %r", stage.name, env.lead_id, exc)
                    await policy.sleep(policy.delay(min(infra_failures, 6)))
                    continue
                attempts += 1
                if action is Action.RETRY and attempts < policy.max_attempts:
                    metrics.series(metrics.RETRIES, stage.name, type(exc).__name__).inc()
                    self.health.alive(stage.name)
                    log.warning("%s: attempt %d failed, retrying (lead %s): %r", stage.name, attempts, env.lead_id, exc)
                    await policy.sleep(policy.delay(attempts, getattr(exc, "retry_after_s", None)))
                    continue
                if action is Action.RETRY:
                    return self._letter(
                        env, type(exc).__name__, f"gave up after {attempts} attempts: {_short(exc)}", attempts, item
                    )
                kind = reason_label(exc)
                if kind != "InvalidMessage":  # a bug or a permanent failure: keep the worker going, say why
                    log.exception("%s: failed on lead %s", stage.name, env.lead_id)
                return self._letter(env, kind, _short(exc), attempts, item)
            attempts += 1
            undeclared = self._undeclared(outputs)
            if undeclared:
                return self._letter(
                    env,
                    "UndeclaredTopic",
                    f"bug: stage {stage.name!r} sent to {undeclared}, "
                    f"not among its sinks {sorted(self.sinks or ())} (streams.topology)",
                    attempts,
                    item,
                )
            return outputs

    async def _handle(self, item: Any, env: Envelope, slots: asyncio.Semaphore | None) -> list[Output]:
        """One attempt: `stage.handle` inside a work slot when streaming (ordered stages have none)."""
        if slots is None:
            return await self.stage.handle(item, env)
        async with slots:
            return await self.stage.handle(item, env)

    def _undeclared(self, outputs: list[Output]) -> list[str]:
        if self.sinks is None:
            return []
        return sorted({topic for out in outputs for topic in out.topics if topic not in self.sinks})

    def _letter(self, env: Envelope, error_type: str, reason: str, attempts: int, item: Any = None) -> DeadLetter:
        """The dead letter of `env` (counted in `leadstream_dead_letters_total`).

        Ids and keys taken from headers are kept only when they can be ids (an 800 KB "lead id" is not one,
        and would not fit the leads table's index); text loses NUL characters PostgreSQL refuses.
        """
        metrics.series(metrics.DEAD_LETTERS, self.stage.name, error_type).inc()
        lead_id = plausible_id(getattr(item, "lead_id", None) or env.lead_id)
        # The message key is the geography key only on the stateful stages' inputs (the rest: the lead id).
        geo_keyed = any(env.topic.endswith(topic) for topic in GEO_KEYED_TOPICS)
        key_text = env.key.decode("utf-8", "replace") if env.key and geo_keyed else None
        geo = plausible_id(clean_text(getattr(item, "geo_key", None) or key_text or ""), 64) or "unknown"
        return DeadLetter(
            stage=self.stage.name,
            lead_id=lead_id,
            geo_key=geo,
            topic=env.topic,
            partition=env.partition,
            offset=env.offset,
            error_type=clean_text(error_type),
            reason=clean_text(reason),
            attempts=attempts,
            payload=env.payload,
            trace_id=env.trace_id,
            ingest_ms=plausible_ms(env.ingest_ms, now_ms()),  # a dead letter must always be storable
            key=env.key,
            headers=env.raw_headers,
        )

    def _dead_letter_message(
        self, env: Envelope, letter: DeadLetter
    ) -> tuple[str, bytes | None, bytes, dict[str, bytes]]:
        """The capped message for ``deadletter.<stage>`` (`streams.deadletter`); the original goes to PostgreSQL."""
        return dead_letter_message(letter, self.retry.dead_letter_max_bytes, now_ms())

    async def _until_done(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Retry a system-of-record call until it lands: offsets must not be acked before it.

        Outages (`streams.failures.is_infra`) and timeouts are retried without limit; anything else is a bug
        and raised.
        """
        attempt = 0
        while True:
            try:
                return await call()
            except Exception as exc:
                if not record_write_retried(exc):
                    raise
                attempt += 1
                metrics.series(metrics.RETRIES, self.stage.name, type(exc).__name__).inc()
                log.warning("%s: record write failed (attempt %d), retrying: %r", self.stage.name, attempt, exc)
                await self.retry.sleep(self.retry.delay(min(attempt, 6)))

    # What `settle_unfinished` does when even a dead letter cannot be delivered: stop this worker (SIGTERM:
    # Faust shuts down and commits only what was acked), so it restarts and the event is redelivered. Never a
    # silent stall. Tests replace it.
    fail_worker: Callable[[BaseException], None] = staticmethod(lambda reason: os.kill(os.getpid(), signal.SIGTERM))

    async def settle_unfinished(self, events: Sequence[Any], exc: BaseException) -> bool:
        """The defined outcome for events the runner's own path failed on (not a stage error: those have
        their policy), e.g. an output the broker refuses or a bug in recording: a metric, then

        * each event is dead-lettered with reason ``InternalError`` and True is returned: ack them;
        * if that cannot be done either (the dead letter is refused or not delivered within
          `UNFINISHED_SEND_TIMEOUT_S`), the worker is stopped loudly (`fail_worker`) and False is
          returned: do not ack them; they are redelivered after the restart.

        Store outages while writing the dead letters are waited out (`_until_done`), as everywhere.
        """
        name = self.stage.name
        metrics.series(metrics.EVENTS, name, "internal_error").inc(len(events))
        log.error(
            "%s: the runner failed on %d event(s); dead-lettering them as InternalError",
            name,
            len(events),
            exc_info=exc,
        )
        reason = f"runner failure: {type(exc).__name__}: {_short(exc) if isinstance(exc, Exception) else exc!r}"
        try:
            envelopes = [Envelope.from_event(event) for event in events]
            letters = [self._letter(env, "InternalError", reason, attempts=1) for env in envelopes]
            ended = await self._until_done(lambda: self.records.dead_letter(letters))
            pending = [await self.send(*self._dead_letter_message(env, d)) for env, d in zip(envelopes, letters)]
            async with asyncio.timeout(UNFINISHED_SEND_TIMEOUT_S):
                await asyncio.gather(*pending)
        except asyncio.CancelledError:
            raise
        except Exception as fatal:
            log.critical(
                "%s: could not dead-letter %d event(s) after a runner failure (%r); stopping the worker so they "
                "are redelivered after a restart",
                name,
                len(events),
                fatal,
            )
            self.fail_worker(fatal)
            return False
        now = now_ms()
        for d in letters:
            metrics.series(metrics.EVENTS, name, "dead_lettered").inc()
            _count_end(d.lead_id, "dead_lettered", d.ingest_ms, ended, now)
        return True

    def _observe(self, updates: list[RecordUpdate], letters: list[DeadLetter], seconds: float, ended: set[str]) -> None:
        """Per-event outcomes, and each lead's end once: only where this batch's write ended it (`ended`)."""
        name = self.stage.name
        metrics.series(metrics.BATCH_SECONDS, name).observe(seconds)
        now = now_ms()
        for u in updates:
            if u.state is not None:
                metrics.series(metrics.EVENTS, name, "terminal").inc()
                _count_end(u.lead.lead_id, u.state.value, u.ingest_ms, ended, now)
            else:
                metrics.series(metrics.EVENTS, name, "forwarded").inc()
        for d in letters:
            metrics.series(metrics.EVENTS, name, "dead_lettered").inc()
            _count_end(d.lead_id, "dead_lettered", d.ingest_ms, ended, now)
            log.warning(
                "%s: dead-lettered lead %s: %s: %s trace_id=%s", name, d.lead_id, d.error_type, d.reason, d.trace_id
            )
