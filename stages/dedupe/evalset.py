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
import math
import random
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "tests" / "data" / "dedupe" / "eval.csv"
COLUMNS = ["id", "cluster", "name", "address", "city", "state", "zip", "phone", "website", "email", "category"]
# Round 17: a listing's point. Only round 17's rows carry one; every earlier row leaves both empty.
COLUMNS += ["latitude", "longitude"]
FIRST = ["Tony", "Rosa", "Hank", "Mei", "Omar", "Greta", "Luis", "Priya", "Viktor", "Nadia", "Sal", "Dee", "Arturo"]
HEADS = [
    "Blue Heron",
    "Copper Kettle",
    "Iron Horse",
    "Lucky Star",
    "Green Olive",
    "Old Mill",
    "Bayview",
    "Canyon",
    "Coastal",
    "Lakeside",
    "Westgate",
    "Sycamore",
    "Twin Oaks",
    "Rosewood",
    "Ironwood",
    "Apple Pan",
    "Stone Bridge",
]
KINDS = {
    "restaurant": ["Cafe", "Trattoria", "Taqueria", "Noodle House", "Steakhouse", "Deli", "Pizzeria", "Bakery"],
    "plumber": ["Plumbing Co", "Drain Services", "Plumbing and Rooter"],
    "electrician": ["Electric", "Electrical Contractors"],
    "dentist": ["Dental Group", "Orthodontics", "Smile Studio"],
    "vet": ["Veterinary Hospital", "Pet Care"],
    "locksmith": ["Lock & Key", "Locksmiths"],
    "landscaping": ["Landscaping", "Lawn & Garden", "Tree Service"],
}
ROADS = [
    ("La Cienega", "Blvd", "Boulevard", "Blv."),
    ("Sepulveda", "Blvd", "Boulevard", "Blvd."),
    ("Broadway", "", "", ""),
    ("Maple", "Ave", "Avenue", "Av."),
    ("Fairfax", "Ave", "Avenue", "Ave."),
    ("Pico", "Blvd", "Boulevard", "Bl"),
    ("Third", "St", "Street", "St."),
    ("Ninth", "St", "Street", "St."),
    ("Canyon", "Rd", "Road", "Rd."),
    ("Harbor", "Dr", "Drive", "Dr."),
    ("Juniper", "Ln", "Lane", "Ln."),
    ("Spring", "St", "Street", "Str"),
]
PLACES = [
    ("Los Angeles", ["LA", "L.A.", "los angeles"], "CA", "900", "213"),
    ("West Hollywood", ["W. Hollywood", "WeHo"], "CA", "900", "310"),
    ("Santa Monica", ["Santa Monica", "santa monica"], "CA", "904", "310"),
    ("Chicago", ["Chicago", "chicago"], "IL", "606", "312"),
    ("Atlanta", ["ATL", "atlanta"], "GA", "303", "404"),
    ("Seattle", ["Seattle", "seattle"], "WA", "981", "206"),
]
ORDINALS = {"Third": "3rd", "Ninth": "9th"}
ROADS += [
    ("Lake Shore", "Dr", "Drive", "Dr."),
    ("Twenty-Third", "St", "Street", "St."),
    ("Sea Cliff", "Ave", "Avenue", "Ave."),
]
ORDINALS.update({"Twenty-Third": "23rd"})
JOINED = {"Lake Shore": "Lakeshore", "Sea Cliff": "Seacliff"}
GUIDE_CITY = {
    "Los Angeles": ["Hollywood", "Studio City", "Los Angeles", ""],
    "West Hollywood": ["West Hollywood", "W. Hollywood", ""],
    "Santa Monica": ["Santa Monica", ""],
    "Chicago": ["Chicago", "chicago", ""],
    "Atlanta": ["Atlanta", "Buckhead", ""],
    "Seattle": ["Seattle", ""],
    "New York": ["New York City", "New York", "Manhattan", "NYC", ""],
}
PLACES.append(("New York", ["NYC", "New York City", "Manhattan"], "NY", "100", "212"))
VENUES = ["Bellmont Casino", "Harbor Plaza Hotel", "Union Market Hall", "Meridian Tower", "Galleria Commons"]
VENUE_OUTLETS = ["Cafe", "Steakhouse", "Noodle Bar", "Buffet", "Lobby Bar", "Dining Room", "Sports Book Grill"]
INDEPENDENTS = ["Wing Lei", "Sakura Ramen", "Olive & Vine", "Bluefin Sushi", "Tio Pepe Tapas", "Jade Garden"]
TYPO_KEYS = "qwertyuiopasdfghjklzxcvbnm"


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 6:
        return text
    i = rng.randrange(1, len(text) - 2)
    op = rng.choice(["swap", "drop", "sub", "dup"])
    if op == "swap":
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if op == "drop":
        return text[:i] + text[i + 1 :]
    if op == "dup":
        return text[:i] + text[i] + text[i:]
    return text[:i] + rng.choice(TYPO_KEYS) + text[i + 1 :]


def _business(rng: random.Random) -> dict:
    category = rng.choice(list(KINDS))
    kind = rng.choice(KINDS[category])
    roll = rng.random()
    if roll < 0.35:
        name = f"{rng.choice(FIRST)}'s {kind}"
    elif roll < 0.7:
        name = f"{rng.choice(HEADS)} {kind}"
    elif roll < 0.85:
        name = f"The {rng.choice(HEADS)} {kind}"
    else:
        name = f"{rng.choice(FIRST)} & {rng.choice(FIRST)} {kind}"
    place = rng.choice(PLACES)
    area = place[4]
    slug = "".join(c for c in name.lower().removeprefix("the ") if c.isalnum())[:20]
    return {
        "name": name,
        "number": rng.randint(100, 19999),
        "road": rng.choice(ROADS),
        "dir": rng.choice(["", "", "N", "S", "W"]),
        "alt_phone": f"{area}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}",
        "letter": rng.choice("ABC") if rng.random() < 0.07 else "",
        "suite": rng.choice(["", "", "", "", str(rng.randint(100, 450))]),
        "place": place,
        "zip": place[3] + f"{rng.randint(1, 98):02d}",
        "phone": f"{area}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}",
        "domain": rng.choice([f"{slug}.com", f"{slug}la.com", f"{slug}.us", "", ""]),
        "category": category,
        "kind": kind,
    }


def _name_variant(rng: random.Random, name: str) -> str:
    roll = rng.random()
    if name.startswith("The ") and roll < 0.5:
        return name[4:] + ", The" if rng.random() < 0.5 else name[4:]
    if roll < 0.15:
        return _typo(rng, name)
    if roll < 0.3:
        return (
            name.replace(" & ", " and ").replace(" and ", " & ") if ("&" in name or " and " in name) else name.lower()
        )
    if roll < 0.4:
        return name + rng.choice([" LLC", ", Inc.", " Corp."])
    if roll < 0.5:
        return name.replace("'s", "s")
    return name


