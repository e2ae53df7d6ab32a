"""Classes of listing forms (rounds 6–17): highways, boroughs, spelled and shorthand street lines, glued
cities, corners, bare guide entries, map objects with a point."""

from __future__ import annotations

import math
import random
import zlib

from stages.dedupe.evalset.businesses import (
    FIRST,
    HEADS,
    KINDS,
    LAST,
    OPERATORS,
    PLACES,
    PRACTICES,
    ROADS,
    listing_row,
    new_business,
)

SPELLED_NAMES = [("Twenty-Two", "22"), ("Seventy Nine", "79"), ("Two", "2"), ("Forty-Five", "45"), ("Eleven", "11")]
SPELLED_HOUSES = ["One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten"]
PLAZAS = ["Harbor", "Union", "Market", "Civic", "Gateway"]


def form_rows(rng: random.Random, n: int) -> list[dict]:
    """A business listed plainly and, once or twice, as a guide entry (no ZIP, state or site; the city as an
    alias or missing; sometimes at a second line) whose street line or name is written in a form guides use:
    a cross street after a slash ("412 Maple Ave / Third St."), after "btw.", a suite letter apart from the
    number ("412 B Maple Ave" / "412-B Maple Ave"), a spelled house number ("One Market Plaza"), a plaza's
    name after the line's comma ("412 Maple Ave, Copper Kettle Plaza"), or a number in the name spelled
    ("Twenty-Two Cafe" / "22 Cafe"). Beside it, a tenant of the same street line under its own name and
    phone, and a branch of the same name farther along the road with its own phone: both apart."""
    b = new_business(rng)
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
        row = listing_row(rng, business, noisy=False, guide=True)
        row["address"] = guide_line(business)
        if form == "name":
            row["name"] = business["name"].replace(spelled, digits)
        if rng.random() < 0.3:
            p = business["alt_phone"]
            row["phone"] = f"({p[:3]}) {p[3:6]}-{p[6:]}"
        return {"cluster": cluster, **row}

    rows = [{"cluster": f"f{n}", **listing_row(rng, b, noisy=False)}]
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
    rows.append({"cluster": f"f{n}t", **listing_row(rng, tenant, noisy=False)})
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


def shorthand_rows(rng: random.Random, n: int, hall: set[str]) -> list[dict]:
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
    b = new_business(rng)
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
        row = listing_row(rng, business, noisy=False, guide=guide)
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


def bare_rows(rng: random.Random, n: int) -> list[dict]:
    """A guide's bare entry (the name, perhaps without its kind word or with a branch number, and the city
    and state; no street, no phone) of a business listed in full: one business, in either order. Every other time the
    name has a second branch in the same city, and the bare entry (labelled the first branch's, as a guide
    may mean) says nothing about which: the engine keeps it apart, and the figures count that as missed."""
    b = new_business(rng)
    b.update(suite="", letter="")
    full = {"cluster": f"g{n}", **listing_row(rng, b, noisy=False)}
    head = b["name"].removesuffix(" " + b["kind"]) if rng.random() < 0.4 else b["name"]
    if rng.random() < 0.2:
        head += " #2"
    bare = dict(listing_row(rng, dict(b, name=head), noisy=False), address="", phone="", zip="", website="", email="")
    rows = [full, {"cluster": f"g{n}", **bare}]
    if rng.random() < 0.5:
        branch = dict(b, number=rng.randint(100, 19999), road=rng.choice(ROADS))
        branch["phone"] = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        rows.append({"cluster": f"g{n}b", **listing_row(rng, branch, noisy=False)})
    rng.shuffle(rows)
    return rows


HIGHWAY_FORMS = ["US Hwy {n}", "U.S. Route {n}", "Highway {n}", "US-{n}", "US Highway {n}", "Hwy {n}", "{st} {n}"]
QUEENS_ROADS = ["Springfield Blvd", "Northern Blvd", "Queens Blvd", "Roosevelt Ave", "Jamaica Ave"]


def highway_rows(rng: random.Random, n: int) -> list[dict]:
    """A business on a numbered highway, each listing spelling the road its own way ("US Hwy 1", "U.S. Route 1",
    "Highway 1", "NC 1"); a branch of the same name farther along the road stays apart."""
    b = new_business(rng)
    route, state = rng.choice([1, 9, 30, 66, 101, 287]), b["place"][2]
    rows = []
    for i in range(rng.choice([2, 3])):
        row = listing_row(rng, b, noisy=i > 0)
        if row["address"] or i == 0:
            row["address"] = f"{b['number']} " + rng.choice(HIGHWAY_FORMS).format(n=route, st=state)
        rows.append({"cluster": f"h{n}", **row})
    if rng.random() < 0.5:
        branch = dict(b, number=b["number"] + rng.randint(300, 5000), domain="")
        branch["phone"] = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        row = listing_row(rng, branch, noisy=False)
        row["address"] = f"{branch['number']} " + rng.choice(HIGHWAY_FORMS).format(n=route, st=state)
        rows.append({"cluster": f"h{n}x", **row})
    return rows


def queens_rows(rng: random.Random, n: int) -> list[dict]:
    """A Queens address written with and without its hyphen ("61-03 Springfield Blvd" / "6103 ...")."""
    place = next(p for p in PLACES if p[0] == "New York")
    b = dict(new_business(rng), place=place, letter="", suite="", zip=place[3] + f"{rng.randint(1, 98):02d}")
    b.update(phone=f"{place[4]}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}", alt_phone=f"{place[4]}5550100")
    block, house, road = rng.randint(30, 220), rng.randint(1, 60), rng.choice(QUEENS_ROADS)
    rows = []
    for i in range(2):
        row = listing_row(rng, b, noisy=i > 0)
        row["address"] = f"{block}-{house:02d} {road}" if i == 0 else f"{block}{house:02d} {road}"
        rows.append({"cluster": f"q{n}", **row})
    return rows


