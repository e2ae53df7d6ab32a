"""The email outbox: claim a key before sending, so no key is ever sent twice.

States of a key: ``pending`` (claimed; the send's outcome is unknown until it
is marked), ``sent``, ``retryable`` (the provider answered with a refusal that
is safe to retry), ``failed`` (permanently refused). Only a ``retryable`` key
can be claimed again; a ``pending`` one is reconciled with the provider.

``attempts`` is the claim's fencing token: each claim or take-over increments it,
and the sender `stamp`s its claim (``claimed_at`` = the send's start) only while
the token is still its own. A claim taken over is never sent by its old holder,
and a take-over waits until the old holder's send can no longer arrive.

``claimant`` is the worker process that claimed, stamped or took over the key last
(`streams.incarnation.PROCESS_ID`, given to the `Outbox`), recorded with the claim's
``attempts`` (a worker of an earlier version changes ``attempts`` without it: then no
claimant is known); `claim_state` tells whether that process is known to have ended
(`storage.processes`).

A claim also fences its lead's record (``leads.email_claimed``, migration 0012). A lead can
be handled twice at once (a redelivery after a rebalance), and the two copies may part ways
upstream (one enrichment found the address, the other's provider call failed). The claim
locks the lead's row: if another copy ended the lead first, nothing is claimed (`LeadEnded`);
otherwise the row is marked, and while the mark stands only ``emailed`` or a dead letter of the
email stage can end the lead (`storage.records`), so its record says ``emailed`` whenever the
email went out. A retryable refusal lifts the mark (nothing of the key is in flight then).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from storage.records import GroupCommit

# One statement (one round trip): lock the lead's row, claim the key unless the lead has ended, and mark the
# row (the fence) whenever the lead goes on. A claim of another lead's address aborts it all (unique index).
_CLAIM = """
WITH lead AS MATERIALIZED (
    SELECT state FROM leads WHERE geo_key = $6 AND lead_id = $2 FOR UPDATE
), open AS MATERIALIZED (
    SELECT NOT EXISTS (SELECT 1 FROM lead WHERE state IS NOT NULL) AS ok
), claimed AS (
    INSERT INTO email_outbox AS o (idempotency_key, lead_id, campaign_step, recipient, status, claimant,
                                   claimant_attempts)
    SELECT $1, $2, $3, $4, 'pending', $5, 1 FROM open WHERE ok
    ON CONFLICT (idempotency_key) DO UPDATE
        SET status = 'pending', attempts = o.attempts + 1, claimed_at = now(), last_error = NULL,
            claimant = $5, claimant_attempts = o.attempts + 1
        WHERE o.status = 'retryable'
    RETURNING status, attempts, message_id, claimed_at, recipient
), fenced AS (
    UPDATE leads SET email_claimed = true
    WHERE geo_key = $6 AND lead_id = $2 AND NOT email_claimed AND (SELECT ok FROM open)
)
SELECT (SELECT state FROM lead) AS lead_state, c.status, c.attempts, c.message_id, c.claimed_at, c.recipient
FROM (SELECT 1) AS one LEFT JOIN claimed AS c ON true
"""
_CLAIM_STATE = """
SELECT o.status, o.attempts, c.claimant, extract(epoch FROM now() - o.claimed_at) AS age_s,
       extract(epoch FROM now() - e.recorded_at) AS ended_s
FROM email_outbox o
CROSS JOIN LATERAL (SELECT CASE WHEN o.claimant_attempts = o.attempts THEN o.claimant END AS claimant) c
LEFT JOIN ended_processes e ON e.process_id = c.claimant
WHERE o.idempotency_key = $1
"""
_SENDS_BETWEEN = """
SELECT count(*) AS total, count(*) FILTER (WHERE split_part(recipient, '@', 2) = $3) AS domain
FROM email_outbox
WHERE (status = 'sent' AND sent_at >= $1 AND sent_at < $2)
   OR (status = 'pending' AND claimed_at >= $1 AND claimed_at < $2)
