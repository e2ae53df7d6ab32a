"""The API under a mixed load: N requests/s of ingest and status calls for D seconds, open loop.

Starts `leadstream api` (uvicorn, one process) on the real stack of .services/env with its own
schema (or database through PgBouncer) and topic prefix, fills the leads table with `--leads`
recorded leads so status calls find them, then sends requests on a fixed schedule (a slow answer
never delays the next request: coordinated omission is avoided) and prints p50/p95/p99 per route.

    source .services/env && python perf/bench_api.py --rate 200 --seconds 60
    # through PgBouncer with the replica for reads:
    LEADSTREAM_DATABASE_URL="$LEADSTREAM_PGBOUNCER_URL?pgbouncer=true" python perf/bench_api.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from leadstream.api.keys import create_key
from leadstream.embedded import free_port
from schemas import Lead, Score, TerminalState
from storage.api_keys import ApiKeys
from storage.db import create_pool, drop_isolated, isolated_url, migrate
from storage.records import LeadRecords, RecordUpdate
from streams.admin import ensure_topics

ROOT = Path(__file__).resolve().parents[1]
MIX = (("POST /v1/leads", 0.5), ("GET /v1/leads/{id}", 0.3), ("GET /v1/leads", 0.1), ("GET /v1/stats", 0.1))


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def seed(pool, count: int) -> list[str]:
    records = LeadRecords(pool)
    ids = [f"ld_bench_{i}" for i in range(count)]
    for start in range(0, count, 500):
        updates = []
        for i, lead_id in enumerate(ids[start : start + 500], start):
            lead = Lead(
                lead_id=lead_id,
                geo_key=random.choice(("NY", "CA", "TX", "IL")),
                source="bench",
                name=f"Bench Co {i}",
                zip="10002",
                vertical=random.choice(("hvac", "plumber", "vet")),
                score=Score(value=60, tier="B", qualified=True, rules_version="bench", base=50),
            )
            state = TerminalState.disqualified if i % 3 == 0 else None
            updates.append(RecordUpdate(lead, "score", "b" * 32, int(time.time() * 1000) - i, state))
        await records.write(updates)
    return ids


async def main(args: argparse.Namespace) -> None:
    base = os.environ["LEADSTREAM_DATABASE_URL"]
    admin = os.environ.get("LEADSTREAM_DATABASE_ADMIN_URL")
    name = f"bench_api_{uuid.uuid4().hex[:8]}"
    url = await isolated_url(base, name, admin)
    pool = await create_pool(url, size=4)
    proc = None
    try:
        await migrate(pool)
        ids = await seed(pool, args.leads)
        key, _ = await create_key(ApiKeys(pool), "bench", ["ingest", "read"], rate="100000/second")
        prefix = f"bench-api-{name}."
        await ensure_topics(os.environ["LEADSTREAM_KAFKA_BROKER"], partitions=12, replication=1, prefix=prefix)
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LEADSTREAM_DATABASE_URL": url,
            "LEADSTREAM_TOPIC_PREFIX": prefix,
            "LEADSTREAM_API__PORT": str(port),
        }
        if not args.replica:
            env.pop("LEADSTREAM_REPLICA_DATABASE_URL", None)
        elif env.get("LEADSTREAM_REPLICA_DATABASE_URL"):
            replica = env["LEADSTREAM_REPLICA_DATABASE_URL"]
            env["LEADSTREAM_REPLICA_DATABASE_URL"] = (
                url.replace(base.split("?")[0].rsplit("/", 1)[0], replica.rsplit("/", 1)[0]).replace(
                    "?pgbouncer=true", ""
                )
                if "?pgbouncer=true" in url
                else f"{replica}?search_path={name}"
            )
        proc = subprocess.Popen([sys.executable, "-m", "leadstream", "api"], env=env, cwd=ROOT, start_new_session=True)
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(
            base_url=base_url,
            headers={"X-API-Key": key.token},
            timeout=10.0,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        ) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None, "the API did not start"
                await asyncio.sleep(0.2)
            if args.replica:
                await asyncio.sleep(1.0)  # the replica replays the seeded rows
            latencies: dict[str, list[float]] = {route: [] for route, _ in MIX}
            errors: dict[str, int] = {route: 0 for route, _ in MIX}
            rng = random.Random(7)
            routes = [route for route, _ in MIX]
            weights = [w for _, w in MIX]

            async def one(route: str, n: int) -> None:
                began = time.perf_counter()
                try:
                    if route == "POST /v1/leads":
                        r = await client.post(
                            "/v1/leads",
                            json={"source": "bench", "name": f"New Co {n}", "zip": "10002", "lead_id": f"ld_new_{n}"},
                        )
                        ok = r.status_code == 202
                    elif route == "GET /v1/leads/{id}":
                        r = await client.get(f"/v1/leads/{rng.choice(ids)}")
                        ok = r.status_code == 200
                    elif route == "GET /v1/leads":
                        r = await client.get("/v1/leads", params={"limit": 20, "vertical": rng.choice(("hvac", "vet"))})
                        ok = r.status_code == 200
                    else:
                        r = await client.get("/v1/stats")
                        ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies[route].append((time.perf_counter() - began) * 1000)
                if not ok:
                    errors[route] += 1

            total = int(args.rate * args.seconds)
            tasks = []
            start = time.perf_counter()
            for n in range(total):
                delay = start + n / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(rng.choices(routes, weights)[0], n)))
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - start
        print(
            f"bench_api: {total} requests in {elapsed:.1f} s ({total / elapsed:.0f}/s offered {args.rate}/s), "
            f"{args.leads} leads seeded, reads from {'replica' if args.replica else 'primary'}, "
            f"database via {'PgBouncer' if 'pgbouncer=true' in url else 'direct'}"
        )
        print(f"{'route':<22}{'n':>7}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        everything: list[float] = []
        for route, values in latencies.items():
            values.sort()
            everything += values
            print(
                f"{route:<22}{len(values):>7}{errors[route]:>8}{percentile(values, 0.5):>9.1f}"
                f"{percentile(values, 0.95):>9.1f}{percentile(values, 0.99):>9.1f}{(values[-1] if values else 0):>9.1f}"
            )
        everything.sort()
        print(
            f"{'all':<22}{len(everything):>7}{sum(errors.values()):>8}{percentile(everything, 0.5):>9.1f}"
            f"{percentile(everything, 0.95):>9.1f}{percentile(everything, 0.99):>9.1f}{everything[-1]:>9.1f}"
        )
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        await pool.close()
        await drop_isolated(base, name, admin)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second, all routes together")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--leads", type=int, default=10_000, help="leads recorded before the run")
    parser.add_argument("--replica", action="store_true", help="reads from LEADSTREAM_REPLICA_DATABASE_URL")
    asyncio.run(main(parser.parse_args()))
