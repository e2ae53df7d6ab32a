"""The unattended replay's backlog query on a large table: ``python perf/bench_dead_letter_backlog.py [--rows N]``.

Every worker asks `DeadLetterStore.oldest_unattended_s` once a minute. This fills a schema of its own with N
synthetic dead letters over 30 days (70 % InvalidMessage, 25 % TransientProviderError, most of those replayed,
5 % other; one lead each; payloads of ``--payload-bytes``, about a lead's JSON), then times the query as the schema
stands (with migration 0014's index on (error_type, created_at)) and, in the same run, with that index dropped:
what it buys. Prints milliseconds per query (each run's after one warm-up, and the median). Needs
``LEADSTREAM_DATABASE_URL`` (the core services).
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

from storage.db import create_pool, drop_isolated, isolated_url, migrate
from storage.dead_letters import DeadLetterStore

# Synthetic rows straight into the tables (a bench's data, not the application's writes).
SEED_LETTERS = """
INSERT INTO dead_letters (stage, lead_id, topic, kafka_partition, kafka_offset, error_type, reason, attempts,
                          payload, created_at)
SELECT 'enrich', 'ld_' || g, 't', 0, g,
       CASE WHEN g % 20 < 14 THEN 'InvalidMessage' WHEN g % 20 < 19 THEN 'TransientProviderError' ELSE 'Other' END,
       'synthetic', 1, convert_to(repeat('x', $2), 'UTF8'), now() - (g::float / $1 * interval '30 days')
FROM generate_series(1, $1::int) g
"""
SEED_REPLAYS = """
INSERT INTO dead_letter_replays (dead_letter_id, status, topic)
SELECT id, 'sent', 't' FROM dead_letters WHERE error_type = 'TransientProviderError' AND id % 7 <> 0
"""


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
    pool = await create_pool(await isolated_url(dsn, name), size=2)
    try:
        await migrate(pool)
        await pool.execute(SEED_LETTERS, args.rows, args.payload_bytes)
        await pool.execute(SEED_REPLAYS)
        await pool.execute("ANALYZE dead_letters; ANALYZE dead_letter_replays")
        store = DeadLetterStore(pool)
        results = {"with migration 0014's index": await timed(store, args.runs)}
        await pool.execute("DROP INDEX dead_letters_reason_created_idx")
        results["without it"] = await timed(store, args.runs)
        for label, (times, age) in results.items():
            runs = ", ".join(f"{t:.1f}" for t in times)
            print(
                f"{args.rows:,} dead letters, {label}: median {statistics.median(times):.1f} ms ({runs}); "
                f"oldest waiting {age / 3600:.1f} h"
            )
    finally:
        await pool.close()
        await drop_isolated(dsn, name)


if __name__ == "__main__":
    asyncio.run(main())
