"""The unattended replay's backlog query on a large table: ``python perf/bench_dead_letter_backlog.py [--rows N]``.

Every worker asks `DeadLetterStore.oldest_unattended_s` once a minute. This fills a schema of its own with N
synthetic dead letters over 30 days (`storage.synthetic.dead_letter_backlog`: 25 % transient, payloads of
``--payload-bytes``), migrated up to 0013, and times the question; then it applies migration 0014 (the index on
(error_type, created_at)) and times it again, in the same run. Prints milliseconds per ask (each run's after one
warm-up, and the median). Needs ``LEADSTREAM_DATABASE_URL`` (the core services).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.db import isolated_pool, migrate
from storage.dead_letters import DeadLetterStore
from storage.synthetic import dead_letter_backlog

BEFORE_INDEX = "0013_dedupe_phones.sql"


async def timed(store: DeadLetterStore, runs: int) -> tuple[list[float], float]:
    """Milliseconds of each run (after one warm-up), and the answer."""
    age = await store.oldest_unattended_s()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        age = await store.oldest_unattended_s()
        times.append((time.perf_counter() - started) * 1000)
    return times, age


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--payload-bytes", type=int, default=1500, help="each dead letter's original message")
    args = parser.parse_args()
    dsn = os.environ["LEADSTREAM_DATABASE_URL"]
    name = f"bench_dlq_{uuid.uuid4().hex[:8]}"
    async with isolated_pool(dsn, name) as (_, pool):
        await migrate(pool, until=BEFORE_INDEX)
        await dead_letter_backlog(pool, args.rows, payload_bytes=args.payload_bytes)
        store = DeadLetterStore(pool)
        results = {"without the index (schema at 0013)": await timed(store, args.runs)}
        assert await migrate(pool) == ["0014_dead_letters_by_reason.sql"]
        results["with migration 0014's index"] = await timed(store, args.runs)
        for label, (times, age) in results.items():
            runs = ", ".join(f"{t:.1f}" for t in times)
            print(
                f"{args.rows:,} dead letters, {label}: median {statistics.median(times):.1f} ms ({runs}); "
                f"oldest waiting {age / 3600:.1f} h"
            )


if __name__ == "__main__":
    asyncio.run(main())
