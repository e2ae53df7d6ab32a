"""Dead letters as operators see them, and the bookkeeping that makes a replay happen once.

`storage.records.LeadRecords.dead_letter` writes the rows (the original key,
headers and payload with the reason); this module reads them back for
``leadstream dlq list|show|replay`` and records replays in
``dead_letter_replays``:

1. `claim` (one transaction): insert the replay row — a dead letter that has
   one is never replayed again — and clear the lead's terminal state so the
   runner does not skip the replayed message as an ended lead. A lead that
   ended in any state but ``dead_lettered`` is refused unless forced.
2. the caller puts the message back on its topic;
3. `mark_sent` records where it went, or `release` undoes the claim (the
   lead gets its terminal state back) when the broker did not take it.

Retention (`storage.retention`, ``leadstream db prune``) deletes old letters. A claim and a chunk of the prune
exclude each other (`LETTERS_LOCK`: claims share it, the prune takes it alone, each for one transaction), so the
prune reads every claim made before its chunk and never deletes a claimed letter; a claim made after finds the
letter gone and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass
class StoredDeadLetter:
    id: int
    stage: str
    lead_id: str | None
    topic: str
    partition: int
    offset: int
    error_type: str
    reason: str
    attempts: int
    created_at: datetime
    size: int
    sha256: str | None
    replay_status: str | None  # None, "claimed" or "sent"
    lead_state: str | None  # the lead's terminal state now (None: in flight or no such lead)
    payload: bytes | None = None  # only from `get` and `replayable`
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    replays: int = 0  # only from `replayable`: how many of the lead's earlier dead letters were replayed (sent)


# Claims take this advisory lock shared, a chunk of the prune alone: the key space of storage.db's migrate lock
# (7_240_531) and storage.dedupe_phones' locks (7_240_532, …), two int4 keys.
LETTERS_LOCK = (7_240_533, 0)


@dataclass
class Claim:
    """The outcome of `claim`: `ok`, or why this dead letter is not replayed."""

    ok: bool
    refusal: str | None = None


@dataclass(frozen=True)
class UnattendedReplay:
    """What the unattended replay (the CronJob in k8s/base/dlq-replay.yaml) puts back, and how often it runs: its
    arguments, kept here so that the gauge watching it (`DeadLetterStore.oldest_unattended_s`) asks the same
    question; tests/ops checks the manifest against it."""

    reasons: tuple[str, ...] = ("TransientProviderError", "ProviderUnavailable")
    since_s: float = 24 * 3600  # --since 24h
    older_than_s: float = 15 * 60  # --older-than 15m
    max_replays: int = 3  # --max-replays 3
    every_s: float = 30 * 60  # schedule "*/30 * * * *"


UNATTENDED = UnattendedReplay()


_COLUMNS = """
    d.id, d.stage, d.lead_id, d.topic, d.kafka_partition, d.kafka_offset, d.error_type, d.reason, d.attempts,
    d.created_at, octet_length(d.payload) AS size, d.payload_sha256, r.status AS replay_status,
    l.state AS lead_state