"""


# The lead's row first, then the key's: the order `claim` takes them in (the other order could deadlock with
# a claim of the same key by another copy of the lead).
_LOCK_LEAD_OF_KEY = """
SELECT 1 FROM leads WHERE lead_id = (SELECT lead_id FROM email_outbox WHERE idempotency_key = $1) FOR UPDATE
"""
_RELEASE = """
WITH released AS (
    UPDATE email_outbox SET status = 'retryable', last_error = $2
    WHERE idempotency_key = $1 AND status <> 'sent' AND ($3::int IS NULL OR attempts = $3)
    RETURNING lead_id
)
UPDATE leads SET email_claimed = false WHERE lead_id IN (SELECT lead_id FROM released) AND email_claimed
"""
_SENT_NOT_EMAILED = """
SELECT o.lead_id, l.state FROM email_outbox o LEFT JOIN leads l ON l.lead_id = o.lead_id
WHERE o.status = 'sent' AND l.state IS DISTINCT FROM 'emailed'
  AND ($1::float8 IS NULL OR o.sent_at >= now() - make_interval(secs => $1::float8))
"""
_ENTRY = "SELECT status, attempts, message_id, claimed_at, recipient FROM email_outbox WHERE idempotency_key = $1"


@dataclass
class OutboxEntry:
    key: str
    status: str
    attempts: int
    message_id: str | None
    claimed_at: datetime
    owned: bool  # True: this caller claimed the key now and must send
    recipient: str  # the address the key was claimed for: the only one it is ever sent to


@dataclass
class LeadEnded:
    """`Outbox.claim` found the lead already ended by another copy of it: nothing was claimed."""

    state: str


@dataclass
class ClaimState:
    """A key's claim as the database sees it now (`Outbox.claim_state`)."""

    status: str
    attempts: int
    claimant: str | None  # the process that claimed, stamped or took it over last; None: an earlier version
    age_s: float  # since the claim's stamp (its send's start) or, unstamped, since the claim
    claimant_ended_s: float | None  # since that process was recorded as ended; None: not known to have ended


