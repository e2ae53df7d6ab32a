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
from collections.abc import Callable
from functools import partial
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
    # The classes added from round 6 on come after the shuffle, each round's from a random stream of its own, so
    # the rows before them (and the figures measured on those) stay as they were when a round is added.
    hall: set[str] = set()  # round 13: the names already in the Ferry Building; one name there is one business
    classes: dict[int, tuple[Callable[[random.Random, int], list[dict]], ...]] = {
        6: (highway_rows, practice_rows, bank_rows, queens_rows),
        7: (operator_rows,),
        8: (suite_rows,),
        9: (unit_rows, store_rows),
        10: (bare_rows,),
        11: (page_rows,),
        12: (form_rows,),
        13: (partial(shorthand_rows, hall=hall),),
        14: (listing_unit_rows, glued_city_rows, venue_named_rows),
        16: (corner_rows,),  # round 15 added none
        17: (point_rows,),
    }
    for round_no, makers in classes.items():  # each round's own stream, after the earlier rounds' rows
        stream = random.Random(seed * 7919 + round_no)
        for n in range(max(1, businesses // 40)):
            for make in makers:
                rows.extend(make(stream, n))
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
