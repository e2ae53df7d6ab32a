"""Synthetic labelled businesses for fitting the pair model.

Deliberately separate from `evalset` (own vocabulary, templates, noise code and
seed) so the evaluation does not just replay what the model was fitted on.
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
]
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
        "domain": rng.choice([f"{slug}.com", f"{slug}.net", "", ""]),
        "category": vertical,
        "mailbox": f"{slug}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'yahoo.com', 'aol.com'])}",
    }


def _render(rng: random.Random, e: dict, noisy: bool) -> dict:
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
    st_type = e["type"][rng.random() < 0.5] if noisy else e["type"][0]
    direction = (
        {"N": "North", "S": "South", "E": "East", "W": "West"}.get(e["dir"], "")
        if noisy and rng.random() < 0.5
        else e["dir"]
    )
    unit = (rng.choice(["Ste ", "Suite ", "#", "Unit "]) + e["unit"]) if e["unit"] and rng.random() < 0.8 else ""
    street = " ".join(p for p in (e["number"], direction, e["street"], st_type) if p) + (f", {unit}" if unit else "")
    p = e["phone"]
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
    return row


def generate(seed: int, entities: int) -> list[dict]:
    """Rows with a ``cluster`` label: duplicates, chains, neighbours and look-alikes."""
    rng = random.Random(seed)
    rows: list[dict] = []
    for cluster in range(entities):
        metro = rng.choice(METROS)
        e = _entity(rng, metro)
        copies = rng.choice([1, 1, 2, 2, 3, 4])
        for i in range(copies):
            rows.append({"cluster": f"c{cluster}", **_render(rng, e, noisy=i > 0)})
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
        rows.append({"cluster": f"c{cluster}b", **_render(rng, twin, noisy=rng.random() < 0.5)})
    rng.shuffle(rows)
    return [{"id": f"t{i}", **row} for i, row in enumerate(rows)]
