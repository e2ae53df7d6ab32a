"""What the phone directory costs the dedupe stage: ``python perf/bench_phone_directory.py [--leads N] [--rounds R]``.

Runs the dedupe stage (`DedupeStage.handle` per lead, `complete_batch` per batch, engine over an in-memory dict,
no LLM) over the same N leads with a local phone, in rounds that alternate between no directory
(``LEADSTREAM_DEDUPE_PHONE_DIRECTORY=false``), the PostgreSQL directory at phone keys only (both name keys' switches
off) and at phone and name-and-street keys (``LEADSTREAM_DEDUPE_NAME_CITY_KEYS=false``) with batches of ``--batch``
leads, and the PostgreSQL directory at all its keys (`storage.dedupe_phones`, one transaction per batch) with
batches of one lead and of ``--batch`` leads (the stage's batches are up to ``LEADSTREAM_BATCH_SIZE``, smaller when
leads come slowly), on ``$LEADSTREAM_DATABASE_URL`` in a schema of its own (dropped at the end). Every listing has a
city and a street line, so it claims its name words with them too; the names' words are few (four cities, eleven
words), so most name-and-city keys fill up (`phone_look.NAME_CITY_CAP`) as a common word's would in a city. A
fifth of the leads are the same businesses again under another state (phone only), and about one in fourteen
again with another state's phone (a second line) and no ZIP: the directory's duplicates, by phone and by name
and street line.

Prints, per configuration, leads/s (wall, one batch at a time as the stage handles a partition) and CPU per lead
of this process and of the PostgreSQL server processes (from /proc, so only for a server on this machine), and
the claims the table holds with its size per claim. The dedupe stage handles one partition's leads in order, so
the wall time per lead is what bounds one partition's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perf.proccpu import spent
from schemas import Lead
from stages.dedupe.engine import EntityResolver
from stages.dedupe.phone_look import StoredPhoneDirectory, key_kinds
from stages.dedupe.stage import DedupeStage
from storage.db import isolated_pool, migrate
from storage.dedupe_phones import PhoneClaims
from streams.envelope import Envelope

STATES = {
    "NJ": ("07030", "201", "Hoboken"),
    "NY": ("10003", "212", "New York"),
    "PA": ("15213", "412", "Pittsburgh"),
    "IL": ("60601", "312", "Chicago"),
}
WORDS = ["acme", "summit", "harbor", "maple", "golden", "river", "pioneer", "cedar", "atlas", "beacon", "orchid"]
KINDS = ["Bakery", "Plumbing", "Dental", "Auto Repair", "Books", "Cafe", "Florist", "Hardware"]


def make_leads(n: int, seed: int) -> list[Lead]:
    rng = random.Random(seed)
    leads: list[Lead] = []
    states = list(STATES)
    while len(leads) < n:
        i = len(leads)
        state = rng.choice(states)
        zip_, area, city = STATES[state]
        name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {rng.choice(KINDS)} {i}"
        phone = f"{area}-{rng.randrange(200, 999)}-{rng.randrange(1000, 9999)}"
        street = f"{rng.randrange(1, 9999)} {rng.choice(WORDS).title()} St"
        place = {"source": "bench", "name": name, "street": street, "city": city}
        leads.append(Lead(lead_id=f"b{i}", geo_key=state, zip=zip_, phone=phone, **place))
        draw = rng.random()
        other = rng.choice([s for s in states if s != state])
        if draw < 0.25 and len(leads) < n:  # the same business listed with only its phone, another state
            leads.append(Lead(lead_id=f"b{i}x", geo_key=other, source="bench", name=name, phone=phone))
        elif draw < 0.35 and len(leads) < n:  # again with a second line of another state's area code, no ZIP
            line = f"{STATES[other][1]}-{rng.randrange(200, 999)}-{rng.randrange(1000, 9999)}"
            leads.append(Lead(lead_id=f"b{i}y", geo_key=other, phone=line, **place))
    return leads


async def one_round(
    leads: list[Lead], directory: StoredPhoneDirectory | None, batch: int
) -> tuple[float, float, float, int]:
    stage = DedupeStage(EntityResolver({}), phones=directory)
    envelope = Envelope(payload=b"")
    duplicates = 0
    with spent() as cost:
        for start in range(0, len(leads), batch):
            outputs = [await stage.handle(lead, envelope) for lead in leads[start : start + batch]]
            await stage.complete_batch()
            duplicates += sum(out.terminal is not None for [out] in outputs)
    return cost.wall, cost.cpu, cost.postgres, duplicates


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per configuration, alternating")
    parser.add_argument("--batch", type=int, default=50, help="leads per batch in the batched configuration")
    args = parser.parse_args()
    dsn = os.environ["LEADSTREAM_DATABASE_URL"]
    schema = f"bench_phones_{os.getpid()}"
    async with isolated_pool(dsn, schema) as (_, pool):
        await migrate(pool)
        claims = PhoneClaims(pool)
        configs = {  # the directory's store, leads per batch, the kinds of key claimed
            "off": (None, args.batch, key_kinds()),
            f"phone keys, batch {args.batch}": (claims, args.batch, key_kinds(False, False)),
            f"phone+street, batch {args.batch}": (claims, args.batch, key_kinds(True, False)),
            "all keys, batch 1": (claims, 1, key_kinds()),
            f"all keys, batch {args.batch}": (claims, args.batch, key_kinds()),
        }
        results: dict[str, list[tuple[float, float, float, int]]] = {label: [] for label in configs}
        for r in range(args.rounds):
            leads = make_leads(args.leads, seed=r)
            for label, (store, batch, kinds) in configs.items():
                await pool.execute("TRUNCATE dedupe_phones")  # no configuration reads another's claims
                directory = StoredPhoneDirectory(store, kinds) if store is not None else None
                results[label].append(await one_round(leads, directory, batch))
        print(
            f"dedupe stage, {args.leads} leads per round (about a quarter of them twins in another state),"
            f" {args.rounds} rounds"
        )
        for label, runs in results.items():
            rates = [args.leads / wall for wall, _, _, _ in runs]
            cpu = [1e3 * c / args.leads for _, c, _, _ in runs]
            pg = [1e3 * p / args.leads for _, _, p, _ in runs]
            dup = [d for _, _, _, d in runs]
            print(
                f"  directory {label:22s}: {min(rates):7.0f}-{max(rates):7.0f} leads/s; CPU per lead: this process"
                f" {min(cpu):.3f}-{max(cpu):.3f} ms, postgres {min(pg):.3f}-{max(pg):.3f} ms; duplicates {dup}"
            )
        rows = await claims.count()
        size = await pool.fetchval("SELECT pg_total_relation_size('dedupe_phones')")
        print(
            f"  claims stored by the last round: {rows}; table with indexes {size / 1024:.0f} KiB, {size / max(rows, 1):.0f} B per claim"
        )


if __name__ == "__main__":
    asyncio.run(main())
