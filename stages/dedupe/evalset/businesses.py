"""The evaluation set's businesses and their listings: vocabulary, noise, a listing row, venues."""

from __future__ import annotations

import random

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


def new_business(rng: random.Random) -> dict:
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


def listing_row(rng: random.Random, b: dict, noisy: bool, guide: bool = False) -> dict:
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


def venue_rows(rng: random.Random, n: int) -> list[dict]:
    """One address, one switchboard: the venue's own outlets and independent tenants stay apart."""
    venue = rng.choice(VENUES)
    base = new_business(rng)
    tenants = [f"{venue} {o}" for o in rng.sample(VENUE_OUTLETS, 2)]
    tenants += rng.sample(INDEPENDENTS, rng.choice([1, 2]))
    rows = []
    for k, name in enumerate(dict.fromkeys(tenants)):
        tenant = dict(base, name=name, suite="", letter="", domain="", category="restaurant", kind="")
        for i in range(rng.choice([1, 1, 2])):
            rows.append({"cluster": f"b{n}v{k}", **listing_row(rng, tenant, noisy=i > 0, guide=rng.random() < 0.6)})
    return rows


LAST = ["Garcia", "Okafor", "Lindqvist", "Haddad", "Nakamura", "Brennan", "Castillo", "Petrov", "Osei", "Varga"]
PRACTICES = ["Family Medicine", "Dental Group", "Pediatrics", "Eye Care", "Orthopedics", "Mortgage"]


OPERATORS = ["Harbor Family Services", "Northside Community Association", "Unity Youth League", "Lakeview Charities"]
