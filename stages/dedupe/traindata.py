"""Synthetic labelled businesses for fitting the pair model.

Deliberately separate from `evalset` (own vocabulary, templates, noise code and
seed) so the evaluation does not just replay what the model was fitted on.

Besides typos, abbreviations, chains and neighbours, it renders the forms real
directories mix: guide-style listings (no ZIP, state, site or email; the city
as an alias, a neighbourhood, with or without "City", or missing), cross-street
notes, spelled ordinals, suite letters and partial numbers, compound street
names, a second phone line, and venues where several businesses share one
address and one switchboard phone (outlets of one brand among them).
"""

from __future__ import annotations

import random

SURNAMES = [
    "Miller",
    "Garcia",
    "Nguyen",
    "Patel",
    "Kowalski",
    "O'Brien",
    "Schmidt",
    "Rossi",
    "Kim",
    "Haddad",
    "Johnson",
    "Lopez",
    "Okafor",
    "Fischer",
    "Murphy",
    "Chen",
    "Silva",
    "Novak",
    "Ward",
    "Bauer",
    "Reyes",
    "Larsen",
    "Dubois",
    "Moreau",
    "Sato",
    "Ivanov",
    "Brooks",
    "Hayes",
    "Price",
    "Wolfe",
]
TRADES = {
    "plumber": ["Plumbing", "Plumbing & Drain", "Rooter"],
    "hvac": ["Heating & Air", "HVAC", "Climate Control"],
    "dentist": ["Dental", "Family Dentistry", "Dental Care"],
    "restaurant": ["Kitchen", "Bistro", "Grill", "Diner"],
    "salon": ["Hair Studio", "Salon", "Beauty Bar"],
    "roofer": ["Roofing", "Roofing & Gutters"],
    "vet": ["Animal Hospital", "Veterinary Clinic", "Pet Clinic"],
    "auto": ["Auto Repair", "Auto Care", "Garage"],
}
ADJECTIVES = [
    "Golden",
    "Sunrise",
    "Evergreen",
    "Blue Ridge",
    "Harbor",
    "Summit",
    "Liberty",
    "Oak Tree",
    "Red Rock",
    "Silver Lake",
    "Pioneer",
    "Northside",
    "Crescent",
    "Maple Leaf",
    "Highland",
]
STREETS = [
    "Main",
    "Oak",
    "Pine",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lincoln",
    "Park",
    "Lake",
    "Hill",
    "Sunset",
    "Jefferson",
    "Madison",
    "Franklin",
    "Highland",
    "Ventura",
    "Colorado",
    "Second",
    "Third",
    "Fifth",
    "Mission",
    "Eighth",
    "Twelfth",
    "Lake Shore",
    "Bay View",
    "Fair Oaks",
]
NUMERALS = {"Second": "2nd", "Third": "3rd", "Fifth": "5th", "Eighth": "8th", "Twelfth": "12th"}
GLUED = {"Lake Shore": "Lakeshore", "Bay View": "Bayview", "Fair Oaks": "Fairoaks"}
CITY_FORMS = {
    "Denver": ["Denver", "denver", "Capitol Hill", ""],
    "Austin": ["Austin", "austin", "Austin City", ""],
    "Portland": ["Portland", "PDX", "portland", ""],
    "Columbus": ["Columbus", "columbus", ""],
    "Tampa": ["Tampa", "Ybor City", "tampa", ""],
    "Sacramento": ["Sacramento", "Sac", "sacramento", ""],
}
VENUE_HEADS = ["Grand Meridian", "Harborview", "Union Station", "Crystal Pavilion", "Parkside Tower", "Riverside Mall"]
OUTLETS = ["Cafe", "Grill", "Lounge", "Steakhouse", "Spa", "Bar", "Dining Room", "Bakery", "Deli"]
OPERATORS = [
    "Lutheran Social Services",
    "Catholic Charities",
    "Metro YMCA",
    "United Way Partners",
    "County Health Dept",
]
OTHER_TENANTS = ["Noodle Bar", "Shoe Repair", "Nail Studio", "Eye Care", "Tax Services", "Sushi", "Florist", "Bank"]
TYPES = [("St", "Street"), ("Ave", "Avenue"), ("Blvd", "Boulevard"), ("Rd", "Road"), ("Dr", "Drive"), ("Ln", "Lane")]
METROS = [
    ("Denver", "CO", "802", "303"),
    ("Austin", "TX", "787", "512"),
    ("Portland", "OR", "972", "503"),
    ("Columbus", "OH", "432", "614"),
    ("Tampa", "FL", "336", "813"),
    ("Sacramento", "CA", "958", "916"),
]
SUFFIXES = ["LLC", "Inc.", "Co.", "Corp", ""]


