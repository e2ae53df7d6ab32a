"""Lead records in PostgreSQL: one idempotent, batched upsert per stage batch.

The upsert is keyed by (geography, lead id): `leads` is partitioned by the geography key, the
stream's Kafka key (0008), and a lead keeps its key from ingest to its end. A row's stage only
moves forward (a redelivered older message cannot roll a lead back) and its terminal state is written once:
the first terminal outcome wins, so every lead ends in exactly one state. While the lead's email key is claimed
(``email_claimed``, `storage.outbox`), only ``emailed`` or a dead letter of the email stage ends it; another
copy's end (a redelivery that parted ways upstream) then changes nothing. The writes return the leads
whose terminal state they wrote, so the runner counts each lead's end once however often it is redelivered
(two workers finishing one lead during a rebalance both write; only one of them ends it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import asyncpg

from schemas import STAGE_RANK, Lead, TerminalState
from storage.db import JsonText

# One statement per row, sent as one pipelined batch (one round trip per batch): the row's upsert into
# `leads` and, in the same statement, the first time the lead reached this stage (the API's stage history;
# a redelivery keeps the first). The stage row is written whether or not the upsert's WHERE lets it through.
_UPSERT = """
WITH first_visit AS (
    INSERT INTO lead_stages (lead_id, stage, geo_key) VALUES ($1, $6, $2)
    ON CONFLICT (geo_key, lead_id, stage) DO NOTHING
)
INSERT INTO leads AS l (lead_id, geo_key, source, name, vertical, stage, stage_rank, state, state_reason,
                        entity_id, score, tier, trace_id, ingested_at, terminal_at, record)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
        CASE WHEN $8::text IS NULL THEN NULL ELSE now() END, $15)
ON CONFLICT (geo_key, lead_id) DO UPDATE SET
    geo_key = EXCLUDED.geo_key, source = EXCLUDED.source, name = EXCLUDED.name, vertical = EXCLUDED.vertical,
    stage = EXCLUDED.stage, stage_rank = EXCLUDED.stage_rank,
    state = COALESCE(l.state, EXCLUDED.state),
    state_reason = CASE WHEN l.state IS NULL THEN EXCLUDED.state_reason ELSE l.state_reason END,
    terminal_at = COALESCE(l.terminal_at, EXCLUDED.terminal_at),
    entity_id = COALESCE(EXCLUDED.entity_id, l.entity_id),
    score = COALESCE(EXCLUDED.score, l.score), tier = COALESCE(EXCLUDED.tier, l.tier),
    trace_id = COALESCE(l.trace_id, EXCLUDED.trace_id),
    ingested_at = LEAST(l.ingested_at, EXCLUDED.ingested_at),
    updated_at = now(), record = EXCLUDED.record
WHERE l.state IS NULL AND l.stage_rank <= EXCLUDED.stage_rank AND (NOT l.email_claimed OR EXCLUDED.state = 'emailed')
RETURNING l.lead_id, l.state
"""

_DEAD_LETTER = """
INSERT INTO dead_letters (stage, lead_id, topic, kafka_partition, kafka_offset, error_type, reason, attempts, payload,
                          payload_sha256, message_key, header_names, header_values)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, encode(sha256($9::bytea), 'hex'), $10, $11, $12)
ON CONFLICT (topic, kafka_partition, kafka_offset, stage) DO NOTHING
"""

_DEAD_LEAD = """
INSERT INTO leads AS l (lead_id, geo_key, stage, stage_rank, state, state_reason, trace_id, ingested_at, terminal_at, record)
VALUES ($1, $2, $3, $4, 'dead_lettered', $5, $6, $7, now(), $8)
ON CONFLICT (geo_key, lead_id) DO UPDATE SET state = 'dead_lettered', state_reason = EXCLUDED.state_reason,
    terminal_at = now(), updated_at = now(), stage = EXCLUDED.stage
WHERE l.state IS NULL AND (NOT l.email_claimed OR EXCLUDED.stage = 'email')
RETURNING l.lead_id
"""


@dataclass
class RecordUpdate:
    """A lead's state after a stage, and its terminal outcome if it ended there."""

    lead: Lead
    stage: str
    trace_id: str
    ingest_ms: int
    state: TerminalState | None = None
    reason: str | None = None
    encoded: bytes | None = None  # `lead` as JSON (``exclude_none``), when the stage already encoded it to send it


