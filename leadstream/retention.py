"""`leadstream db prune`: the retention policy (`config.RetentionSettings`, ``LEADSTREAM_RETENTION__*``) applied
to the system of record, once a night (k8s/base/db-prune.yaml). The SQL is `storage.retention`'s.

What goes, and when (docs/operating.md, "Retention"):

=====================================  ==================================================================
rows                                   deleted
=====================================  ==================================================================
an audit month (provider_calls,        its partition is dropped once `audit_months` whole months lie
email_events, dedupe_merges)           between it and the current month
a settled dead letter                  `dead_letters_settled_days` after it was written (a replayed one
                                       whose lead failed again and waits is not settled: it is counted
                                       by `dlq replay --max-replays`)
any other dead letter                  `dead_letters_days` after it was written (its lead stays
                                       ``dead_lettered``; only the original message is gone)
a dead letter whose replay is          never while claimed (held, and printed): its lead has no state
claimed, not sent                      until the send (`dlq replay --force` sends a stopped one)
leads, lead_stages, email outbox,      never: they are what "never email twice" and the API read
suppressions
=====================================  ==================================================================

Running it twice deletes nothing the second time; a month whose table was busy is dropped by the next run.
Every worker watches that it runs (`overdue_s`, ``leadstream_retention_overdue_seconds``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from config import RetentionSettings
from storage.db import Pool
from storage.retention import (
    DeadLetterPrune,
    MonthPartition,
    drop_partition,
    month_partitions,
    oldest_dead_letter,
    prune_dead_letters,
    vacuum_dead_letters,
)


def first_kept_month(now: datetime, keep_months: int) -> date:
    """The oldest month kept: `keep_months` whole months before the month of `now` (6 in December: June)."""
    months = now.year * 12 + now.month - 1 - keep_months
    return date(months // 12, months % 12 + 1, 1)


def month_due(month: date, keep_months: int) -> datetime:
    """When an audit month becomes due for dropping: the first day of the month `keep_months` + 1 after it."""
    months = month.year * 12 + month.month + keep_months
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)


async def overdue_s(pool: Pool, policy: RetentionSettings, *, now: datetime | None = None) -> float:
    """How long the oldest row that `policy` says is gone has been due: the oldest dead letter past the last
    horizon, or the oldest audit month past its own; 0 when none is. A nightly prune keeps it under a day; more
    says the job fails, is suspended or is not deployed (settled letters are not asked: one horizon tells)."""
    now = now or datetime.now(UTC)
    due = []
    letter = await oldest_dead_letter(pool)
    if letter is not None:
        due.append(letter + timedelta(days=policy.dead_letters_days))
    months = await month_partitions(pool)
    if months:
        due.append(month_due(months[0].month, policy.audit_months))
    return max([(now - at).total_seconds() for at in due] + [0.0])


@dataclass
class PruneReport:
    kept_from: date  # the oldest audit month kept
    dead_letters: DeadLetterPrune
    dropped: list[MonthPartition] = field(default_factory=list)  # in a dry run: those that would be
    busy: list[MonthPartition] = field(default_factory=list)  # due, but their table's lock was not free
    vacuumed: bool = False  # dead letters were deleted, and the table vacuumed after


async def prune(
    pool: Pool, policy: RetentionSettings, *, now: datetime | None = None, dry_run: bool = False
) -> PruneReport:
    """Apply `policy` as of `now`; with `dry_run`, count what would go and delete nothing."""
    now = now or datetime.now(UTC)
    letters = await prune_dead_letters(
        pool,
        settled_before=now - timedelta(days=policy.dead_letters_settled_days),
        any_before=now - timedelta(days=policy.dead_letters_days),
        dry_run=dry_run,
    )
    report = PruneReport(first_kept_month(now, policy.audit_months), letters)
    if not dry_run and (letters.settled or letters.unsettled):
        await vacuum_dead_letters(pool)
        report.vacuumed = True
    for partition in await month_partitions(pool):
        if partition.month >= report.kept_from:
            continue
        if dry_run or await drop_partition(pool, partition):
            report.dropped.append(partition)
        else:
            report.busy.append(partition)
    return report