class Outbox:
    def __init__(self, pool: asyncpg.Pool, claimant: str | None = None) -> None:
        """`claimant`: this worker process's id, recorded with each claim, stamp and take-over."""
        self.pool = pool
        self.claimant = claimant
        # Concurrent events' suppression checks (the enrich and email stages ask once per lead) share one query.
        self._suppressions: GroupCommit[dict[str, str]] = GroupCommit(self._suppressed_patterns)

    async def claim(
        self, key: str, lead_id: str, geo_key: str, step: str, recipient: str
    ) -> OutboxEntry | LeadEnded | None:
        """Claim `key` for lead (`geo_key`, `lead_id`) and fence the lead's record (module docstring).

        `LeadEnded` when another copy of the lead ended it first; None when another lead already holds this
        address for this step. A lead with no record yet (a test's bare outbox) is claimed without a fence.
        """
        recipient = recipient.strip().lower()
        async with self.pool.acquire() as conn:
            try:
                row = await conn.fetchrow(_CLAIM, key, lead_id, step, recipient, self.claimant, geo_key)
            except asyncpg.UniqueViolationError:
                return None
            if row["lead_state"] is not None:
                return LeadEnded(row["lead_state"])
            if row["status"] is not None:
                return _entry(key, row, owned=True)
            # Claimed before (sent, in flight or refused): the entry as it stands now, in a fresh snapshot.
            row = await conn.fetchrow(_ENTRY, key)
        return _entry(key, row, owned=False)

    async def entry(self, key: str) -> OutboxEntry | None:
        """`key`'s entry as it stands, None when it was never claimed."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(_ENTRY, key)
        return None if row is None else _entry(key, row, owned=False)

    async def stamp(self, key: str, attempts: int) -> bool:
        """Mark the send of claim `attempts` as starting now; False when the claim is no longer this one
        (taken over, or settled): then the caller must not send."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchval(
                """UPDATE email_outbox SET claimed_at = now(), claimant = $3, claimant_attempts = attempts
                   WHERE idempotency_key = $1 AND status = 'pending' AND attempts = $2 RETURNING attempts""",
                key,
                attempts,
                self.claimant,
            )
        return row is not None

    async def take_over(self, key: str, attempts: int, reason: str) -> OutboxEntry | None:
        """Claim a ``pending`` key whose claim `attempts` is over (its send cannot arrive any more and the
        provider has not seen it); None when another caller took it over or settled it first."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                """UPDATE email_outbox
                   SET attempts = attempts + 1, claimed_at = now(), last_error = $3,
                       claimant = $4, claimant_attempts = attempts + 1
                   WHERE idempotency_key = $1 AND status = 'pending' AND attempts = $2
                   RETURNING status, attempts, message_id, claimed_at, recipient""",
                key,
                attempts,
                reason,
                self.claimant,
            )
        return None if row is None else _entry(key, row, owned=True)

    async def claim_state(self, key: str) -> ClaimState | None:
        """`key`'s claim now: its status, fencing token, claimant, age and whether its claimant has ended."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(_CLAIM_STATE, key)
        if row is None:
            return None
        ended = row["ended_s"]
        return ClaimState(
            row["status"],
            row["attempts"],
            row["claimant"],
            float(row["age_s"]),
            None if ended is None else float(ended),
        )

    async def mark_sent(self, key: str, message_id: str | None) -> None:
        await self._set(key, "sent", message_id=message_id)

    async def mark_retryable(self, key: str, error: str, attempts: int | None = None) -> None:
        """`attempts`: only while the claim is still that one (a stale holder must not free a newer claim).

        Also lifts the claim's fence on the lead's record: nothing of this key is in flight any more, so an
        end decided now (the address suppressed meanwhile, the runner giving up) may end the lead; a later
        claim fences it again, or finds it ended."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_LOCK_LEAD_OF_KEY, key)
            await conn.execute(_RELEASE, key, error, attempts)

    async def mark_failed(self, key: str, error: str, attempts: int | None = None) -> None:
        await self._set(key, "failed", error=error, attempts=attempts)

    async def _set(
        self,
        key: str,
        status: str,
        *,
        message_id: str | None = None,
        error: str | None = None,
        attempts: int | None = None,
    ) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                """UPDATE email_outbox SET status = $2, message_id = COALESCE($3, message_id), last_error = $4,
                       sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
                   WHERE idempotency_key = $1 AND status <> 'sent' AND ($5::int IS NULL OR attempts = $5)""",
                key,
                status,
                message_id,
                error,
                attempts,
            )

    async def sends_between(self, start: datetime, end: datetime, domain: str) -> tuple[int, int]:
        """(all sends, sends to `domain`) in [start, end): sent ones, and claimed ones not yet marked (the send guards' caps)."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(_SENDS_BETWEEN, start, end, domain)
        return int(row["total"]), int(row["domain"])

    async def sent_not_emailed(self, within_s: float | None = None) -> dict[str, str | None]:
        """Leads whose email went out (sent in the last `within_s` seconds, or ever) but whose record says
        otherwise, with that state (None: not ended yet, its record in flight). The fence keeps the ended ones
        at none (module docstring)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(_SENT_NOT_EMAILED, within_s)
        return {r["lead_id"]: r["state"] for r in rows}

    async def count_by_status(self) -> dict[str, int]:
        """Outbox entries per status (the email dashboard's outbox panel)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT status, count(*) AS n FROM email_outbox GROUP BY status")
        return {row["status"]: int(row["n"]) for row in rows}

    async def suppression_reason(self, address: str, *more: str) -> str | None:
        """Why an address must not be emailed (exact address, its domain, or a *.parent wildcard), if it must not.

        With several addresses (a lead's email and its website's ``@domain``), one query answers for all of
        them; the first address that is suppressed gives the reason, as if each were asked in turn. Checks made
        while one is in flight go out together in the next query (`GroupCommit`): one round trip for many leads.
        """
        patterns: list[str] = []
        for each in (address, *more):
            each = each.strip().lower()
            domain = each.rpartition("@")[2]
            labels = domain.split(".")
            for pattern in [each, domain] + ["*." + ".".join(labels[i:]) for i in range(len(labels) - 1)]:
                if pattern not in patterns:
                    patterns.append(pattern)
        reasons = await self._suppressions.submit(patterns)
        return next((reasons[pattern] for pattern in patterns if pattern in reasons), None)

    async def _suppressed_patterns(self, patterns: list[str]) -> dict[str, str]:
        """The suppressed ones of `patterns`, with their reasons: one query for every caller waiting."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT pattern, reason FROM suppressions WHERE pattern = ANY($1::text[])",
                list(dict.fromkeys(patterns)),
            )
        return {row["pattern"]: row["reason"] for row in rows}

    async def suppress(self, pattern: str, reason: str) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO suppressions (pattern, reason) VALUES ($1, $2) ON CONFLICT (pattern) DO NOTHING",
                pattern.strip().lower(),
                reason,
            )


def _entry(key: str, row: asyncpg.Record, owned: bool) -> OutboxEntry:
    return OutboxEntry(
        key, row["status"], row["attempts"], row["message_id"], row["claimed_at"], owned, row["recipient"]
    )
