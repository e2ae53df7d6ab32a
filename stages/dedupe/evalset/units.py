"""Classes of units and outlets (rounds 6–14): practitioners, banks, operators' sites, suites, an institution's
units, a store's departments, unit pages, services and counters, venues named in a listing."""

from __future__ import annotations

import random

from stages.dedupe.evalset.businesses import (
    FIRST,
    HEADS,
    KINDS,
    LAST,
    OPERATORS,
    PRACTICES,
    ROADS,
    listing_row,
    new_business,
)

BRAND_KINDS = ["Outfitters", "Pet Supply", "Home Center", "Hardware"]
STORE_UNITS = ["Bike Repair", "Dog Training", "Grooming", "Tech Services", "Key Cutting", "Tool Rental"]
STORE_UNITS += ["Design Studio", "Garden Services"]


def _slug(text: str) -> str:
    return "-".join("".join(c for c in w.lower() if c.isalnum()) for w in text.split() if w.strip("-"))


def page_rows(rng: random.Random, n: int) -> list[dict]:
    """A chain store and one of its services, each listed on its own page of the brand's store locator
    ("Lakeside Outfitters" at ".../lakeside-outfitters-4411", "Lakeside Outfitters Bike Repair" at ".../bike-repair")
    at the store's address, on its switchboard or a line of its own: two businesses, and only the pages tell (the
    service's words are no kind-of-business or department word). The service again on its page is the service;
    the store again on the brand's home page, without a website, or as "<brand> - <town>" on a page naming the
    town, is the store."""
    b = new_business(rng)
    brand = f"{rng.choice(HEADS)} {rng.choice(BRAND_KINDS)}"
    site = "".join(c for c in brand.lower() if c.isalnum()) + ".com"
    town = b["place"][0]
    locator = f"https://stores.{site}/{b['place'][2].lower()}/{_slug(town)}"
    b.update(name=brand, category="retail", letter="", suite="", domain="")

    def listing(business: dict, page: str, cluster: str) -> dict:
        return {"cluster": cluster, **listing_row(rng, business, noisy=False), "website": page}

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


CREDENTIALS = {"Mortgage": ["Loan Officer", "NMLS 40211"], "": ["M.D.", "MD", "DDS", "D.M.D.", "PhD"]}


def practice_rows(rng: random.Random, n: int) -> list[dict]:
    """A practice and two of its practitioners, each listed on their own at the practice's address and phone
    ("Blue Heron Family Medicine - Rosa Okafor, M.D."): three businesses; a practitioner listed twice, once
    with and once without the practice's name, is one."""
    kind = rng.choice(PRACTICES)
    practice = f"{rng.choice(HEADS)} {kind}"
    b = dict(new_business(rng), name=practice, category="mortgage" if kind == "Mortgage" else "doctor", letter="")
    rows = [{"cluster": f"p{n}", **listing_row(rng, b, noisy=i > 0)} for i in range(rng.choice([1, 2]))]
    for k, first in enumerate(rng.sample(FIRST, 2)):
        person = f"{first} {rng.choice(LAST)}"
        title = rng.choice(CREDENTIALS.get(kind, CREDENTIALS[""]))
        forms = [f"{practice} - {person}, {title}", f"{person}, {title}", f"{person} {title} - {practice}"]
        for i in range(rng.choice([1, 2])):
            row = listing_row(rng, dict(b, name=forms[0] if i == 0 else rng.choice(forms[1:]), domain=""), noisy=False)
            rows.append({"cluster": f"p{n}_{k}", **row})
    return rows


def bank_rows(rng: random.Random, n: int) -> list[dict]:
    """A bank listed as "X Bank" and "X Bank & ATM" (one listing) and its ATM on its own ("X Bank ATM", apart)."""
    bank = f"{rng.choice(HEADS)} Bank"
    b = dict(new_business(rng), name=bank, category="bank", domain="")
    rows = [{"cluster": f"k{n}", **listing_row(rng, b, noisy=False)}]
    rows.append(
        {"cluster": f"k{n}", **listing_row(rng, dict(b, name=bank + rng.choice([" & ATM", " and ATM"])), noisy=True)}
    )
    rows.append({"cluster": f"k{n}a", **listing_row(rng, dict(b, name=bank + " ATM", category="atm"), noisy=False)})
    return rows