@dataclass
class DeadLetter:
    stage: str
    lead_id: str | None
    geo_key: str
    topic: str
    partition: int
    offset: int
    error_type: str
    reason: str
    attempts: int
    payload: bytes
    trace_id: str
    ingest_ms: int
    key: bytes | None = None  # the original message's key and headers, kept for replay
    headers: tuple[tuple[str, bytes], ...] = ()


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class LeadRecords:
    """Writes lead state and dead letters in batches (one round trip per batch)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def write(self, updates: list[RecordUpdate]) -> set[str]:
        """Upsert the batch's leads and their stages: one round trip (`_UPSERT`, pipelined). Returns the ids of
        the leads this write ended (their terminal state was not set before).

        Rows go in key order (geo_key, lead_id; a lead's own updates keep their order): two workers writing
        overlapping leads during a rebalance (the old owner finishing a batch, the new one replaying it) then
        lock rows in the same order, so they wait for each other instead of deadlocking (the chaos suite saw
        ``DeadlockDetectedError`` between two such batches).
        """
        if not updates:
            return set()
        updates = sorted(updates, key=lambda u: (u.lead.geo_key, u.lead.lead_id))
        rows = []
        for u in updates:
            lead = u.lead
            score = lead.score
            rows.append(
                (
                    lead.lead_id,
                    lead.geo_key,
                    lead.source,
                    lead.name,
                    lead.vertical,
                    u.stage,
                    STAGE_RANK[u.stage],
                    u.state.value if u.state else None,
                    u.reason,
                    lead.dedupe.entity_id if lead.dedupe else None,
                    score.value if score else None,
                    score.tier if score else None,
                    u.trace_id,
                    _ts(u.ingest_ms),
                    JsonText(u.encoded.decode())
                    if u.encoded is not None
                    else lead.model_dump(mode="json", exclude_none=True),
                )
            )
        async with self.pool.acquire() as conn:
            written = await conn.fetchmany(_UPSERT, rows)
        # A row comes back only where the upsert inserted or updated it, and it updates only leads that had
        # no terminal state: one that comes back with a state was ended by this write.
        return {r["lead_id"] for r in written if r["state"] is not None}

    async def ended(self, lead_ids: list[str]) -> set[str]:
        """Those of `lead_ids` that already have a terminal state."""
        if not lead_ids:
            return set()
        async with self.pool.acquire() as conn:
            # A function, so that its plan over every partition is kept (migration 0010).
            rows = await conn.fetch("SELECT lead_id FROM leads_ended($1::text[])", lead_ids)
        return {r["lead_id"] for r in rows}

    async def dead_letter(self, letters: list[DeadLetter]) -> set[str]:
        """Keep each letter's original (once per topic, partition, offset and stage) and end its lead as
        ``dead_lettered`` unless it already ended. Returns the ids of the leads this call ended."""
        if not letters:
            return set()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                _DEAD_LETTER,
                [
                    (
                        d.stage,
                        d.lead_id,
                        d.topic,
                        d.partition,
                        d.offset,
                        d.error_type,
                        d.reason[:2000],
                        d.attempts,
                        d.payload,
                        d.key,
                        [name.encode() for name, _ in d.headers],
                        [value for _, value in d.headers],
                    )
                    for d in letters
                ],
            )
            ended = await conn.fetchmany(
                _DEAD_LEAD,
                [
                    (
                        d.lead_id,
                        d.geo_key,
                        d.stage,
                        STAGE_RANK[d.stage],
                        f"{d.error_type}: {d.reason}"[:500],
                        d.trace_id,
                        _ts(d.ingest_ms),
                        {"lead_id": d.lead_id, "dead_letter": {"stage": d.stage, "reason": d.reason[:500]}},
                    )
                    for d in letters
                    if d.lead_id
                ],
            )
        return {r["lead_id"] for r in ended}


T = TypeVar("T")


class GroupCommit(Generic[T]):
    """Calls that arrive while one is in flight go out together in the next one (group commit).

    The first call goes at once (no added latency when idle); under load, the
    calls of many concurrent events share one round trip. Each caller gets the
    combined result, or the combined call's exception (so it retries, as alone).
    """

    def __init__(self, flush: Callable[[list[Any]], Awaitable[T]], max_items: int = 1000) -> None:
        self.flush, self.max_items = flush, max_items
        self._pending: list[tuple[list[Any], asyncio.Future[T]]] = []
        self._draining = False
        self.round_trips = 0

    async def submit(self, items: list[Any]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((items, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch: list[tuple[list[Any], asyncio.Future[T]]] = []
                count = 0
                while self._pending and (not batch or count + len(self._pending[0][0]) <= self.max_items):
                    items, future = self._pending.pop(0)
                    batch.append((items, future))
                    count += len(items)
                self.round_trips += 1
                try:
                    result = await self.flush([item for items, _ in batch for item in items])
                except BaseException as exc:  # every caller of this round trip sees it (and retries)
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(result)
        finally:
            self._draining = False


class CoalescedRecords(LeadRecords):
    """`LeadRecords` for stages that handle many events at once (the I/O stages stream each event alone):
    concurrent events' upserts and "already ended?" queries share round trips (`GroupCommit`)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self._writes: GroupCommit[set[str]] = GroupCommit(super().write)
        self._ended: GroupCommit[set[str]] = GroupCommit(super().ended)

    async def write(self, updates: list[RecordUpdate]) -> set[str]:
        if not updates:
            return set()
        ended = await self._writes.submit(updates)  # one set shared by every caller of the round trip
        mine = ended & {u.lead.lead_id for u in updates if u.state is not None}
        # Claimed: another caller of the same round trip with an update of the same lead (a redelivery
        # meeting the event still in flight) does not count its end again. Callers resume one at a time.
        ended -= mine
        return mine

    async def ended(self, lead_ids: list[str]) -> set[str]:
        if not lead_ids:
            return set()
        return await self._ended.submit(lead_ids) & set(lead_ids)
