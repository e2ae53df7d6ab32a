"""Seeded evaluation set: ``python -m stages.dedupe.evalset [--seed N] [--out PATH]``.

Independent of `traindata` (own vocabulary, templates, noise and seed). Writes
``tests/data/dedupe/eval.csv`` with a ``cluster`` column (rows of one business
share it). Covers typos, abbreviations, phone formats, missing fields, chains
(same name, other address), near neighbours (look-alike next door, another
suite in the same building) and name variants ("The X" / "X, The", & / and);
and the forms of real guides: listings with only name, street, city, phone and
category; the city as a borough or neighbourhood, with or without "City", or
missing; cross-street notes; spelled ordinals; suite letters and partial
numbers; "Lakeshore" / "Lake Shore Dr."; a second phone line; and venues (a
casino, a hotel, a food hall) whose businesses share one address and one
switchboard phone, outlets of the venue's own brand among them.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from stages.dedupe.evalset.businesses import HEADS, KINDS, ROADS, listing_row, new_business, venue_rows
from stages.dedupe.evalset.forms import (
    bare_rows,
    corner_rows,
    form_rows,
    glued_city_rows,
    highway_rows,
    point_rows,
    queens_rows,
    shorthand_rows,
)
from stages.dedupe.evalset.units import (
    bank_rows,
    listing_unit_rows,
    operator_rows,
    page_rows,
    practice_rows,
    store_rows,
    suite_rows,
    unit_rows,
    venue_named_rows,
)

OUT = Path(__file__).resolve().parents[3] / "tests" / "data" / "dedupe" / "eval.csv"
COLUMNS = ["id", "cluster", "name", "address", "city", "state", "zip", "phone", "website", "email", "category"]
# Round 17: a listing's point. Only round 17's rows carry one; every earlier row leaves both empty.
COLUMNS += ["latitude", "longitude"]


def generate(seed: int = 99173, businesses: int = 700) -> list[dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    for n in range(businesses):
        if rng.random() < 0.05:
            rows.extend(venue_rows(rng, n))
            continue
        b = new_business(rng)
        guide = rng.random() < 0.3
        for i in range(rng.choice([1, 1, 2, 2, 2, 3])):
            rows.append({"cluster": f"b{n}", **listing_row(rng, b, noisy=i > 0, guide=guide and rng.random() < 0.7)})
        roll = rng.random()
        other = dict(b, domain="", phone=b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}")
        if roll < 0.12:  # chain: same name elsewhere (sometimes the same corporate site)
            other.update(
                number=rng.randint(100, 19999), road=rng.choice(ROADS), domain=b["domain"] if rng.random() < 0.5 else ""
            )
        elif roll < 0.2:  # near neighbour: look-alike name a few doors down
            other.update(
                name=b["name"].split()[0] + " " + rng.choice(KINDS[b["category"]]),
                number=b["number"] + rng.choice([2, 4, 6, 10]),
            )
        elif roll < 0.28:  # same building, another suite, other business
            other.update(
                name=f"{rng.choice(HEADS)} {rng.choice(KINDS[rng.choice(list(KINDS))])}",
                suite=str(rng.randint(500, 900)),
            )
        else:
            continue
        for i in range(rng.choice([1, 2])):
            rows.append({"cluster": f"b{n}x", **listing_row(rng, other, noisy=i > 0)})
    rng.shuffle(rows)
    # The classes added in round 6 come from their own random stream and after the shuffle, so the rows
    # above (and the figures measured on them before) stay as they were.
    extra = random.Random(seed * 7919 + 6)
    for n in range(max(1, businesses // 40)):
        rows.extend(highway_rows(extra, n))
        rows.extend(practice_rows(extra, n))
        rows.extend(bank_rows(extra, n))
        rows.extend(queens_rows(extra, n))
    # Round 7's class, from a stream of its own after round 6's rows, so those stay as they were too.
    extra7 = random.Random(seed * 7919 + 7)
    for n in range(max(1, businesses // 40)):
        rows.extend(operator_rows(extra7, n))
    # Round 8's class, from its own stream after round 7's rows.
    extra8 = random.Random(seed * 7919 + 8)
    for n in range(max(1, businesses // 40)):
        rows.extend(suite_rows(extra8, n))
    # Round 9's class, from its own stream after round 8's rows.
    extra9 = random.Random(seed * 7919 + 9)
    for n in range(max(1, businesses // 40)):
        rows.extend(unit_rows(extra9, n))
        rows.extend(store_rows(extra9, n))
    # Round 10's class, from its own stream after round 9's rows.
    extra10 = random.Random(seed * 7919 + 10)
    for n in range(max(1, businesses // 40)):
        rows.extend(bare_rows(extra10, n))
    # Round 11's class, from its own stream after round 10's rows.
    extra11 = random.Random(seed * 7919 + 11)
    for n in range(max(1, businesses // 40)):
        rows.extend(page_rows(extra11, n))
    # Round 12's class, from its own stream after round 11's rows.
    extra12 = random.Random(seed * 7919 + 12)
    for n in range(max(1, businesses // 40)):
        rows.extend(form_rows(extra12, n))
    # Round 13's class, from its own stream after round 12's rows.
    extra13 = random.Random(seed * 7919 + 13)
    hall: set[str] = set()  # the names already in the Ferry Building: one name there is one business
    for n in range(max(1, businesses // 40)):
        rows.extend(shorthand_rows(extra13, n, hall))
    # Round 14's classes, from their own stream after round 13's rows.
    extra14 = random.Random(seed * 7919 + 14)
    for n in range(max(1, businesses // 40)):
        rows.extend(listing_unit_rows(extra14, n))
        rows.extend(glued_city_rows(extra14, n))
        rows.extend(venue_named_rows(extra14, n))
    # Round 16's class, from its own stream after round 14's rows (round 15 added none).
    extra16 = random.Random(seed * 7919 + 16)
    for n in range(max(1, businesses // 40)):
        rows.extend(corner_rows(extra16, n))
    # Round 17's class, from its own stream after round 16's rows.
    extra17 = random.Random(seed * 7919 + 17)
    for n in range(max(1, businesses // 40)):
        rows.extend(point_rows(extra17, n))
    # every row has every column; only round 17's rows carry a point
    return [{"id": f"e{i:05d}", "latitude": "", "longitude": "", **row} for i, row in enumerate(rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=99173)
    parser.add_argument("--businesses", type=int, default=700)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    rows = generate(args.seed, args.businesses)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
