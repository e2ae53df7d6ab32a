"""The nightly prune on a large table: ``python perf/bench_retention.py [--rows N] [--days D]``.

Fills a schema of its own with N synthetic dead letters spread over the last D days (`storage.synthetic`: 70 %
bad input, 25 % transient, one lead each, payloads of ``--payload-bytes``; the transient ones with an even id replayed)
and a ``leads`` row for each letter's lead (every tenth ended otherwise) plus ``--other-leads`` that never failed,
then applies the default policy (settled after 30 days, all after 90): a dry run of `leadstream.retention.prune`;
then its two steps apart, the delete and the VACUUM, timing the question every worker asks once a minute
(`leadstream.retention.overdue_s`) after each; then `prune` again (a night with nothing new to delete). Prints
wall time, letters deleted and CPU seconds of this process and of PostgreSQL for each step. Needs ``LEADSTREAM_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config import RetentionSettings
from leadstream.retention import overdue_s, prune
from perf.proccpu import Spent, spent, timed_asks
from storage.db import Pool, isolated_pool, migrate
from storage.retention import DeadLetterPrune, prune_dead_letters, vacuum_dead_letters
from storage.synthetic import dead_letter_backlog, leads_beside, replay_share


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--days", type=int, default=120, help="the letters' ages are spread over this many days")
    parser.add_argument("--payload-bytes", type=int, default=1500, help="each dead letter's original message")
    parser.add_argument("--other-leads", type=int, default=1_000_000, help="leads rows beside the letters' own")
    args = parser.parse_args()
    dsn = os.environ["LEADSTREAM_DATABASE_URL"]
    name = f"bench_prune_{uuid.uuid4().hex[:8]}"
    policy = RetentionSettings()
    async with isolated_pool(dsn, name) as (_, pool):
        await migrate(pool)
        await dead_letter_backlog(pool, args.rows, payload_bytes=args.payload_bytes, days=args.days)
        replayed = await replay_share(pool, 2)
        leads = await leads_beside(pool, args.other_leads)
        print(
            f"{args.rows:,} dead letters over {args.days} days, {replayed:,} of them replayed, {leads:,} leads; "
            f"policy {policy}"
        )
        with spent() as cost:
            report = await prune(pool, policy, dry_run=True)
        print(f"  dry run       : {cost.wall:6.2f} s; {counts(report.dead_letters)}; {cpu(cost)}")
        # prune's two steps apart, so the VACUUM's effect on the workers' minute question shows in this run
        now = datetime.now(UTC)
        with spent() as cost:
            deleted = await prune_dead_letters(
                pool,
                settled_before=now - timedelta(days=policy.dead_letters_settled_days),
                any_before=now - timedelta(days=policy.dead_letters_days),
            )
        print(f"  delete        : {cost.wall:6.2f} s; {counts(deleted)}; {cpu(cost)}")
        print(f"  overdue_s     : {await asked(pool, policy)}, right after the delete")
        with spent() as cost:
            await vacuum_dead_letters(pool)
        print(f"  VACUUM        : {cost.wall:6.2f} s; {cpu(cost)}")
        print(f"  overdue_s     : {await asked(pool, policy)}, after the VACUUM")
        with spent() as cost:
            report = await prune(pool, policy)
        print(f"  prune again   : {cost.wall:6.2f} s; {counts(report.dead_letters)}; {cpu(cost)}")


def counts(letters: DeadLetterPrune) -> str:
    settled, unsettled = sum(letters.settled.values()), sum(letters.unsettled.values())
    return f"{settled:,} settled + {unsettled:,} unsettled letters, {letters.read:,} past the settled horizon read"


def cpu(cost: Spent) -> str:
    return f"CPU: this process {cost.cpu:.2f} s, postgres {cost.postgres:.2f} s"


async def asked(pool: Pool, policy: RetentionSettings) -> str:
    """The workers' minute question, timed: the median of five after a warm-up."""
    asked = await timed_asks(lambda: overdue_s(pool, policy), 5)
    return f"median {asked.median_ms:.2f} ms of 5 after a warm-up ({asked.answer:.0f} s overdue)"


if __name__ == "__main__":
    asyncio.run(main())