STYLE_STATES = {"CA": "Calif.", "IL": "Ill.", "GA": "Ga.", "WA": "Wash.", "NY": "N.Y."}


def glued_city_rows(rng: random.Random, n: int) -> list[dict]:
    """Round 14: a business listed plainly and as a guide entry whose city carries its state, and sometimes the
    ZIP ("New York, NY", "Chicago IL 60614", "Seattle, Wash."), with no ZIP or state of its own and every other
    time no phone: one business. A branch of the name at another line in the same state, written the same way,
    stays apart."""
    b = dict(new_business(rng), letter="", suite="")
    city, _, state, _, _ = b["place"]
    glued = rng.choice([f"{city}, {state}", f"{city} {state} {b['zip']}", f"{city}, {STYLE_STATES[state]}"])
    rows = [{"cluster": f"d{n}c", **listing_row(rng, b, noisy=False)}]
    guide = dict(listing_row(rng, b, noisy=False, guide=True), city=glued)
    if rng.random() < 0.5:
        guide["phone"] = ""
    rows.append({"cluster": f"d{n}c", **guide})
    if rng.random() < 0.5:
        branch = dict(b, number=b["number"] + rng.randint(300, 5000), road=rng.choice(ROADS), domain="")
        branch["phone"] = branch["alt_phone"] = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        other = dict(listing_row(rng, branch, noisy=False, guide=True), city=glued)
        rows.append({"cluster": f"d{n}cb", **other})
    rng.shuffle(rows)
    return rows


NAMED_HIGHWAYS = ["Simpson", "Jefferson Davis", "Veterans Memorial", "Old Spanish", "Cherokee", "Dixie"]


def _th(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def corner_rows(rng: random.Random, n: int) -> list[dict]:
    """Round 16: a business listed plainly and once more with its street line in a form map data and guides use:
    the corner after the comma, led by an ordinal or a directional ("412 Maple Ave, 20th St", "..., S Pico
    Blvd"); the street first and its number after the comma ("Maple Ave, 412", OpenStreetMap's order); the
    street and its corner without a number and without a phone ("Maple Ave, Pico Blvd", a guide's entry); a
    highway by its own name and its route number ("1568 Simpson US 49" / "1568 Simpson Hwy"); or a name that
    carries the street with its type abbreviated ("Maple Ave. Deli" / "Maple Avenue Deli"); that
    listing gives no phone or the business's other line, so the street line and the name carry the match. One
    business each time. A branch of the name at another number of the street (or, beside the number-less
    entry, on another street), with its own phone, stays apart."""
    b = dict(new_business(rng), letter="", suite="", domain="")
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
    rows = [{"cluster": f"c{n}", **listing_row(rng, b, noisy=False)}]
    # the second listing gives no phone, or the business's other line: the street line must carry the match
    second = dict(b, phone=b["alt_phone"]) if rng.random() < 0.5 else b
    other = listing_row(rng, second, noisy=False, guide=form == "numberless" or rng.random() < 0.5)
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
        rows.append({"cluster": f"c{n}b", **listing_row(rng, branch, noisy=False)})
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


def point_rows(rng: random.Random, n: int) -> list[dict]:
    """Round 17: a business listed by a search API with its street line, phone and point, and by a map as an
    object: its name (whole, without its kind word, or with "The" dropped), its point 5 to 80 m away, and no
    street line, phone or ZIP (half the time no city either). One business. Another business in the same
    building (its own name, its own phone, at the same point within 20 m, listed in full or as a map object)
    stays apart; every other time a branch of the business's name, with its own street line and phone,
    150 m to 3 km away, stays apart too (a chain's branches can be close)."""
    b = dict(new_business(rng), suite="", letter="", domain="")
    city = b["place"][0]
    centre = _centre(city)
    home = _moved(centre, rng, 0, 4000)
    rows = [{"cluster": f"l{n}", **_placed(listing_row(rng, b, noisy=False), _moved(home, rng, 0, 15))}]
    form = rng.choice(["whole", "head", "the"])
    name = b["name"]
    if form == "head" and not name.startswith(f"{b['kind']}"):
        name = name.removesuffix(" " + b["kind"])
    elif form == "the":
        name = name.removeprefix("The ")
    mapped = {"name": name, "address": "", "city": city if rng.random() < 0.5 else "", "state": b["place"][2]}
    mapped.update(zip="", phone="", website="", email="", category="")
    rows.append({"cluster": f"l{n}", **_placed(mapped, _moved(home, rng, 5, 80))})
    neighbour = dict(new_business(rng), number=b["number"], road=b["road"], dir=b["dir"], place=b["place"])
    neighbour.update(suite=str(rng.randint(100, 450)), letter="", domain="")
    if neighbour["name"].split()[-1] == b["kind"] or set(neighbour["name"].split()) & set(b["name"].split()):
        neighbour["name"] = f"{rng.choice(FIRST)} & {rng.choice(LAST)} {rng.choice(PRACTICES)}"
    near = listing_row(rng, neighbour, noisy=False)
    if rng.random() < 0.5:  # the neighbour as a map object too
        near.update(address="", phone="", zip="", website="", email="", category="")
    rows.append({"cluster": f"l{n}n", **_placed(near, _moved(home, rng, 0, 20))})
    if rng.random() < 0.5:
        branch = dict(b, number=rng.randint(100, 19999), road=rng.choice(ROADS))
        branch["phone"] = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        far = rng.choice([(150, 400), (400, 3000)])
        rows.append({"cluster": f"l{n}b", **_placed(listing_row(rng, branch, noisy=False), _moved(home, rng, *far))})
    rng.shuffle(rows)
    return rows