def _entity(rng: random.Random, metro: tuple) -> dict:
    vertical = rng.choice(list(TRADES))
    trade = rng.choice(TRADES[vertical])
    style = rng.random()
    if style < 0.4:
        name = f"{rng.choice(SURNAMES)} {trade}"
    elif style < 0.7:
        name = f"{rng.choice(ADJECTIVES)} {trade}"
    elif style < 0.85:
        name = f"{rng.choice(SURNAMES)}'s {trade}"
    else:
        name = f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)} {trade}"
    city, state, zip3, area = metro
    st_name, st_type = rng.choice(STREETS), rng.choice(TYPES)
    slug = "".join(c for c in name.lower() if c.isalnum())[:18]
    return {
        "name": name,
        "number": str(rng.randint(10, 9999)),
        "street": st_name,
        "type": st_type,
        "dir": rng.choice(["", "", "", "N", "S", "E", "W"]),
        "unit": rng.choice(["", "", "", str(rng.randint(1, 40) * 10)]),
        "city": city,
        "state": state,
        "zip": zip3 + f"{rng.randint(1, 99):02d}",
        "phone": f"{area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
        "phone2": f"{area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
        "domain": rng.choice([f"{slug}.com", f"{slug}.net", "", ""]),
        "category": vertical,
        "mailbox": f"{slug}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'yahoo.com', 'aol.com'])}",
    }


def _street_line(rng: random.Random, e: dict, noisy: bool) -> str:
    st_type = e["type"][rng.random() < 0.5] if noisy else e["type"][0]
    direction = (
        {"N": "North", "S": "South", "E": "East", "W": "West"}.get(e["dir"], "")
        if noisy and rng.random() < 0.5
        else e["dir"]
    )
    street, number = e["street"], e["number"]
    if noisy and rng.random() < 0.4:
        street = NUMERALS.get(street, GLUED.get(street, street))
    unit = (rng.choice(["Ste ", "Suite ", "#", "Unit "]) + e["unit"]) if e["unit"] and rng.random() < 0.8 else ""
    if e.get("letter"):  # a suite letter: "410-C", "410C", or the letter alone
        number = (
            rng.choice([f"{number}-{e['letter']}", f"{number}{e['letter']}", e["letter"]])
            if noisy
            else f"{number}-{e['letter']}"
        )
    line = " ".join(p for p in (number, direction, street, st_type) if p) + (f", {unit}" if unit else "")
    if noisy and rng.random() < 0.15:
        line += rng.choice(
            [
                f" between {rng.choice(STREETS)} and {rng.choice(STREETS)}",
                f" (at {rng.choice(STREETS)} St)",
                f" near {rng.choice(STREETS)} Ave",
                f" & {rng.choice(STREETS)}",
            ]
        )
    return line


