"""``GET /v1/leads`` pages on a large table, with and without migration 0017's index: ``python perf/bench_lead_pages.py``.

Fills a schema of its own (every migration applied) with ``--leads`` ended leads in the demo's shares, one ingested
every 60 ms (`storage.synthetic.leads_in_states`: the dead-lettered ones in two geo keys of 50, as one region's
provider outage leaves them), and 5,000 in flight, then asks the API's page query
(`storage.lead_status.LeadStatus.page`, 50 leads and one to see whether there is more) for each filter, with the
index and without it, alternated ``--rounds`` times. Prints the median of ``--asks`` asks after a warm-up and
PostgreSQL's CPU per ask; then what the index adds to the pipeline's record writes (`perf.bench_stats.write_leads`:
batches of 200 leads, each written in flight then ended), PostgreSQL's CPU per lead with and without it. Needs
``LEADSTREAM_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perf.bench_stats import BATCH, write_leads
from perf.proccpu import spent, timed_asks
from storage.db import isolated_pool, migrate
from storage.lead_status import LeadFilter, LeadStatus
from storage.synthetic import count_triggers, leads_in_states, state_page_index

FILTERS = {
    "newest": LeadFilter(),
    "state=emailed": LeadFilter(state="emailed"),
    "state=dead_lettered": LeadFilter(state="dead_lettered"),
    "state=suppressed (none)": LeadFilter(state="suppressed"),
    "state=in_flight": LeadFilter(state="in_flight"),
    "geo_key=g40&state=duplicate": LeadFilter(geo_key="g40", state="duplicate"),
}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=3_000_000)
    parser.add_argument("--asks", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=25, help="write batches of 200 leads per variant and round")
    args = parser.parse_args()
    dsn = os.environ["LEADSTREAM_DATABASE_URL"]
    async with isolated_pool(dsn, f"bench_pages_{uuid.uuid4().hex[:8]}") as (_, pool):
        await migrate(pool)
        await count_triggers(pool, False)  # a bulk fill, not the pipeline's writes
        await leads_in_states(pool, args.leads, in_flight=5_000)
        print(f"{args.leads:,} ended leads and 5,000 in flight; medians of {args.asks} asks, postgres CPU per ask")
        status = LeadStatus(pool)
        for n in range(args.rounds):
            for present in (False, True):
                with spent() as cost:
                    await state_page_index(pool, present)
                built = f" (built in {cost.wall:.1f} s)" if present else ""
                print(f"  round {n + 1}, {'with' if present else 'without'} the index{built}")
                for name, where in FILTERS.items():
                    asked = await timed_asks(functools.partial(status.page, where, limit=51), args.asks)
                    print(
                        f"    {name:28} {len(asked.answer):2} rows  median {asked.median_ms:8.2f} ms  "
                        f"postgres CPU {asked.postgres_ms:7.1f} ms"
                    )
                with spent() as cost:
                    await write_leads(pool, f"{n}{int(present)}", args.batches)
                leads = args.batches * BATCH
                print(
                    f"    writes: postgres CPU {cost.postgres / leads * 1e6:.0f} µs per lead, "
                    f"{cost.wall / (2 * args.batches) * 1000:.1f} ms per write of {BATCH}"
                )


if __name__ == "__main__":
    asyncio.run(main())