"""
LETTER_JOINS = """
FROM dead_letters d
LEFT JOIN dead_letter_replays r ON r.dead_letter_id = d.id
LEFT JOIN leads l ON l.lead_id = d.lead_id
"""  # a letter `d`, its replay `r` and its lead `l`: what the conditions below read
# What makes a letter no longer the one to replay, said once for the replay, its gauge and retention:
SUPERSEDED = "EXISTS (SELECT 1 FROM dead_letters newer WHERE newer.lead_id = d.lead_id AND newer.id > d.id)"
LEAD_ENDED_OTHERWISE = "(l.state IS NOT NULL AND l.state <> 'dead_lettered')"  # a later copy got through
REPLAYS_BEFORE = """(SELECT count(*) FROM dead_letters earlier
    JOIN dead_letter_replays er ON er.dead_letter_id = earlier.id AND er.status = 'sent'
    WHERE earlier.lead_id = d.lead_id AND earlier.id < d.id)"""  # how often the lead was replayed (--max-replays)


def _filters(
    stages: Sequence[str] | None, reasons: Sequence[str] | None, since: datetime | None, before: datetime | None = None
) -> tuple[str, list[Any]]:
    """The WHERE clause and its arguments: any of `stages`, any of `reasons` (error types), created since, and
    before."""
    clauses: list[str] = []
    args: list[Any] = []
    for column, values in (("d.stage", stages), ("d.error_type", reasons)):
        if values:
            args.append(list(values))
            clauses.append(f"{column} = ANY(${len(args)}::text[])")
    if since is not None:
        args.append(since)
        clauses.append(f"d.created_at >= ${len(args)}")
    if before is not None:
        args.append(before)
        clauses.append(f"d.created_at < ${len(args)}")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _letter(row: asyncpg.Record, *, whole: bool = False) -> StoredDeadLetter:
    letter = StoredDeadLetter(
        row["id"],
        row["stage"],
        row["lead_id"],
        row["topic"],
        row["kafka_partition"],
        row["kafka_offset"],
        row["error_type"],
        row["reason"],
        row["attempts"],
        row["created_at"],
        row["size"],
        row["payload_sha256"],
        row["replay_status"],
        row["lead_state"],
    )
    if whole:
        letter.payload = bytes(row["payload"])
        letter.key = bytes(row["message_key"]) if row["message_key"] is not None else None
        names = (bytes(name).decode("utf-8", "surrogateescape") for name in row["header_names"])
        letter.headers = tuple(zip(names, (bytes(v or b"") for v in row["header_values"])))
    return letter


class DeadLetterStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def recent(
        self,
        *,
        stage: str | None = None,
        reason: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[StoredDeadLetter]:
        """Dead letters, newest first, without their payloads."""
        where, args = _filters([stage] if stage else None, [reason] if reason else None, since)
        args.append(limit)
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} {LETTER_JOINS} {where} ORDER BY d.id DESC LIMIT ${len(args)}",  # filters are bound
            *args,
        )
        return [_letter(r) for r in rows]

    async def get(self, letter_id: int) -> StoredDeadLetter | None:
        """One dead letter with its original key, headers and payload."""
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS}, d.payload, d.message_key, d.header_names, d.header_values {LETTER_JOINS} WHERE d.id = $1",
            letter_id,
        )
        return _letter(row, whole=True) if row else None

    async def find(self, stage: str, topic: str, partition: int, offset: int) -> int | None:
        """The id of the dead letter a message's ``payload_ref`` names."""
        value = await self.pool.fetchval(
            "SELECT id FROM dead_letters WHERE stage = $1 AND topic = $2 AND kafka_partition = $3 AND kafka_offset = $4",
            stage,
            topic,
            partition,
            offset,
        )
        return int(value) if value is not None else None

    async def replayable(
        self,
        *,
        stages: Sequence[str],
        reasons: Sequence[str] | None = None,
        since: datetime | None = None,
        include_claimed: bool = False,
        before: datetime | None = None,
    ) -> list[StoredDeadLetter]:
        """Dead letters matching the filters (any of `stages` and of `reasons`, created from `since` to `before`)
        that have no replay yet (with `include_claimed`, also those whose replay never reached the broker),
        oldest first, each with how many times its lead was replayed before (`StoredDeadLetter.replays`).

        Only a lead's latest dead letter (of any stage) is replayable: it supersedes the older ones, and
        replaying two would put two copies of the lead back.
        """
        where, args = _filters(stages, reasons, since, before)
        pending = "r.status IS NULL OR r.status = 'claimed'" if include_claimed else "r.status IS NULL"
        rows = await self.pool.fetch(
            f"""
            SELECT {_COLUMNS}, d.payload, d.message_key, d.header_names, d.header_values,
                   {REPLAYS_BEFORE} AS replays
            {LETTER_JOINS} {where}{" AND" if where else " WHERE"} ({pending})
              AND NOT {SUPERSEDED}
            ORDER BY d.id
            """,  # filters are bound
            *args,
        )
        letters = [_letter(r, whole=True) for r in rows]
        for letter, row in zip(letters, rows):
            letter.replays = row["replays"]
        return letters

    async def oldest_unattended_s(self, policy: UnattendedReplay = UNATTENDED, now: datetime | None = None) -> float:
        """Age in seconds of the oldest dead letter the unattended replay should have put back by now; 0 when there is
        none. That is a letter with one of its transient reasons, from its last `since_s`, at least `older_than_s`
        old, not replayed, its lead's latest, its lead not ended otherwise and replayed fewer than `max_replays`
        times: what `leadstream dlq replay` with the CronJob's arguments would send. While the replay runs it stays
        under `older_than_s` + `every_s`; more says the job fails, is suspended or is not deployed."""
        age = await self.pool.fetchval(
            f"""
            SELECT extract(epoch FROM (coalesce($1::timestamptz, now()) - min(d.created_at)))
            {LETTER_JOINS}
            WHERE d.error_type = ANY($2::text[])
              AND d.created_at >= coalesce($1::timestamptz, now()) - make_interval(secs => $3)
              AND d.created_at <= coalesce($1::timestamptz, now()) - make_interval(secs => $4)
              AND r.status IS NULL
              AND NOT {LEAD_ENDED_OTHERWISE}
              AND NOT {SUPERSEDED}
              AND {REPLAYS_BEFORE} < $5
            """,
            now,
            list(policy.reasons),
            policy.since_s,
            policy.older_than_s,
            policy.max_replays,
        )
        return float(age or 0.0)

    async def claim(self, letter: StoredDeadLetter, *, force: bool = False) -> Claim:
        """Claim `letter` for replay and clear its lead's terminal state (see the module docstring)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock_shared($1, $2)", *LETTERS_LOCK)
            if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM dead_letters WHERE id = $1)", letter.id):
                return Claim(False, "deleted by retention since it was listed (leadstream db prune)")
            lead = None
            if letter.lead_id is not None:
                lead = await conn.fetchrow(
                    "SELECT state, state_reason FROM leads WHERE lead_id = $1 FOR UPDATE", letter.lead_id
                )
            state = lead["state"] if lead else None
            if state not in (None, "dead_lettered") and not force:
                return Claim(False, f"lead {letter.lead_id} already ended as {state!r} (--force replays it anyway)")
            inserted = await conn.fetchval(
                """
                INSERT INTO dead_letter_replays AS r (dead_letter_id, status, topic, forced, previous_state,
                                                      previous_reason)
                VALUES ($1, 'claimed', $2, $3, $4, $5)
                ON CONFLICT (dead_letter_id) DO UPDATE SET claimed_at = now(), forced = EXCLUDED.forced
                    WHERE r.status = 'claimed' AND $3
                RETURNING 1
                """,
                letter.id,
                letter.topic,
                force,
                state,
                lead["state_reason"] if lead else None,
            )
            if inserted is None:
                return Claim(False, "already replayed")
            if state is not None:
                await conn.execute(
                    "UPDATE leads SET state = NULL, state_reason = NULL, terminal_at = NULL, updated_at = now() "
                    "WHERE lead_id = $1",
                    letter.lead_id,
                )
        return Claim(True)

    async def mark_sent(self, letter_id: int, partition: int, offset: int) -> None:
        await self.pool.execute(
            "UPDATE dead_letter_replays SET status = 'sent', kafka_partition = $2, kafka_offset = $3, sent_at = now() "
            "WHERE dead_letter_id = $1",
            letter_id,
            partition,
            offset,
        )

    async def release(self, letter: StoredDeadLetter) -> None:
        """Undo a claim whose message never reached the broker: drop it, give the lead its state back."""
        async with self.pool.acquire() as conn, conn.transaction():
            previous = await conn.fetchrow(
                "DELETE FROM dead_letter_replays WHERE dead_letter_id = $1 AND status = 'claimed' "
                "RETURNING previous_state, previous_reason",
                letter.id,
            )
            if previous is not None and previous["previous_state"] is not None and letter.lead_id is not None:
                await conn.execute(
                    "UPDATE leads SET state = $2, state_reason = $3, terminal_at = now(), updated_at = now() "
                    "WHERE lead_id = $1 AND state IS NULL",
                    letter.lead_id,
                    previous["previous_state"],
                    previous["previous_reason"],
                )