SITE_KINDS = ["Child Care", "Preschool", "Learning Center", "Day School", "Clinic", "Academy"]


def operator_rows(rng: random.Random, n: int) -> list[dict]:
    """A site listed under its own name and kind ("Westgate Child Care") and in its operator's directory behind
    the operator's name without the kind ("Harbor Family Services - Westgate"), each with its own phone line:
    one business. Another business at the same address ("Old Mill Preschool", its own line) stays apart."""
    b = new_business(rng)
    head, operator = rng.choice(HEADS), rng.choice(OPERATORS)
    b.update(name=f"{head} {rng.choice(SITE_KINDS)}", category="child_care", letter="", suite="", domain="")
    other_phone = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
    rows = [{"cluster": f"o{n}", **listing_row(rng, b, noisy=False)}]
    site = dict(b, name=f"{operator} - {head}", phone=other_phone)
    rows.append({"cluster": f"o{n}", **listing_row(rng, site, noisy=rng.random() < 0.5)})
    if rng.random() < 0.5:
        neighbour = next(h for h in rng.sample(HEADS, 3) if h != head)
        phone = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        other = dict(b, name=f"{neighbour} {rng.choice(SITE_KINDS)}", phone=phone)
        rows.append({"cluster": f"o{n}x", **listing_row(rng, other, noisy=False)})
    return rows


def suite_rows(rng: random.Random, n: int) -> list[dict]:
    """A business with a toll-free line listed at two suites of one building ("Ste 106" / "Ste 250": a suite
    gone stale or mistyped): one business. A branch of the same name at another street on the same toll-free
    line (a chain's central number) stays apart."""
    b = new_business(rng)
    toll_free = rng.choice(["800", "833", "844", "855", "866", "877", "888"]) + f"{rng.randint(201, 989)}"
    b.update(letter="", domain="", phone=toll_free + f"{rng.randint(0, 9999):04d}", suite=str(rng.randint(100, 299)))
    rows = [{"cluster": f"s{n}", **listing_row(rng, b, noisy=False)}]
    moved = dict(b, suite=str(rng.randint(300, 499)))
    rows.append({"cluster": f"s{n}", **listing_row(rng, moved, noisy=False)})
    if rng.random() < 0.5:
        branch = dict(b, number=b["number"] + rng.randint(300, 5000), road=rng.choice(ROADS), suite="")
        rows.append({"cluster": f"s{n}x", **listing_row(rng, branch, noisy=False)})
    return rows


SYSTEMS = ["Health", "Medical Center", "Hospital", "Health System"]
UNITS = ["Vascular Surgery", "Sleep Medicine", "Wound Care", "Infusion Center", "Heart Institute", "Cleft Palate"]
UNITS += ["Hematology Oncology", "Physical Therapy", "Pain Management", "Outpatient Imaging"]


def unit_rows(rng: random.Random, n: int) -> list[dict]:
    """A health system at its campus, listed once as "X Health" and once with its town ("X Health Springfield"):
    one business. Two of its units listed under its name ("X Health - Vascular Surgery", "X Health Sleep
    Medicine"), at the campus address and at the switchboard or a line of their own: each apart from the
    system and from each other, each written two ways (one unit)."""
    b = new_business(rng)
    system = f"{rng.choice(HEADS)} {rng.choice(SYSTEMS)}"
    b.update(name=system, category="hospital", letter="", suite="", domain="")
    rows = [{"cluster": f"u{n}", **listing_row(rng, b, noisy=False)}]
    rows.append({"cluster": f"u{n}", **listing_row(rng, dict(b, name=f"{system} {b['place'][0]}"), noisy=False)})
    for k, unit in enumerate(rng.sample(UNITS, 2)):
        own = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        u = dict(b, phone=b["phone"] if rng.random() < 0.5 else own, category="doctor")
        for form in rng.sample([f"{system} - {unit}", f"{system} {unit}"], rng.choice([1, 2])):
            rows.append({"cluster": f"u{n}_{k}", **listing_row(rng, dict(u, name=form), noisy=False)})
    return rows