def _render(rng: random.Random, e: dict, noisy: bool, guide: bool = False) -> dict:
    name = e["name"]
    if noisy:
        roll = rng.random()
        if roll < 0.15:
            name = f"{name} {rng.choice(SUFFIXES)}".strip()
        elif roll < 0.3 and len(name) > 6:
            i = rng.randrange(1, len(name) - 1)
            name = name[:i] + name[i + 1 :]
        elif roll < 0.4:
            name = name.replace("&", "and") if "&" in name else name.upper()
        elif roll < 0.5:
            name = name.split()[0] + " " + name.split()[-1]
        elif roll < 0.58:
            name = f"{name} {rng.choice(['Services', 'Company', 'of ' + e['city'], 'Group'])}"
        elif roll < 0.64 and e.get("operator"):  # the operator's name in front: "Metro YMCA - Oak Tree Dental"
            name = f"{e['operator']} - {name}"
    street = _street_line(rng, e, noisy)
    p = e["phone2"] if noisy and rng.random() < 0.15 else e["phone"]  # a second line (reservations, fax)
    phone = rng.choice(
        [f"({p[:3]}) {p[3:6]}-{p[6:]}", f"{p[:3]}-{p[3:6]}-{p[6:]}", f"{p[:3]}.{p[3:6]}.{p[6:]}", f"+1{p}"]
    )
    website = rng.choice([f"https://www.{e['domain']}/", f"http://{e['domain']}", e["domain"]]) if e["domain"] else ""
    if noisy and rng.random() < 0.2:
        website = "https://www.facebook.com/" + e["name"].replace(" ", "")
    email = f"info@{e['domain']}" if e["domain"] and rng.random() < 0.5 else ""
    if not e["domain"] and e.get("mailbox") and rng.random() < 0.6:
        email = e["mailbox"]
    row = {
        "name": name,
        "address": street,
        "city": e["city"],
        "state": e["state"],
        "zip": e["zip"],
        "phone": phone,
        "website": website,
        "email": email,
        "category": e["category"],
    }
    if noisy:
        for col in ("address", "phone", "website", "email", "zip", "city", "category"):
            if rng.random() < 0.2:
                row[col] = ""
    if guide:  # a city guide: name, street, city, phone, category only
        row.update(zip="", state="", website="", email="", city=rng.choice(CITY_FORMS[e["city"]]))
    return row


def _venue(rng: random.Random, metro: tuple, n: int) -> list[dict]:
    """Several businesses at one address with one switchboard phone: a hotel, a mall, a tower."""
    head = rng.choice(VENUE_HEADS)
    base = _entity(rng, metro)
    tenants = []
    for outlet in rng.sample(OUTLETS, 2) + rng.sample(OTHER_TENANTS, rng.choice([0, 1, 2])):
        name = f"{head} {outlet}" if outlet in OUTLETS else f"{rng.choice(SURNAMES)} {outlet}"
        tenants.append(
            dict(base, name=name, unit="", letter="", domain="", mailbox="", category=rng.choice(list(TRADES)))
        )
    rows = []
    for k, tenant in enumerate(tenants):
        for i in range(rng.choice([1, 1, 2])):
            rows.append({"cluster": f"v{n}_{k}", **_render(rng, tenant, noisy=i > 0, guide=rng.random() < 0.5)})
    return rows


def generate(seed: int, entities: int) -> list[dict]:
    """Rows with a ``cluster`` label: duplicates, chains, neighbours and look-alikes."""
    rng = random.Random(seed)
    rows: list[dict] = []
    for cluster in range(entities):
        metro = rng.choice(METROS)
        if rng.random() < 0.06:
            rows.extend(_venue(rng, metro, cluster))
            continue
        e = _entity(rng, metro)
        if rng.random() < 0.08:
            e["letter"] = rng.choice("ABCD")
        if rng.random() < 0.15:
            e["operator"] = rng.choice(OPERATORS)
        guide = rng.random() < 0.3
        copies = rng.choice([1, 1, 2, 2, 3, 4])
        for i in range(copies):
            rows.append({"cluster": f"c{cluster}", **_render(rng, e, noisy=i > 0, guide=guide and rng.random() < 0.7)})
        roll = rng.random()
        twin = dict(e)
        if roll < 0.15:  # chain branch: same name, other address and phone, maybe same site
            twin.update(
                number=str(rng.randint(10, 9999)),
                street=rng.choice(STREETS),
                phone=e["phone"][:3] + f"{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
            )
        elif roll < 0.25:  # neighbour: similar name next door
            twin.update(
                name=e["name"].split()[0] + " " + rng.choice(sum(TRADES.values(), [])),
                number=str(int(e["number"]) + rng.choice([2, 4, 10])),
                phone=e["phone"][:3] + f"{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
                domain="",
                mailbox="",
            )
        elif roll < 0.32:  # same building, other business
            twin.update(
                name=f"{rng.choice(ADJECTIVES)} {rng.choice(sum(TRADES.values(), []))}",
                unit=str(rng.randint(1, 40) * 10 + 5),
                domain="",
                mailbox="",
                phone=e["phone"][:3] + f"{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
            )
        else:
            continue
        rows.append({"cluster": f"c{cluster}b", **_render(rng, twin, noisy=rng.random() < 0.5, guide=guide)})
    rng.shuffle(rows)
    return [{"id": f"t{i}", **row} for i, row in enumerate(rows)]
