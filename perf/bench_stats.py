"""What ``GET /v1/stats`` costs on a large table, before and after the counters: ``python perf/bench_stats.py``.

Fills a schema of its own (every migration applied) with ``--leads`` ended leads in the demo's shares,
``--in-flight`` leads without a state and ``--letters`` dead letters, the counters' triggers off, then counts them
as migration 0016 does (**seed**: how long it holds writes of leads and dead letters), and prints, each the median
of ``--asks`` asks after a warm-up, with PostgreSQL's CPU per ask:

* **before**: what the API asked until migration 0015, every lead counted by stage and state, and every dead letter
  (`storage.synthetic.count_every_lead`);
* **after**: `storage.lead_status.LeadStatus.counts` (the leads in flight, and the counters), with a minute of
  deltas not yet folded, then after a fold; both answers are checked equal to *before*'s;
* **writes**: the pipeline's record writes (`storage.records.LeadRecords.write`, batches of 200 leads, each
  written in flight then ended) with the counters' triggers off and on, alternated ``--rounds`` times: what the
  triggers add per lead. Needs ``LEADSTREAM_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perf.proccpu import spent, timed_asks
from schemas import Lead, TerminalState
from storage import row_counts
from storage.db import Pool, isolated_pool, migrate
from storage.lead_status import LeadCounts, LeadStatus
from storage.records import LeadRecords, RecordUpdate
from storage.synthetic import (
    count_every_lead,
    count_triggers,
    dead_letter_backlog,
    leads_in_states,
)

BATCH = 200


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=3_000_000, help="ended leads (about two days at full rate)")
    parser.add_argument("--in-flight", type=int, default=5_000)
    parser.add_argument("--letters", type=int, default=100_000)
    parser.add_argument("--asks", type=int, default=10)
    parser.add_argument("--batches", type=int, default=25, help="write batches of 200 leads per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    dsn = os.environ["LEADSTREAM_DATABASE_URL"]
    async with isolated_pool(dsn, f"bench_stats_{uuid.uuid4().hex[:8]}") as (_, pool):
        await migrate(pool)
        await count_triggers(pool, False)  # a bulk fill is not the pipeline: the seed below counts it, as 0016 would
        with spent() as cost:
            await leads_in_states(pool, args.leads, in_flight=args.in_flight)
            await dead_letter_backlog(pool, args.letters)
        await count_triggers(pool, True)
        print(f"{args.leads:,} ended leads, {args.in_flight:,} in flight, {args.letters:,} dead letters")
        with spent() as cost:
            await row_counts.recount(pool)
        print(f"  seed (0016)   : {cost.wall:.2f} s holding writes; postgres CPU {cost.postgres:.2f} s")
        print(f"  before        : {await asked(lambda: count_every_lead(pool), args.asks)}")
        await LeadRecords(pool).write(
            [RecordUpdate(lead(f"ld_minute_{i}"), "email", "t" * 32, 1, TerminalState.emailed) for i in range(1000)]
        )  # a minute's deltas, not yet folded
        before, letters = await count_every_lead(pool)
        deltas = await row_counts.deltas(pool)
        print(f"  after         : {await asked(lambda: LeadStatus(pool).counts(), args.asks)}, {deltas} deltas")
        agree(await LeadStatus(pool).counts(), before, letters)
        with spent() as cost:
            await row_counts.fold(pool)
        print(f"  fold          : {cost.wall * 1000:.1f} ms for {deltas} deltas")
        print(f"  after a fold  : {await asked(lambda: LeadStatus(pool).counts(), args.asks)}")
        agree(await LeadStatus(pool).counts(), before, letters)
        per_lead: dict[bool, list[float]] = {False: [], True: []}
        wall: dict[bool, list[float]] = {False: [], True: []}
        for n in range(args.rounds):
            for enabled in (False, True):
                await count_triggers(pool, enabled)
                with spent() as cost:
                    await write_leads(pool, f"{n}{int(enabled)}", args.batches)
                leads = args.batches * BATCH
                per_lead[enabled].append(cost.postgres / leads * 1e6)
                wall[enabled].append(cost.wall / (2 * args.batches) * 1000)
        for enabled in (False, True):
            print(
                f"  writes, triggers {'on ' if enabled else 'off'}: postgres CPU per lead "
                f"{' / '.join(f'{v:.0f}' for v in per_lead[enabled])} µs; a write of {BATCH} leads "
                f"{' / '.join(f'{v:.1f}' for v in wall[enabled])} ms"
            )
        await count_triggers(pool, True)


def lead(lead_id: str) -> Lead:
    return Lead(lead_id=lead_id, geo_key="g7", source="bench", name="Valley Heating")


async def write_leads(pool: Pool, tag: str, batches: int) -> None:
    records = LeadRecords(pool)
    for b in range(batches):
        leads = [lead(f"ld_w{tag}_{b}_{i}") for i in range(BATCH)]
        await records.write([RecordUpdate(x, "scrape", "t" * 32, 1) for x in leads])
        await records.write([RecordUpdate(x, "email", "t" * 32, 1, TerminalState.emailed) for x in leads])


def agree(counts: LeadCounts, before: dict[tuple[str, str | None], int], letters: int) -> None:
    terminal: dict[str, int] = {}
    in_flight: dict[str, int] = {}
    for (stage, state), n in before.items():
        if state is None:
            in_flight[stage] = in_flight.get(stage, 0) + n
        else:
            terminal[state] = terminal.get(state, 0) + n
    assert (counts.terminal, counts.in_flight, counts.dead_letters) == (terminal, in_flight, letters), counts


async def asked(ask, asks: int) -> str:
    asked = await timed_asks(ask, asks)
    return f"median {asked.median_ms:8.2f} ms of {asks}, postgres CPU {asked.postgres_ms:7.1f} ms per ask"


if __name__ == "__main__":
    asyncio.run(main())