def _row(rng: random.Random, b: dict, noisy: bool, guide: bool = False) -> dict:
    road, short, long_, odd = b["road"]
    road_name = ORDINALS.get(road, JOINED.get(road, road)) if noisy and rng.random() < 0.4 else road
    road_type = rng.choice([short, long_, odd]) if noisy else short
    direction = {
        "N": rng.choice(["N", "N.", "North"]),
        "S": rng.choice(["S", "s.", "South"]),
        "W": rng.choice(["W", "W.", "West"]),
    }.get(b["dir"], "")
    number = str(b["number"])
    if b.get("letter"):
        number = (
            rng.choice([f"{number}-{b['letter']}", f"{number}{b['letter']}", b["letter"]])
            if noisy
            else f"{number}-{b['letter']}"
        )
    street = " ".join(x for x in (number, direction, road_name, road_type) if x)
    if noisy and rng.random() < 0.12:
        street += rng.choice(
            [
                f" between {rng.choice(ROADS)[0]} and {rng.choice(ROADS)[0]}",
                f" (near {rng.choice(ROADS)[0]})",
                f" at {rng.choice(ROADS)[0]} St.",
            ]
        )
    if b["suite"] and (not noisy or rng.random() < 0.7):
        street += rng.choice([f" Ste {b['suite']}", f", Suite {b['suite']}", f" #{b['suite']}"])
    p = b["alt_phone"] if noisy and rng.random() < 0.12 else b["phone"]
    phone = rng.choice(
        [
            f"{p[:3]}/{p[3:6]}-{p[6:]}",
            f"({p[:3]}) {p[3:6]}-{p[6:]}",
            f"{p[:3]}-{p[3:6]}-{p[6:]}",
            f"1 {p[:3]} {p[3:6]} {p[6:]}",
        ]
    )
    city_name, aliases, state, _, _ = b["place"]
    website = f"http://www.{b['domain']}" if b["domain"] else ""
    if noisy and b["domain"] and rng.random() < 0.3:
        website = rng.choice(
            [f"{b['domain']}/menu", f"https://{b['domain']}/", "https://www.yelp.com/biz/" + b["domain"]]
        )
    row = {
        "name": _name_variant(rng, b["name"]) if noisy else b["name"],
        "address": street.lower() if noisy and rng.random() < 0.3 else street,
        "city": rng.choice(aliases) if noisy else city_name,
        "state": state,
        "zip": b["zip"],
        "phone": phone,
        "website": website,
        "email": rng.choice([f"hello@{b['domain']}", ""]) if b["domain"] else "",
        "category": b["category"],
    }
    if noisy:
        for column, chance in (
            ("zip", 0.35),
            ("state", 0.2),
            ("phone", 0.15),
            ("website", 0.25),
            ("email", 0.3),
            ("category", 0.3),
            ("address", 0.1),
        ):
            if rng.random() < chance:
                row[column] = ""
        if not row["phone"] and not row["address"] and not row["website"]:
            row["address"] = street
    if guide:
        row.update(zip="", state="", website="", email="", city=rng.choice(GUIDE_CITY.get(city_name, [city_name, ""])))
        if not row["phone"] and not row["city"]:
            row["phone"] = phone
    return row


def _venue_rows(rng: random.Random, n: int) -> list[dict]:
    """One address, one switchboard: the venue's own outlets and independent tenants stay apart."""
    venue = rng.choice(VENUES)
    base = _business(rng)
    tenants = [f"{venue} {o}" for o in rng.sample(VENUE_OUTLETS, 2)]
    tenants += rng.sample(INDEPENDENTS, rng.choice([1, 2]))
    rows = []
    for k, name in enumerate(dict.fromkeys(tenants)):
        tenant = dict(base, name=name, suite="", letter="", domain="", category="restaurant", kind="")
        for i in range(rng.choice([1, 1, 2])):
            rows.append({"cluster": f"b{n}v{k}", **_row(rng, tenant, noisy=i > 0, guide=rng.random() < 0.6)})
    return rows


