"""RTO of the database: restore a base backup + archived WAL to a point in time, for N leads.

Fills its own schema (or database through PgBouncer) on the primary of .services/env with `--leads`
leads as the pipeline records them (leads row, stage history, an outbox row for 42 % of them, as
measured in demo runs), takes a base backup, writes `--after` more leads (WAL to replay), restores to
the moment after them into a fresh server and prints the time: copy + replay + promotion. The backup
holds the whole cluster (every database on it), as a real one would.

    source .services/env && python perf/bench_restore.py --leads 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

from leadstream.backup import base_backup, default_user, restore, stop
from leadstream.embedded import free_port
from schemas import Enrichment, Lead, Score, Tech, TerminalState
from storage.db import create_pool, drop_isolated, isolated_url, migrate, split_pgbouncer
from storage.footprint import LEAD_TABLES, record_sent, schema_bytes, table_footprint, vacuum
from storage.records import LeadRecords, RecordUpdate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))


def lead(i: int) -> Lead:
    return Lead(
        lead_id=f"ld_rto_{i}",
        geo_key=("NY", "CA", "TX", "IL", "FL")[i % 5],
        source="bench",
        name=f"Bench Plumbing & Heating {i}",
        street=f"{i} Main Street",
        city="Springfield",
        state="IL",
        zip="62701",
        phone="217-555-0101",
        website=f"https://bench{i}.example",
        vertical="plumber",
        enrichment=Enrichment(
            final_url=f"https://bench{i}.example/", http_status=200, tech=[Tech(name="WordPress", version="6.1")]
        ),
        score=Score(value=72.5, tier="A", qualified=True, rules_version="bench", base=50),
    )


async def fill(pool, first: int, count: int) -> None:
    records = LeadRecords(pool)
    for start in range(first, first + count, 1000):
        batch = [lead(i) for i in range(start, min(start + 1000, first + count))]
        for stage in ("enrich", "dedupe", "score"):
            await records.write([RecordUpdate(x, stage, "r" * 32, 1_700_000_000_000) for x in batch])
        await records.write(
            [RecordUpdate(x, "email", "r" * 32, 1_700_000_000_000, TerminalState.emailed) for x in batch]
        )
        await record_sent(
            pool,
            [
                (f"{x.lead_id}:intro", x.lead_id, f"{x.lead_id}@bench.example")
                for n, x in enumerate(batch)
                if n % 100 < 42
            ],
        )


async def main(args: argparse.Namespace) -> None:
    from svclib import postgres

    base = os.environ["LEADSTREAM_DATABASE_URL"]
    admin = os.environ.get("LEADSTREAM_DATABASE_ADMIN_URL") or split_pgbouncer(base)[0]
    name = f"bench_rto_{uuid.uuid4().hex[:8]}"
    url = await isolated_url(base, name, admin)
    pool = await create_pool(url, size=2)
    scratch = postgres.scratch_dir(name)
    restored = None
    try:
        await migrate(pool)
        began = time.perf_counter()
        await fill(pool, 0, args.leads)
        filled = time.perf_counter() - began
        await vacuum(pool)
        size = await schema_bytes(pool)
        per_table = {table: list(await table_footprint(pool, table, "ld_rto_")) for table in LEAD_TABLES}
        backup = base_backup(admin, scratch / "backup", run_as=default_user())
        await fill(pool, args.leads, args.after)
        target = await pool.fetchval("SELECT clock_timestamp()")
        await pool.execute("SELECT 1")
        await fill(pool, args.leads + args.after, 10)  # a commit after the target ends the replay there
        postgres.archive_now()
        restored = restore(
            backup.path,
            archive=postgres.archive_dir(),
            target=target,
            datadir=scratch / "data",
            port=free_port(),
            run_as=default_user(),
        )
        print(
            f"bench_restore: {args.leads} leads (+{args.after} after the backup) written in {filled:.0f} s; "
            f"its tables {size / 1e6:.0f} MB, whole-cluster backup {backup.bytes / 1e6:.0f} MB in {backup.seconds:.1f} s"
        )
        print(f"{'table':<16}{'rows/lead':>10}{'bytes/row':>10}{'bytes/lead':>11}  (after VACUUM, indexes included)")
        for table, (n, nbytes) in sorted(per_table.items()):
            print(f"{table:<16}{n / args.leads:>10.2f}{nbytes / n:>10.0f}{nbytes / args.leads:>11.0f}")
        print(f"{'all':<16}{'':>10}{'':>10}{size / args.leads:>11.0f}")
        print(f"RTO (database): {restored.seconds:.1f} s to copy the backup, replay the WAL to the target and promote")
    finally:
        if restored is not None:
            stop(restored.datadir, run_as=default_user())
        shutil.rmtree(scratch, ignore_errors=True)
        await pool.close()
        await drop_isolated(base, name, admin)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--after", type=int, default=10_000, help="leads written after the backup (WAL replayed)")
    asyncio.run(main(parser.parse_args()))
