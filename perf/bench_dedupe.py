"""Dedupe engine throughput: ``python perf/bench_dedupe.py [--entities N] [--leads N]``.

Builds a state of N entities in an in-memory dict (the CLI's store; a Faust
table behaves the same), then times resolving new leads — half re-spellings
of known businesses, half new ones — without the LLM, on one core. Prints
leads/s (wall) and leads per CPU-second (what one core does, whatever else
runs on the machine), and the state's size per entity (keys+values as stored,
and the RSS delta while building). With ``--points`` every business also has a
point (latitude, longitude) near its ZIP's made-up centre, and a re-spelling the
same point moved up to 30 m, as the search APIs give them (round 17: the map-cell
blocking keys and the distance tests then run for every lead).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faker import Faker

from stages.dedupe.engine import EntityResolver
from stages.dedupe.record import DedupeInput

WORDS = [
    "acme",
    "summit",
    "harbor",
    "maple",
    "golden",
    "river",
    "pioneer",
    "cedar",
    "atlas",
    "beacon",
    "crown",
    "delta",
    "eagle",
    "falcon",
    "granite",
    "horizon",
    "liberty",
    "metro",
    "north",
    "orchard",
    "prairie",
    "quest",
]
TRADES = ["plumbing", "dental", "roofing", "auto repair", "hvac", "bakery", "salon", "law office", "pet clinic"]
STREETS = ["main", "oak", "pine", "elm", "lake", "hill", "park", "sunset", "mission", "grand", "spring", "church"]


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


FAKE = Faker("en_US")
FAKE.seed_instance(5)
SURNAMES = sorted({FAKE.last_name() for _ in range(5000)})


def business(rng: random.Random, n: int) -> dict:
    zip3 = rng.choice(["900", "902", "913", "606", "303", "981", "787", "100", "336", "432"])
    head = rng.choice(SURNAMES) if rng.random() < 0.6 else rng.choice(WORDS).title()
    return {
        "id": f"b{n}",
        "name": f"{head} {rng.choice(WORDS).title()} {rng.choice(TRADES).title()}",
        "address": f"{rng.randint(1, 20000)} {rng.choice(STREETS).title()} St",
        "zip": f"{zip3}{rng.randint(0, 99):02d}",
        "phone": f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
        "website": f"www.biz{n}.com" if rng.random() < 0.5 else "",
    }


def place(rng: random.Random, row: dict) -> dict:
    """The business at a point within ~10 km of its ZIP3's centre (made up; only distances matter)."""
    zip3 = int(row["zip"][:3])
    lat, lng = 30 + zip3 % 17, -120 + zip3 % 41
    return {**row, "latitude": lat + rng.uniform(-0.09, 0.09), "longitude": lng + rng.uniform(-0.12, 0.12)}


def respell(rng: random.Random, row: dict, lead_id: str) -> dict:
    p = row["phone"]
    return {
        **row,
        "id": lead_id,
        "name": row["name"].upper() + rng.choice(["", " LLC", " Inc."]),
        "address": row["address"].replace(" St", " Street"),
        "phone": f"({p[:3]}) {p[3:6]}-{p[6:]}",
        "zip": row["zip"] if rng.random() < 0.7 else "",
        "source": "yelp",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--points", action="store_true", help="give every business a point (round 17)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    points = random.Random(args.seed + 17)  # its own stream: the businesses and leads are the same either way

    def new(n: int) -> dict:
        row = business(rng, n)
        return place(points, row) if args.points else row

    known = [new(n) for n in range(args.entities)]
    store: dict = {}
    resolver = EntityResolver(store)
    before = rss_bytes()
    started = time.perf_counter()
    for row in known:
        resolver.resolve(DedupeInput.from_row(row, source="google"))
    build_s = time.perf_counter() - started
    per_entity = (rss_bytes() - before) / args.entities  # includes the normalizers' memo caches
    state_bytes = sum(len(k) + len(v) for k, v in store.items()) / args.entities  # what a RocksDB table holds

    def again(i: int) -> dict:
        row = respell(rng, rng.choice(known), f"r{i}")
        if args.points:  # the same point, moved up to 30 m north or south
            row["latitude"] += points.uniform(-2.7e-4, 2.7e-4)
        return row

    leads = [again(i) if i % 2 else new(args.entities + i) for i in range(args.leads)]
    inputs = [DedupeInput.from_row(row) for row in leads]
    started, cpu_started = time.perf_counter(), time.process_time()
    decisions = {"new": 0, "duplicate": 0, "gray": 0}
    for record in inputs:
        decisions[resolver.resolve(record).decision] += 1
    took, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"state: {args.entities} entities built in {build_s:.1f}s ({args.entities / build_s:,.0f}/s), "
        f"{len(store):,} keys, {state_bytes:,.0f} bytes of keys+values and ~{per_entity:,.0f} bytes RSS per entity"
    )
    print(
        f"resolve: {args.leads} leads in {took:.2f}s wall = {args.leads / took:,.0f} leads/s; "
        f"{cpu:.2f} CPU-s = {args.leads / cpu:,.0f} leads per CPU-second (one core); "
        f"CPU {100 * cpu / took:.0f}% of wall; load average {os.getloadavg()[0]:.1f}; {decisions}"
    )


if __name__ == "__main__":
    main()