STORE_FORMATS = ["Supercenter", "Superstore", "Supermarket"]
STORE_DEPARTMENTS = ["Money Center", "Pharmacy", "Vision Center", "Fuel Station", "Photo Center"]


def store_rows(rng: random.Random, n: int) -> list[dict]:
    """A big store listed under its format ("Copper Kettle Supercenter") and later under its bare name: one
    business. One of its departments listed under the bare name ("Copper Kettle Money Center"), at the store's
    switchboard or a line of its own, stays apart from both."""
    b = new_business(rng)
    brand = rng.choice(HEADS)
    b.update(name=f"{brand} {rng.choice(STORE_FORMATS)}", category="department_store", letter="", suite="", domain="")
    rows = [{"cluster": f"t{n}", **listing_row(rng, b, noisy=False)}]
    own = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
    department = dict(
        b, name=f"{brand} {rng.choice(STORE_DEPARTMENTS)}", phone=b["phone"] if rng.random() < 0.5 else own
    )
    rows.append({"cluster": f"t{n}d", **listing_row(rng, department, noisy=False)})
    if rng.random() < 0.5:
        rows.append({"cluster": f"t{n}", **listing_row(rng, dict(b, name=brand), noisy=False)})
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


def listing_unit_rows(rng: random.Random, n: int) -> list[dict]:
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
    b = dict(new_business(rng), letter="", suite="", domain="")
    head = rng.choice(HEADS)
    area = b["phone"][:3]

    def own_line() -> str:
        return area + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"

    def listing(business: dict, cluster: str, noisy: bool = False) -> dict:
        return {"cluster": cluster, **listing_row(rng, business, noisy=noisy)}

    rows: list[dict] = []
    if form == "campus":
        school = f"{head} {rng.choice(SCHOOLS)}"
        b.update(name=school, category="college_university")
        rows.append(listing(b, f"d{n}"))
        again = dict(b, name=school.upper() if rng.random() < 0.5 else school)
        rows.append({"cluster": f"d{n}", **listing_row(rng, again, noisy=False, guide=True)})
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


HOTELS = ["Hotel", "Inn", "Resort & Casino", "Grand Hotel"]
VENUE_FORMS = ["{outlet} ({venue})", "{outlet} (in the {venue})", "{outlet} in the {venue}", "{outlet} - {venue}"]


def venue_named_rows(rng: random.Random, n: int) -> list[dict]:
    """Round 14: a hotel and a restaurant in it, which a guide lists with the hotel after its name ("Old Mill
    Trattoria (Bayview Hotel)", "... in the Bayview Hotel", "... - Bayview Hotel") at the hotel's switchboard,
    and another listing gives under its own name at its own line or the switchboard: one restaurant, apart from
    the hotel's own listing; every other time a second outlet of the hotel, also named with it, apart."""
    b = dict(new_business(rng), letter="", suite="", domain="", category="hotel")
    venue_head = rng.choice(HEADS)
    venue = f"{venue_head} {rng.choice(HOTELS)}"
    rows = [{"cluster": f"d{n}h", **listing_row(rng, dict(b, name=venue), noisy=False)}]
    heads = [h for h in HEADS if h != venue_head]
    outlets = [f"{h} {k}" for h, k in zip(rng.sample(heads, 2), rng.sample(KINDS["restaurant"], 2))]
    for k, outlet in enumerate(outlets[: rng.choice([1, 2])]):
        named = dict(b, name=rng.choice(VENUE_FORMS).format(outlet=outlet, venue=venue), category="restaurant")
        rows.append({"cluster": f"d{n}h{k}", **listing_row(rng, named, noisy=False, guide=True)})
        if k == 0:
            own = b["phone"][:3] + f"{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
            plain = dict(named, name=outlet, phone=own if rng.random() < 0.5 else b["phone"])
            rows.append({"cluster": f"d{n}h{k}", **listing_row(rng, plain, noisy=False)})
    rng.shuffle(rows)
    return rows