def generate(seed: int = 99173, businesses: int = 700) -> list[dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    for n in range(businesses):
        if rng.random() < 0.05:
            rows.extend(_venue_rows(rng, n))
            continue
        b = _business(rng)
        guide = rng.random() < 0.3
        for i in range(rng.choice([1, 1, 2, 2, 2, 3])):
            rows.append({"cluster": f"b{n}", **_row(rng, b, noisy=i > 0, guide=guide and rng.random() < 0.7)})
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
            rows.append({"cluster": f"b{n}x", **_row(rng, other, noisy=i > 0)})
    rng.shuffle(rows)
    # The classes added in round 6 come from their own random stream and after the shuffle, so the rows
    # above (and the figures measured on them before) stay as they were.
    extra = random.Random(seed * 7919 + 6)
    for n in range(max(1, businesses // 40)):
        rows.extend(_highway_rows(extra, n))
        rows.extend(_practice_rows(extra, n))
        rows.extend(_bank_rows(extra, n))
        rows.extend(_queens_rows(extra, n))
    # Round 7's class, from a stream of its own after round 6's rows, so those stay as they were too.
    extra7 = random.Random(seed * 7919 + 7)
    for n in range(max(1, businesses // 40)):
        rows.extend(_operator_rows(extra7, n))
    # Round 8's class, from its own stream after round 7's rows.
    extra8 = random.Random(seed * 7919 + 8)
    for n in range(max(1, businesses // 40)):
        rows.extend(_suite_rows(extra8, n))
    # Round 9's class, from its own stream after round 8's rows.
    extra9 = random.Random(seed * 7919 + 9)
    for n in range(max(1, businesses // 40)):
        rows.extend(_unit_rows(extra9, n))
        rows.extend(_store_rows(extra9, n))
    # Round 10's class, from its own stream after round 9's rows.
    extra10 = random.Random(seed * 7919 + 10)
    for n in range(max(1, businesses // 40)):
        rows.extend(_bare_rows(extra10, n))
    # Round 11's class, from its own stream after round 10's rows.
    extra11 = random.Random(seed * 7919 + 11)
    for n in range(max(1, businesses // 40)):
        rows.extend(_page_rows(extra11, n))
    # Round 12's class, from its own stream after round 11's rows.
    extra12 = random.Random(seed * 7919 + 12)
    for n in range(max(1, businesses // 40)):
        rows.extend(_form_rows(extra12, n))
    # Round 13's class, from its own stream after round 12's rows.
    extra13 = random.Random(seed * 7919 + 13)
    hall: set[str] = set()  # the names already in the Ferry Building: one name there is one business
    for n in range(max(1, businesses // 40)):
        rows.extend(_shorthand_rows(extra13, n, hall))
    # Round 14's classes, from their own stream after round 13's rows.
    extra14 = random.Random(seed * 7919 + 14)
    for n in range(max(1, businesses // 40)):
        rows.extend(_listing_unit_rows(extra14, n))
        rows.extend(_glued_city_rows(extra14, n))
        rows.extend(_venue_named_rows(extra14, n))
    # Round 16's class, from its own stream after round 14's rows (round 15 added none).
    extra16 = random.Random(seed * 7919 + 16)
    for n in range(max(1, businesses // 40)):
        rows.extend(_corner_rows(extra16, n))
    # Round 17's class, from its own stream after round 16's rows.
    extra17 = random.Random(seed * 7919 + 17)
    for n in range(max(1, businesses // 40)):
        rows.extend(_point_rows(extra17, n))
    # every row has every column; only round 17's rows carry a point
    return [{"id": f"e{i:05d}", "latitude": "", "longitude": "", **row} for i, row in enumerate(rows)]


SPELLED_NAMES = [("Twenty-Two", "22"), ("Seventy Nine", "79"), ("Two", "2"), ("Forty-Five", "45"), ("Eleven", "11")]
SPELLED_HOUSES = ["One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten"]
PLAZAS = ["Harbor", "Union", "Market", "Civic", "Gateway"]


def _form_rows(rng: random.Random, n: int) -> list[dict]:
    """A business listed plainly and, once or twice, as a guide entry (no ZIP, state or site; the city as an
    alias or missing; sometimes at a second line) whose street line or name is written in a form guides use:
    a cross street after a slash ("412 Maple Ave / Third St."), after "btw.", a suite letter apart from the
    number ("412 B Maple Ave" / "412-B Maple Ave"), a spelled house number ("One Market Plaza"), a plaza's
    name after the line's comma ("412 Maple Ave, Copper Kettle Plaza"), or a number in the name spelled
    ("Twenty-Two Cafe" / "22 Cafe"). Beside it, a tenant of the same street line under its own name and
    phone, and a branch of the same name farther along the road with its own phone: both apart."""
    b = _business(rng)
    b.update(letter="", suite="", dir="")
    form = rng.choice(["slash", "btw", "letter", "house", "comma", "name"])
    if form == "letter":
        b["letter"] = rng.choice("ABCDFGH")
    elif form == "house":
        b.update(number=rng.randint(1, 10), road=(rng.choice(PLAZAS), "Plaza", "Plaza", "Plz."))
    elif form == "name":
        spelled, digits = rng.choice(SPELLED_NAMES)
        b["name"] = f"{spelled} {b['kind']}"
    road, short, _, _ = b["road"]
    cross = rng.choice([r for r in ROADS if r[0] != road])

    def guide_line(business: dict) -> str:
        number, line = business["number"], f"{road} {short}"
        if form == "slash":
            return f"{number} {line} / {cross[0]} {cross[1] or 'St.'}"
        if form == "btw":
            return f"{number} {line} btw. {cross[0]} & {rng.choice([r for r in ROADS if r != cross])[0]}"
        if form == "letter":
            return f"{number} {business['letter']} {line}"
        if form == "house" and business["number"] <= 10:
            return f"{SPELLED_HOUSES[business['number'] - 1]} {line}"
        if form == "comma":
            return f"{number} {line}, {rng.choice(HEADS)} {rng.choice(['Plaza', 'Shopping Center', 'Square'])}"
        return f"{number} {line}"

    def guide(business: dict, cluster: str) -> dict:
        row = _row(rng, business, noisy=False, guide=True)
        row["address"] = guide_line(business)
        if form == "name":
            row["name"] = business["name"].replace(spelled, digits)
        if rng.random() < 0.3:
            p = business["alt_phone"]
            row["phone"] = f"({p[:3]}) {p[3:6]}-{p[6:]}"
        return {"cluster": cluster, **row}

    rows = [{"cluster": f"f{n}", **_row(rng, b, noisy=False)}]
    rows.extend(guide(b, f"f{n}") for _ in range(rng.choice([1, 2])))
    area = b["phone"][:3]
    trade = rng.choice([k for k in KINDS if k != b["category"]])
    tenant = dict(
        b,
        name=f"{rng.choice([h for h in HEADS if h not in b['name']])} {rng.choice(KINDS[trade])}",
        category=trade,
        domain="",
        letter="",
        phone=area + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}",
    )
    rows.append({"cluster": f"f{n}t", **_row(rng, tenant, noisy=False)})
    branch = dict(
        b,
        number=b["number"] + rng.randint(40, 400),
        phone=area + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}",
        alt_phone=area + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}",
    )
    rows.append(guide(branch, f"f{n}b"))
    rng.shuffle(rows)
    return rows


SAN_FRANCISCO = ("San Francisco", ["SF", "San Francisco"], "CA", "941", "415")
# Queens-style numbers are written in Queens: Astoria's streets, its ZIPs and area code, the city as the
# neighbourhood, the borough or missing.
ASTORIA = ("Astoria", ["Astoria", "Queens", "Long Island City"], "NY", "1110", "718")
QUEENS_STREETS = [("Steinway", "St", "Street"), ("Broadway", "", ""), ("Ditmars", "Blvd", "Boulevard")]
SOUTH_ROADS = {"Central Park": (20, 240), "Park Ave": (200, 470)}


def _other_house(rng: random.Random, house: int) -> int:
    """Another two-digit house number on the block, both of its digits different (not a near miss)."""
    return rng.choice([h for h in range(1, 100) if h // 10 != house // 10 and h % 10 != house % 10])


def _shorthand_lines(rng: random.Random, form: str) -> tuple[str, list[str], str]:
    """(the plain line, guide spellings of it, a line of the same name's branch) for a round-13 form."""
    if form == "queens":  # "25-31 Steinway St.": cross street 25, house 31; "25-75 Steinway St." is another house
        block, house = rng.randint(20, 45), rng.randint(1, 99)
        road, short, long_ = rng.choice(QUEENS_STREETS)
        plain = f"{block}-{house:02d} {road} {short}".strip()
        guides = [f"{block}-{house:02d} {road} {long_}".strip(), f"{block}{house:02d} {road} {short}".strip()]
        return plain, guides, f"{block}-{_other_house(rng, house):02d} {road} {short}".strip()
    if form == "bway":
        number = rng.randint(100, 2400)
        other = rng.choice([k for k in range(100, 2401) if abs(k - number) > 10])
        return f"{number} Broadway", [f"{number} Bway", f"{number} B'way", f"{number} Bdwy."], f"{other} Broadway"
    if form == "south":
        road = rng.choice(list(SOUTH_ROADS))
        low, high = SOUTH_ROADS[road]
        number = rng.randrange(low, high + 1, 2)
        other = rng.choice([k for k in range(low, high + 1, 2) if abs(k - number) > 10])
        guides = [f"{number} {road} So.", f"{number} {road} S."]
        return f"{number} {road} South", guides, f"{other} {road} South"
    if form == "pier":  # the Embarcadero's odd piers, 1 to 45
        pier = rng.randrange(1, 44, 2)
        guides = [
            f"{rng.randint(1, 9)} Pier {pier}",
            f"Pier {pier}, Space {rng.choice('ABCDEFGHJ')}-{rng.randint(1, 20)}",
        ]
        return f"Pier {pier}", guides, f"Pier {pier + 2}"
    # the Ferry Building's one line, written with the hall after its comma or shortened; the branch is across
    # the street in one of the Embarcadero Center's four buildings
    guides = ["1 Ferry Building, Marketplace", "1 Ferry Bldg.", f"1 Ferry Building, Marketplace #{rng.randint(2, 60)}"]
    return "1 Ferry Building", guides, f"{rng.randint(1, 4)} Embarcadero Center"


def _shorthand_rows(rng: random.Random, n: int, hall: set[str]) -> list[dict]:
    """A business in Manhattan, Astoria or San Francisco listed plainly and, once or twice, as a guide entry
    whose street line is written the guide's way: a Queens number ("25-31 Steinway Street" / "2531 Steinway
    St"), Broadway shortened ("1619 B'way"), South as "So." ("40 Central Park So."), a pier with and without a
    building number or with a space ("Pier 39, Space A-5"), the Ferry Building with its hall after the comma
    ("1 Ferry Building, Marketplace"; its businesses are food stalls). Beside it, a tenant of the same line
    under its own name and phone, and a branch of the same name at another line with its own phone (a Queens
    number on the same block; farther along Broadway or South; the next pier; the Embarcadero Center): both
    apart. Some sites in New York are also listed, without a phone, behind an operator's name ("Harbor Family
    Services - First Learning Center"): one site."""
    form = rng.choice(["queens", "bway", "south", "pier", "building"])
    b = _business(rng)
    if form == "queens":
        place = ASTORIA
    elif form in ("bway", "south"):
        place = next(p for p in PLACES if p[0] == "New York")
    else:
        place = SAN_FRANCISCO
    area = place[4]
    zip_code = place[3] + (str(rng.randint(2, 6)) if form == "queens" else f"{rng.randint(1, 98):02d}")
    b.update(place=place, zip=zip_code, letter="", suite="", dir="", domain="")
    b.update(phone=f"{area}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}")
    b["alt_phone"] = f"{area}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
    if form == "building":
        name = rng.choice([f"{h} {k}" for h in HEADS for k in KINDS["restaurant"] if f"{h} {k}" not in hall])
        b.update(name=name, category="restaurant", kind=name.split(" ", 1)[1])
        hall.add(name)
    plain, guides, other_line = _shorthand_lines(rng, form)
    operated = form in ("queens", "bway", "south") and rng.random() < 0.25
    if operated:  # a site named by an ordinal and kind words only
        b.update(
            name=f"{rng.choice(['First', 'Second', 'Third'])} {rng.choice(['Start', 'Learning', 'Care'])} "
            f"{rng.choice(['Academy', 'Preschool', 'Child Care'])}",
            category="child_care",
        )

    def listing(business: dict, line: str, cluster: str, guide: bool) -> dict:
        row = _row(rng, business, noisy=False, guide=guide)
        row["address"] = line
        if guide and form == "queens":
            row["city"] = rng.choice(ASTORIA[1] + [""])
        return {"cluster": cluster, **row}

    rows = [listing(b, plain, f"y{n}", guide=False)]
    rows.extend(listing(b, line, f"y{n}", guide=True) for line in rng.sample(guides, rng.choice([1, 2])))
    if operated:
        site = dict(b, name=f"{rng.choice(OPERATORS)} - {b['name']}", phone="", alt_phone="")
        row = listing(site, plain, f"y{n}", guide=False)
        row["phone"] = ""
        rows.append(row)
    # the Ferry Building's tenants are its food hall's; elsewhere a tenant is another trade
    trade = "restaurant" if form == "building" else rng.choice([k for k in KINDS if k != b["category"]])
    names = [f"{h} {k}" for h in HEADS if h not in b["name"] for k in KINDS[trade]]
    tenant = dict(b, name=rng.choice([m for m in names if m not in hall]), category=trade)
    if form == "building":
        hall.add(tenant["name"])
    tenant.update(phone=f"{area}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}")
    rows.append(listing(tenant, plain, f"y{n}t", guide=False))
    branch = dict(b, phone=f"{area}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}")
    branch["alt_phone"] = branch["phone"]
    rows.append(listing(branch, other_line, f"y{n}b", guide=rng.random() < 0.5))
    rng.shuffle(rows)
    return rows


BRAND_KINDS = ["Outfitters", "Pet Supply", "Home Center", "Hardware"]
STORE_UNITS = ["Bike Repair", "Dog Training", "Grooming", "Tech Services", "Key Cutting", "Tool Rental"]
STORE_UNITS += ["Design Studio", "Garden Services"]


def _slug(text: str) -> str:
    return "-".join("".join(c for c in w.lower() if c.isalnum()) for w in text.split() if w.strip("-"))


def _page_rows(rng: random.Random, n: int) -> list[dict]:
    """A chain store and one of its services, each listed on its own page of the brand's store locator
    ("Lakeside Outfitters" at ".../lakeside-outfitters-4411", "Lakeside Outfitters Bike Repair" at ".../bike-repair")
    at the store's address, on its switchboard or a line of its own: two businesses, and only the pages tell (the
    service's words are no kind-of-business or department word). The service again on its page is the service;
    the store again on the brand's home page, without a website, or as "<brand> - <town>" on a page naming the
    town, is the store."""
    b = _business(rng)
    brand = f"{rng.choice(HEADS)} {rng.choice(BRAND_KINDS)}"
    site = "".join(c for c in brand.lower() if c.isalnum()) + ".com"
    town = b["place"][0]
    locator = f"https://stores.{site}/{b['place'][2].lower()}/{_slug(town)}"
    b.update(name=brand, category="retail", letter="", suite="", domain="")

    def listing(business: dict, page: str, cluster: str) -> dict:
        return {"cluster": cluster, **_row(rng, business, noisy=False), "website": page}

    rows = [listing(b, f"{locator}/{_slug(brand)}-{rng.randint(100, 9999)}", f"w{n}")]
    unit = rng.choice(STORE_UNITS)
    own = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
    service = dict(b, name=f"{brand} {unit}", phone=b["phone"] if rng.random() < 0.5 else own)
    for _ in range(rng.choice([1, 2])):
        rows.append(listing(service, f"{locator}/{_slug(unit)}", f"w{n}u"))
    roll = rng.random()
    if roll < 0.35:
        rows.append(listing(b, f"https://www.{site}/", f"w{n}"))
    elif roll < 0.7:
        rows.append(listing(b, "", f"w{n}"))
    else:
        rows.append(listing(dict(b, name=f"{brand} - {town}"), f"{locator}/", f"w{n}"))
    return rows


def _bare_rows(rng: random.Random, n: int) -> list[dict]:
    """A guide's bare entry (the name, perhaps without its kind word or with a branch number, and the city
    and state; no street, no phone) of a business listed in full: one business, in either order. Every other time the
    name has a second branch in the same city, and the bare entry (labelled the first branch's, as a guide
    may mean) says nothing about which: the engine keeps it apart, and the figures count that as missed."""
    b = _business(rng)
    b.update(suite="", letter="")
    full = {"cluster": f"g{n}", **_row(rng, b, noisy=False)}
    head = b["name"].removesuffix(" " + b["kind"]) if rng.random() < 0.4 else b["name"]
    if rng.random() < 0.2:
        head += " #2"
    bare = dict(_row(rng, dict(b, name=head), noisy=False), address="", phone="", zip="", website="", email="")
    rows = [full, {"cluster": f"g{n}", **bare}]
    if rng.random() < 0.5:
        branch = dict(b, number=rng.randint(100, 19999), road=rng.choice(ROADS))
        branch["phone"] = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        rows.append({"cluster": f"g{n}b", **_row(rng, branch, noisy=False)})
    rng.shuffle(rows)
    return rows


HIGHWAY_FORMS = ["US Hwy {n}", "U.S. Route {n}", "Highway {n}", "US-{n}", "US Highway {n}", "Hwy {n}", "{st} {n}"]
LAST = ["Garcia", "Okafor", "Lindqvist", "Haddad", "Nakamura", "Brennan", "Castillo", "Petrov", "Osei", "Varga"]
PRACTICES = ["Family Medicine", "Dental Group", "Pediatrics", "Eye Care", "Orthopedics", "Mortgage"]
CREDENTIALS = {"Mortgage": ["Loan Officer", "NMLS 40211"], "": ["M.D.", "MD", "DDS", "D.M.D.", "PhD"]}
QUEENS_ROADS = ["Springfield Blvd", "Northern Blvd", "Queens Blvd", "Roosevelt Ave", "Jamaica Ave"]


def _highway_rows(rng: random.Random, n: int) -> list[dict]:
    """A business on a numbered highway, each listing spelling the road its own way ("US Hwy 1", "U.S. Route 1",
    "Highway 1", "NC 1"); a branch of the same name farther along the road stays apart."""
    b = _business(rng)
    route, state = rng.choice([1, 9, 30, 66, 101, 287]), b["place"][2]
    rows = []
    for i in range(rng.choice([2, 3])):
        row = _row(rng, b, noisy=i > 0)
        if row["address"] or i == 0:
            row["address"] = f"{b['number']} " + rng.choice(HIGHWAY_FORMS).format(n=route, st=state)
        rows.append({"cluster": f"h{n}", **row})
    if rng.random() < 0.5:
        branch = dict(b, number=b["number"] + rng.randint(300, 5000), domain="")
        branch["phone"] = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        row = _row(rng, branch, noisy=False)
        row["address"] = f"{branch['number']} " + rng.choice(HIGHWAY_FORMS).format(n=route, st=state)
        rows.append({"cluster": f"h{n}x", **row})
    return rows


def _practice_rows(rng: random.Random, n: int) -> list[dict]:
    """A practice and two of its practitioners, each listed on their own at the practice's address and phone
    ("Blue Heron Family Medicine - Rosa Okafor, M.D."): three businesses; a practitioner listed twice, once
    with and once without the practice's name, is one."""
    kind = rng.choice(PRACTICES)
    practice = f"{rng.choice(HEADS)} {kind}"
    b = dict(_business(rng), name=practice, category="mortgage" if kind == "Mortgage" else "doctor", letter="")
    rows = [{"cluster": f"p{n}", **_row(rng, b, noisy=i > 0)} for i in range(rng.choice([1, 2]))]
    for k, first in enumerate(rng.sample(FIRST, 2)):
        person = f"{first} {rng.choice(LAST)}"
        title = rng.choice(CREDENTIALS.get(kind, CREDENTIALS[""]))
        forms = [f"{practice} - {person}, {title}", f"{person}, {title}", f"{person} {title} - {practice}"]
        for i in range(rng.choice([1, 2])):
            row = _row(rng, dict(b, name=forms[0] if i == 0 else rng.choice(forms[1:]), domain=""), noisy=False)
            rows.append({"cluster": f"p{n}_{k}", **row})
    return rows


def _bank_rows(rng: random.Random, n: int) -> list[dict]:
    """A bank listed as "X Bank" and "X Bank & ATM" (one listing) and its ATM on its own ("X Bank ATM", apart)."""
    bank = f"{rng.choice(HEADS)} Bank"
    b = dict(_business(rng), name=bank, category="bank", domain="")
    rows = [{"cluster": f"k{n}", **_row(rng, b, noisy=False)}]
    rows.append({"cluster": f"k{n}", **_row(rng, dict(b, name=bank + rng.choice([" & ATM", " and ATM"])), noisy=True)})
    rows.append({"cluster": f"k{n}a", **_row(rng, dict(b, name=bank + " ATM", category="atm"), noisy=False)})
    return rows


def _queens_rows(rng: random.Random, n: int) -> list[dict]:
    """A Queens address written with and without its hyphen ("61-03 Springfield Blvd" / "6103 ...")."""
    place = next(p for p in PLACES if p[0] == "New York")
    b = dict(_business(rng), place=place, letter="", suite="", zip=place[3] + f"{rng.randint(1, 98):02d}")
    b.update(phone=f"{place[4]}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}", alt_phone=f"{place[4]}5550100")
    block, house, road = rng.randint(30, 220), rng.randint(1, 60), rng.choice(QUEENS_ROADS)
    rows = []
    for i in range(2):
        row = _row(rng, b, noisy=i > 0)
        row["address"] = f"{block}-{house:02d} {road}" if i == 0 else f"{block}{house:02d} {road}"
        rows.append({"cluster": f"q{n}", **row})
    return rows


OPERATORS = ["Harbor Family Services", "Northside Community Association", "Unity Youth League", "Lakeview Charities"]
SITE_KINDS = ["Child Care", "Preschool", "Learning Center", "Day School", "Clinic", "Academy"]


def _operator_rows(rng: random.Random, n: int) -> list[dict]:
    """A site listed under its own name and kind ("Westgate Child Care") and in its operator's directory behind
    the operator's name without the kind ("Harbor Family Services - Westgate"), each with its own phone line:
    one business. Another business at the same address ("Old Mill Preschool", its own line) stays apart."""
    b = _business(rng)
    head, operator = rng.choice(HEADS), rng.choice(OPERATORS)
    b.update(name=f"{head} {rng.choice(SITE_KINDS)}", category="child_care", letter="", suite="", domain="")
    other_phone = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
    rows = [{"cluster": f"o{n}", **_row(rng, b, noisy=False)}]
    site = dict(b, name=f"{operator} - {head}", phone=other_phone)
    rows.append({"cluster": f"o{n}", **_row(rng, site, noisy=rng.random() < 0.5)})
    if rng.random() < 0.5:
        neighbour = next(h for h in rng.sample(HEADS, 3) if h != head)
        phone = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        other = dict(b, name=f"{neighbour} {rng.choice(SITE_KINDS)}", phone=phone)
        rows.append({"cluster": f"o{n}x", **_row(rng, other, noisy=False)})
    return rows


def _suite_rows(rng: random.Random, n: int) -> list[dict]:
    """A business with a toll-free line listed at two suites of one building ("Ste 106" / "Ste 250": a suite
    gone stale or mistyped): one business. A branch of the same name at another street on the same toll-free
    line (a chain's central number) stays apart."""
    b = _business(rng)
    toll_free = rng.choice(["800", "833", "844", "855", "866", "877", "888"]) + f"{rng.randint(201, 989)}"
    b.update(letter="", domain="", phone=toll_free + f"{rng.randint(0, 9999):04d}", suite=str(rng.randint(100, 299)))
    rows = [{"cluster": f"s{n}", **_row(rng, b, noisy=False)}]
    moved = dict(b, suite=str(rng.randint(300, 499)))
    rows.append({"cluster": f"s{n}", **_row(rng, moved, noisy=False)})
    if rng.random() < 0.5:
        branch = dict(b, number=b["number"] + rng.randint(300, 5000), road=rng.choice(ROADS), suite="")
        rows.append({"cluster": f"s{n}x", **_row(rng, branch, noisy=False)})
    return rows


SYSTEMS = ["Health", "Medical Center", "Hospital", "Health System"]
UNITS = ["Vascular Surgery", "Sleep Medicine", "Wound Care", "Infusion Center", "Heart Institute", "Cleft Palate"]
UNITS += ["Hematology Oncology", "Physical Therapy", "Pain Management", "Outpatient Imaging"]


def _unit_rows(rng: random.Random, n: int) -> list[dict]:
    """A health system at its campus, listed once as "X Health" and once with its town ("X Health Springfield"):
    one business. Two of its units listed under its name ("X Health - Vascular Surgery", "X Health Sleep
    Medicine"), at the campus address and at the switchboard or a line of their own: each apart from the
    system and from each other, each written two ways (one unit)."""
    b = _business(rng)
    system = f"{rng.choice(HEADS)} {rng.choice(SYSTEMS)}"
    b.update(name=system, category="hospital", letter="", suite="", domain="")
    rows = [{"cluster": f"u{n}", **_row(rng, b, noisy=False)}]
    rows.append({"cluster": f"u{n}", **_row(rng, dict(b, name=f"{system} {b['place'][0]}"), noisy=False)})
    for k, unit in enumerate(rng.sample(UNITS, 2)):
        own = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        u = dict(b, phone=b["phone"] if rng.random() < 0.5 else own, category="doctor")
        for form in rng.sample([f"{system} - {unit}", f"{system} {unit}"], rng.choice([1, 2])):
            rows.append({"cluster": f"u{n}_{k}", **_row(rng, dict(u, name=form), noisy=False)})
    return rows


STORE_FORMATS = ["Supercenter", "Superstore", "Supermarket"]
STORE_DEPARTMENTS = ["Money Center", "Pharmacy", "Vision Center", "Fuel Station", "Photo Center"]


def _store_rows(rng: random.Random, n: int) -> list[dict]:
    """A big store listed under its format ("Copper Kettle Supercenter") and later under its bare name: one
    business. One of its departments listed under the bare name ("Copper Kettle Money Center"), at the store's
    switchboard or a line of its own, stays apart from both."""
    b = _business(rng)
    brand = rng.choice(HEADS)
    b.update(name=f"{brand} {rng.choice(STORE_FORMATS)}", category="department_store", letter="", suite="", domain="")
    rows = [{"cluster": f"t{n}", **_row(rng, b, noisy=False)}]
    own = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
    department = dict(
        b, name=f"{brand} {rng.choice(STORE_DEPARTMENTS)}", phone=b["phone"] if rng.random() < 0.5 else own
    )
    rows.append({"cluster": f"t{n}d", **_row(rng, department, noisy=False)})
    if rng.random() < 0.5:
        rows.append({"cluster": f"t{n}", **_row(rng, dict(b, name=brand), noisy=False)})
    return rows


SCHOOLS = ["College", "University", "Community College", "State University"]
CAMPUS_UNITS = ["Gym", "Library", "Bookstore", "Chapel", "Admissions Office", "Stadium", "Recreation Center"]
CAMPUS_UNITS += ["Alumni Center", "Police Department", "Career Center"]
PRACTICE_SERVICES = {
    "therapy": ["Physical Therapy", "Speech Therapy", "Occupational Therapy", "Massage Therapy"],
    "pet_services": ["Grooming", "Dog Training", "Pet Boarding"],
    "salon": ["Hair Studio", "Nail Studio", "Lash Studio", "Barber Shop"],
}
PICKUP_FORMS = ["Grocery Pick-up", "Grocery Pickup and Delivery", "Curbside Pick Up", "Online Grocery Pickup"]
COUNTERS = ["Sandwiches", "Salads", "Burgers", "Tacos", "Bagels", "Smoothies", "Dumplings", "Desserts"]


def _listing_unit_rows(rng: random.Random, n: int) -> list[dict]:
    """Round 14: units, services and counters a venue lists one by one under its name, each written one or two
    ways (one business each), apart from the venue and from each other:

    - a college or university ("Blue Heron College", listed twice) and one or two of its units ("Blue Heron
      College - Gym", "Blue Heron College Library") at its campus line, at its switchboard or a line of its own;
    - two services of one practice or store at one line and one phone ("Canyon Physical Therapy" / "Canyon
      Speech Therapy", "Rosewood Grooming" / "Rosewood Dog Training"), each also at a line of its own;
    - a big store under its format and its bare name (one) and its grocery pickup counter ("Coastal Grocery
      Pick-up" / "Coastal Grocery Pickup and Delivery", one department) at the switchboard or its own line;
    - two counters of one shop named by their dishes at one switchboard ("Old Mill Sandwiches" / "Old Mill
      Salads"), each also at a line of its own."""
    form = rng.choice(["campus", "services", "pickup", "counters"])
    b = dict(_business(rng), letter="", suite="", domain="")
    head = rng.choice(HEADS)
    area = b["phone"][:3]

    def own_line() -> str:
        return area + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"

    def listing(business: dict, cluster: str, noisy: bool = False) -> dict:
        return {"cluster": cluster, **_row(rng, business, noisy=noisy)}

    rows: list[dict] = []
    if form == "campus":
        school = f"{head} {rng.choice(SCHOOLS)}"
        b.update(name=school, category="college_university")
        rows.append(listing(b, f"d{n}"))
        again = dict(b, name=school.upper() if rng.random() < 0.5 else school)
        rows.append({"cluster": f"d{n}", **_row(rng, again, noisy=False, guide=True)})
        for k, unit in enumerate(rng.sample(CAMPUS_UNITS, rng.choice([1, 2]))):
            u = dict(b, phone=b["phone"] if rng.random() < 0.5 else own_line(), category="college_unit")
            for name in rng.sample([f"{school} - {unit}", f"{school} {unit}"], rng.choice([1, 2])):
                rows.append(listing(dict(u, name=name), f"d{n}_{k}"))
    elif form == "services":
        trade = rng.choice(list(PRACTICE_SERVICES))
        for k, service in enumerate(rng.sample(PRACTICE_SERVICES[trade], 2)):
            s = dict(b, name=f"{head} {service}", category=trade)
            rows.append(listing(s, f"d{n}_{k}"))
            if rng.random() < 0.5:
                rows.append(listing(dict(s, phone=own_line()), f"d{n}_{k}"))
    elif form == "pickup":
        store = dict(b, name=f"{head} {rng.choice(STORE_FORMATS)}", category="department_store")
        rows.append(listing(store, f"d{n}"))
        if rng.random() < 0.5:
            rows.append(listing(dict(store, name=head), f"d{n}"))
        counter = dict(store, phone=b["phone"] if rng.random() < 0.5 else own_line(), category="grocery")
        for name in rng.sample(PICKUP_FORMS, rng.choice([1, 2])):
            rows.append(listing(dict(counter, name=f"{head} {name}"), f"d{n}_0"))
    else:
        for k, dish in enumerate(rng.sample(COUNTERS, 2)):
            c = dict(b, name=f"{head} {dish}", category="restaurant")
            rows.append(listing(c, f"d{n}_{k}"))
            if rng.random() < 0.5:
                rows.append(listing(dict(c, phone=own_line()), f"d{n}_{k}"))
    rng.shuffle(rows)
    return rows


STYLE_STATES = {"CA": "Calif.", "IL": "Ill.", "GA": "Ga.", "WA": "Wash.", "NY": "N.Y."}


def _glued_city_rows(rng: random.Random, n: int) -> list[dict]:
    """Round 14: a business listed plainly and as a guide entry whose city carries its state, and sometimes the
    ZIP ("New York, NY", "Chicago IL 60614", "Seattle, Wash."), with no ZIP or state of its own and every other
    time no phone: one business. A branch of the name at another line in the same state, written the same way,
    stays apart."""
    b = dict(_business(rng), letter="", suite="")
    city, _, state, _, _ = b["place"]
    glued = rng.choice([f"{city}, {state}", f"{city} {state} {b['zip']}", f"{city}, {STYLE_STATES[state]}"])
    rows = [{"cluster": f"d{n}c", **_row(rng, b, noisy=False)}]
    guide = dict(_row(rng, b, noisy=False, guide=True), city=glued)
    if rng.random() < 0.5:
        guide["phone"] = ""
    rows.append({"cluster": f"d{n}c", **guide})
    if rng.random() < 0.5:
        branch = dict(b, number=b["number"] + rng.randint(300, 5000), road=rng.choice(ROADS), domain="")
        branch["phone"] = branch["alt_phone"] = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        other = dict(_row(rng, branch, noisy=False, guide=True), city=glued)
        rows.append({"cluster": f"d{n}cb", **other})
    rng.shuffle(rows)
    return rows


HOTELS = ["Hotel", "Inn", "Resort & Casino", "Grand Hotel"]
VENUE_FORMS = ["{outlet} ({venue})", "{outlet} (in the {venue})", "{outlet} in the {venue}", "{outlet} - {venue}"]


def _venue_named_rows(rng: random.Random, n: int) -> list[dict]:
    """Round 14: a hotel and a restaurant in it, which a guide lists with the hotel after its name ("Old Mill
    Trattoria (Bayview Hotel)", "... in the Bayview Hotel", "... - Bayview Hotel") at the hotel's switchboard,
    and another listing gives under its own name at its own line or the switchboard: one restaurant, apart from
    the hotel's own listing; every other time a second outlet of the hotel, also named with it, apart."""
    b = dict(_business(rng), letter="", suite="", domain="", category="hotel")
    venue_head = rng.choice(HEADS)
    venue = f"{venue_head} {rng.choice(HOTELS)}"
    rows = [{"cluster": f"d{n}h", **_row(rng, dict(b, name=venue), noisy=False)}]
    heads = [h for h in HEADS if h != venue_head]
    outlets = [f"{h} {k}" for h, k in zip(rng.sample(heads, 2), rng.sample(KINDS["restaurant"], 2))]
    for k, outlet in enumerate(outlets[: rng.choice([1, 2])]):
        named = dict(b, name=rng.choice(VENUE_FORMS).format(outlet=outlet, venue=venue), category="restaurant")
        rows.append({"cluster": f"d{n}h{k}", **_row(rng, named, noisy=False, guide=True)})
        if k == 0:
            own = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
            plain = dict(named, name=outlet, phone=own if rng.random() < 0.5 else b["phone"])
            rows.append({"cluster": f"d{n}h{k}", **_row(rng, plain, noisy=False)})
    rng.shuffle(rows)
    return rows


NAMED_HIGHWAYS = ["Simpson", "Jefferson Davis", "Veterans Memorial", "Old Spanish", "Cherokee", "Dixie"]


def _th(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def _corner_rows(rng: random.Random, n: int) -> list[dict]:
    """Round 16: a business listed plainly and once more with its street line in a form map data and guides use:
    the corner after the comma, led by an ordinal or a directional ("412 Maple Ave, 20th St", "..., S Pico
    Blvd"); the street first and its number after the comma ("Maple Ave, 412", OpenStreetMap's order); the
    street and its corner without a number and without a phone ("Maple Ave, Pico Blvd", a guide's entry); a
    highway by its own name and its route number ("1568 Simpson US 49" / "1568 Simpson Hwy"); or a name that
    carries the street with its type abbreviated ("Maple Ave. Deli" / "Maple Avenue Deli"); that
    listing gives no phone or the business's other line, so the street line and the name carry the match. One
    business each time. A branch of the name at another number of the street (or, beside the number-less
    entry, on another street), with its own phone, stays apart."""
    b = dict(_business(rng), letter="", suite="", domain="")
    form = rng.choice(["corner", "street_first", "numberless", "name", "named_highway"])
    # a name carries an avenue or a boulevard ("St." in a name is read as a saint, as in "St. Regis")
    b["road"] = rng.choice([r for r in ROADS if r[1] in (("Ave", "Blvd") if form == "name" else r[1:2]) and r[1]])
    if form == "named_highway":
        b.update(road=(rng.choice(NAMED_HIGHWAYS), "Hwy", "Highway", "Hwy."), dir="")
    road, short, long_, _ = b["road"]
    direction = {"N": "N", "S": "S", "W": "W"}.get(b["dir"], "")
    line = " ".join(x for x in (direction, road, short) if x)
    if form == "name":
        b["name"] = f"{road} {long_} {b['kind']}"
    rows = [{"cluster": f"c{n}", **_row(rng, b, noisy=False)}]
    # the second listing gives no phone, or the business's other line: the street line must carry the match
    second = dict(b, phone=b["alt_phone"]) if rng.random() < 0.5 else b
    other = _row(rng, second, noisy=False, guide=form == "numberless" or rng.random() < 0.5)
    if second is b:
        other["phone"] = ""
    other["city"] = other["city"] or b["place"][0]  # a lead without a phone or ZIP enters with its city
    cross_road = rng.choice([r for r in ROADS if r[1] and r[0] != road])
    cross = rng.choice(
        [
            f"{_th(rng.randint(2, 60))} {rng.choice(['St', 'St.', 'Street', 'Ave'])}",
            f"{rng.choice(['S', 'N.', 'East', 'W'])} {cross_road[0]} {cross_road[1]}",
        ]
    )
    if form == "corner":
        other["address"] = f"{b['number']} {line}, {cross}"
    elif form == "street_first":
        other["address"] = f"{line}, {b['number']}"
    elif form == "numberless":
        corner = rng.choice([cross, f"{cross_road[0]} {cross_road[1]}"])
        other.update(address=f"{line}, {corner}", phone="")  # a guide's entry: the street and its corner
    elif form == "named_highway":
        route = rng.choice(["US {n}", "Hwy {n}", "Highway {n}", "US Hwy {n}"]).format(n=rng.randint(1, 99))
        other["address"] = f"{b['number']} {road} {route}"
    else:
        other["name"] = f"{road} {short}. {b['kind']}"
    rows.append({"cluster": f"c{n}", **other})
    if rng.random() < 0.5:
        branch = dict(b, number=b["number"] + rng.randint(300, 5000))
        if form == "numberless":  # on a street the entry does not name
            branch["road"] = rng.choice([r for r in ROADS if r[1] and r[0] not in (road, cross_road[0])])
        branch["phone"] = branch["alt_phone"] = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        rows.append({"cluster": f"c{n}b", **_row(rng, branch, noisy=False)})
    rng.shuffle(rows)
    return rows


M_PER_DEG = 111_195.0  # metres per degree of latitude


def _centre(city: str) -> tuple[float, float]:
    """A made-up, fixed centre for a city of `PLACES` (the generator's places are names, not points)."""
    h = zlib.crc32(city.encode())
    return 30 + (h % 1500) / 100, -120 + (h // 1500 % 4000) / 100


def _moved(point: tuple[float, float], rng: random.Random, low: float, high: float) -> tuple[float, float]:
    """A point ``low`` to ``high`` metres from ``point`` in a random direction."""
    metres, angle = rng.uniform(low, high), rng.uniform(0, 2 * math.pi)
    lat, lng = point
    return (
        lat + metres * math.sin(angle) / M_PER_DEG,
        lng + metres * math.cos(angle) / (M_PER_DEG * math.cos(math.radians(lat))),
    )


def _placed(row: dict, point: tuple[float, float]) -> dict:
    return {**row, "latitude": f"{point[0]:.6f}", "longitude": f"{point[1]:.6f}"}


def _point_rows(rng: random.Random, n: int) -> list[dict]:
    """Round 17: a business listed by a search API with its street line, phone and point, and by a map as an
    object: its name (whole, without its kind word, or with "The" dropped), its point 5 to 80 m away, and no
    street line, phone or ZIP (half the time no city either). One business. Another business in the same
    building (its own name, its own phone, at the same point within 20 m, listed in full or as a map object)
    stays apart; every other time a branch of the business's name, with its own street line and phone,
    150 m to 3 km away, stays apart too (a chain's branches can be close)."""
    b = dict(_business(rng), suite="", letter="", domain="")
    city = b["place"][0]
    centre = _centre(city)
    home = _moved(centre, rng, 0, 4000)
    rows = [{"cluster": f"l{n}", **_placed(_row(rng, b, noisy=False), _moved(home, rng, 0, 15))}]
    form = rng.choice(["whole", "head", "the"])
    name = b["name"]
    if form == "head" and not name.startswith(f"{b['kind']}"):
        name = name.removesuffix(" " + b["kind"])
    elif form == "the":
        name = name.removeprefix("The ")
    mapped = {"name": name, "address": "", "city": city if rng.random() < 0.5 else "", "state": b["place"][2]}
    mapped.update(zip="", phone="", website="", email="", category="")
    rows.append({"cluster": f"l{n}", **_placed(mapped, _moved(home, rng, 5, 80))})
    neighbour = dict(_business(rng), number=b["number"], road=b["road"], dir=b["dir"], place=b["place"])
    neighbour.update(suite=str(rng.randint(100, 450)), letter="", domain="")
    if neighbour["name"].split()[-1] == b["kind"] or set(neighbour["name"].split()) & set(b["name"].split()):
        neighbour["name"] = f"{rng.choice(FIRST)} & {rng.choice(LAST)} {rng.choice(PRACTICES)}"
    near = _row(rng, neighbour, noisy=False)
    if rng.random() < 0.5:  # the neighbour as a map object too
        near.update(address="", phone="", zip="", website="", email="", category="")
    rows.append({"cluster": f"l{n}n", **_placed(near, _moved(home, rng, 0, 20))})
    if rng.random() < 0.5:
        branch = dict(b, number=rng.randint(100, 19999), road=rng.choice(ROADS))
        branch["phone"] = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        far = rng.choice([(150, 400), (400, 3000)])
        rows.append({"cluster": f"l{n}b", **_placed(_row(rng, branch, noisy=False), _moved(home, rng, *far))})
    rng.shuffle(rows)
    return rows


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
