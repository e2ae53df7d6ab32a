"""The words the dedupe stage knows: kinds of business, places, departments, services, a venue's parts,
city aliases, and hosts that say nothing about which business a link is.

Each list says in a comment what it is for and which listings taught it; the
tests that use a word are in `normalize`, `features` and `outlets`. Words are
lower case, as `normalize.normalize_name` leaves them.
"""

from __future__ import annotations

# Hosts that list many businesses: a link there says nothing about which business it is.
LISTING_DOMAINS = frozenset(
    {
        "yelp.com",
        "facebook.com",
        "fb.com",
        "fb.me",
        "google.com",
        "goo.gl",
        "g.page",
        "instagram.com",
        "linktr.ee",
        "yellowpages.com",
        "nextdoor.com",
        "twitter.com",
        "x.com",
        "tiktok.com",
        "linkedin.com",
        "youtube.com",
        "tripadvisor.com",
        "foursquare.com",
        "angi.com",
        "angieslist.com",
        "homeadvisor.com",
        "thumbtack.com",
        "houzz.com",
        "bbb.org",
        "mapquest.com",
        "opentable.com",
        "grubhub.com",
        "doordash.com",
        "ubereats.com",
        "seamless.com",
        "superpages.com",
        "manta.com",
        "yahoo.com",
        "bing.com",
        "apple.com",
        "porch.com",
        "zocdoc.com",
        "healthgrades.com",
        "vitals.com",
        "avvo.com",
        "birdeye.com",
        "chamberofcommerce.com",
        "citysearch.com",
        "allmenus.com",
        "menupages.com",
    }
)
# Site builders whose customers share one registrable domain: the host names the business.
HOSTING_DOMAINS = frozenset(
    {"godaddysites.com", "business.site", "wix.com", "weebly.com", "square.site", "wordpress.com"}
)
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "ymail.com",
        "rocketmail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "protonmail.com",
        "proton.me",
        "comcast.net",
        "att.net",
        "sbcglobal.net",
        "verizon.net",
        "gmx.com",
        "gmx.us",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "cox.net",
        "charter.net",
        "bellsouth.net",
        "earthlink.net",
        "optonline.net",
        "frontier.com",
        "juno.com",
        "netzero.net",
        "windstream.net",
        "centurylink.net",
        "q.com",
        "roadrunner.com",
        "rr.com",
    }
)
NAME_SYNONYMS = {
    "bros": "brothers",
    "bro": "brothers",
    "svc": "services",
    "svcs": "services",
    "srvc": "services",
    "ctr": "center",
    "centre": "center",
    "intl": "international",
    "assoc": "associates",
    "assocs": "associates",
    "mfg": "manufacturing",
    "mt": "mount",
    "ft": "fort",
    "dept": "department",
    "hts": "heights",
    # a street named in a business's name ("Murray Ave. Grill", "Scoops on the Blvd."), written out as its
    # other listing writes it; "St." stays "saint" (a saint's name is the commoner reading in names)
    "ave": "avenue",
    "blvd": "boulevard",
    "pkwy": "parkway",
    "hwy": "highway",
    "natl": "national",
    "univ": "university",
    "ste": "saint",
    "st": "saint",
    "dr": "doctor",
    "drs": "doctors",
    "restaurante": "restaurant",
    "rest": "restaurant",
    "grille": "grill",
    "cafe": "cafe",
    "caffe": "cafe",
    "no": "number",
    "1st": "first",  # ordinals in names are spelled out ("5th Street Deli" == "Fifth Street Deli")
    "2nd": "second",
    "3rd": "third",
    "4th": "fourth",
    "5th": "fifth",
    "6th": "sixth",
    "7th": "seventh",
    "8th": "eighth",
    "9th": "ninth",
    "10th": "tenth",
    "jr": "junior",
    "sr": "senior",
}
# Words that say what kind of business it is, not which one: no blocking key is built on them, and
# two names that differ only in them are one business unless both sides add such a word (two outlets).
KIND_WORDS = frozenset(
    {
        "restaurant",
        "cafe",
        "grill",
        "bar",
        "kitchen",
        "deli",
        "delicatessen",
        "pizza",
        "pizzeria",
        "bakery",
        "diner",
        "bistro",
        "house",
        "room",
        "dining",
        "lounge",
        "tavern",
        "pub",
        "club",
        "hotel",
        "inn",
        "steakhouse",
        # Round 12: kinds of eating and drinking place that guides write in the name, as "trattoria" ("Bellini
        # Ristorante" / "Bellini", "Il Fornaio Cucina" / "Il Fornaio").
        "ristorante",
        "cucina",
        "cocina",
        "osteria",
        "enoteca",
        "izakaya",
        "boulangerie",
        "patisserie",
        "creperie",
        "chophouse",
        "smokehouse",
        "roadhouse",
        "eatery",
        "cafeteria",
        "bbq",
        "barbecue",
        "brewery",
        "brewpub",
        "steak",
        "seafood",
        "sushi",
        "taqueria",
        "trattoria",
        "noodle",
        "coffee",
        "tea",
        "shop",
        "store",
        "market",
        "center",
        "services",
        "service",
        "company",
        "co",
        "group",
        "associates",
        "brothers",
        "plumbing",
        "electric",
        "electrical",
        "dental",
        "dentistry",
        "family",
        "care",
        "clinic",
        "hospital",
        "animal",
        "pet",
        "veterinary",
        "auto",
        "repair",
        "salon",
        "studio",
        "spa",
        "law",
        "office",
        "school",
        "academy",
        "learning",
        "child",
        "children",
        "childhood",
        "development",
        "early",
        "head",
        "start",
        "day",
        "daycare",
        "preschool",
        "infant",
        "toddler",
        "church",
        "community",
        "association",
        "buffet",
        "terrace",
        "patio",
        "brasserie",
        "cantina",
        "lobby",
        "sports",
        "book",
        "tapas",
        "ramen",
        "express",
        "gallery",
        "boutique",
        "pharmacy",
        "bank",
        "florist",
        "gym",
        "fitness",
        "theater",
        "theatre",
        "casino",
        "resort",
        "suites",
        # Store formats: "Walmart Supercenter" is the store, as "Kroger Marketplace" is.
        "supercenter",
        "superstore",
        "supermarket",
        # Round 14: the dishes a counter or a food-hall stall is named by ("Midtown Sandwiches" / "Midtown
        # Salads": two counters of one shop at one phone, as "… Cafe" / "… Steakhouse"). Not "wings": it is
        # a word of names ("Wing Lei").
        "sandwich",
        "sandwiches",
        "salads",
        "burgers",
        "tacos",
        "bagels",
        "donuts",
        "juice",
        "smoothies",
        "dumplings",
        "crepes",
        "desserts",
    }
)
PLACE_WORDS = frozenset(
    {
        "chicago",
        "new",
        "york",
        "los",
        "angeles",
        "american",
        "international",
        "national",
        "united",
        "first",
        "public",
        "metropolitan",
        "saint",
        "north",
        "south",
        "east",
        "west",
        "city",
        "park",
        "street",
        "avenue",
    }
)
# Kind words that only say what an organisation is, not which service or outlet: they never tell two
# outlets apart ("Howard Area Community Center" / "Howard Area Community Services").
ORGANISATION_WORDS = frozenset(
    {"center", "service", "services", "association", "house", "community", "family", "group", "company", "co"}
)
# Kind words that describe one service in several ways: two names differing only in words of one family
# are one business written two ways ("Rey Gonzalez Child Care" / "Rey Gonzalez Children Family Center"),
# while two different kinds at one venue ("… Cafe" / "… Steakhouse") are two outlets.
KIND_FAMILIES = (
    frozenset(
        {"child", "children", "care", "daycare", "preschool", "school", "academy", "learning", "early"}
        | {"development", "head", "start", "nursery", "day", "infant", "toddler", "childhood"}
    ),
    frozenset({"dental", "dentistry", "dentist", "orthodontics", "smile", "care", "clinic", "group"}),
    frozenset({"animal", "pet", "veterinary", "vet", "hospital", "clinic", "care"}),
    frozenset({"plumbing", "drain", "rooter", "sewer"}),
    frozenset({"auto", "repair", "care", "garage", "service"}),
    frozenset({"hair", "salon", "studio", "beauty", "spa"}),
)
# A counter, service or unit that big stores, banks, hospitals and campuses list on its own, under the
# venue's name plus these words ("Walmart Pharmacy", "Walmart Fuel Station", "M&T Bank ATM", "Chase
# Mortgage", "Toyota of Erie Parts", "Northwest Medical Center - Emergency Room").
# A name that is another plus such words is a department of it, not the same listing (`features.
# outlet_conflict`). Words a small business is itself named by ("deli", "grooming", "collision") are not
# here: "Joe's Deli" and "Joe's" are one shop, "Sal's Deli & Grocery" and "Sal's Deli" one bodega; nor
# are words that name a whole site as often as a unit ("Olive-Harvey Child Development Laboratory Center" is a college's lab school, "Quinn Chapel" a church).
DEPARTMENT_WORDS = frozenset(
    {"pharmacy", "photo", "vision", "optical", "fuel", "gas", "atm", "mortgage", "lending", "money"}
    | {"pickup", "floral", "parts", "part", "emergency", "imaging", "radiology", "pool", "hearing"}
    | {"vaccination"}
    # A hospital's or clinic group's specialties, each listed under the group's name ("The Iowa Clinic
    # Dermatology - West Des Moines Campus" / "The Iowa Clinic Spine Center - ...").
    | {"cardiology", "dermatology", "neurology", "oncology", "hematology", "orthopedic", "orthopedics"}
    | {"pediatric", "pediatrics", "urology", "nephrology", "gastroenterology", "obstetric", "obstetrics"}
    | {"gynecology", "ophthalmology", "rehabilitation", "spine", "pulmonology", "endocrinology"}
    | {"rheumatology", "audiology", "podiatry"}
)
# Round 14: services that one practice or store lists one by one under its name, each with its own
# qualifier ("Fort Worth Physical Therapy" / "Fort Worth Speech Therapy", "Petco Grooming" / "Petco Dog
# Training"). Unlike `DEPARTMENT_WORDS` they name small businesses too ("Acme Physical Therapy", "Main Street
# Grooming"), so they part two listings only when *both* names add such a service, each its own
# (`outlets.two_services`), never a name against the same name without it.
SERVICE_WORDS = frozenset(
    # therapies of a rehabilitation practice
    {"physical", "occupational", "speech", "massage", "aquatic", "respiratory", "pelvic", "vestibular"}
    # a pet store's or kennel's services
    | {"grooming", "groomer", "training", "trainer", "boarding", "obedience", "dog", "cat"}
    # a salon's services
    | {"nails", "hair", "lash", "lashes", "brows", "waxing", "facials", "tanning", "barber"}
)
# Round 14: the units a college or university lists on its own, each under the school's name ("Santiago
# Canyon College - Gym", "High Point University Chapel and Religious Life", "… Bookstore", "… Library",
# "… Admissions"). They part a listing from its school's only where both names carry a school word
# (`CAMPUS_WORDS`: "Quinn Chapel" is a church) and the unit's name holds one of these words; words that name
# a child-care site a college runs ("Kennedy-King College Child Development Lab Center", "Loyola University
# Chicago - Preschool/Day Care") are not among them: a lab school is a site of its own in the sets' labels.
CAMPUS_WORDS = frozenset({"university", "college"})
CAMPUS_UNIT_WORDS = frozenset(
    {"chapel", "gym", "gymnasium", "library", "bookstore", "stadium", "arena", "fieldhouse", "natatorium"}
    | {"athletic", "athletics", "admission", "admissions", "registrar", "bursar", "recreation", "police"}
    | {"observatory", "planetarium", "museum", "auditorium", "alumni", "counseling", "career", "housing"}
    | {"parking", "dormitory", "ministry", "ministries", "religious", "aquatics", "ballpark"}
)
# Words that name an institution with units of its own: a university's chapel and gym, a health system's
# specialties and pavilions, a school district's kitchens, each listed under the institution's name plus the
# unit's ("High Point University Chapel and Religious Life", "Keck Medicine of USC - Vascular Surgery").
# Two such names that begin with one institution and differ by a unit's own words are two listings
# (`outlets.institution_units`).
INSTITUTION_WORDS = frozenset({"hospital", "health", "medicine", "medical", "district"})
# Round 18: the rooms and facilities a venue's map lists as places of their own, each under the venue's name
# plus the facility's ("Rivers Casino Ballroom", "Bellefield Hall Gym", "Grandview Elementary School Library",
# "Courtyard ... Shadyside Pool"), and the venues that hold them (`outlets.venue_part`): the words of a
# building, an institution or a lodging, not a shop's ("Gold's" / "Gold's Gym" is one gym).
PART_WORDS = frozenset(
    {"ballroom", "pool", "gym", "gymnasium", "library", "auditorium", "playground", "parking"}
    | {"breakroom", "lounge", "lobby", "pavilion", "cafeteria", "natatorium", "fitness", "classroom", "locker"}
)
PART_VENUE_WORDS = frozenset(
    {"hall", "school", "elementary", "academy", "casino", "hotel", "inn", "resort", "motel", "suites", "suite"}
    | {"hospital", "church", "museum", "university", "college", "building"}
    | {"tower", "apartment", "apartments", "mall", "plaza", "arena", "stadium", "library"}
)
# Round 18: kinds of place that cover ground, a park, a cemetery, a campus, or stand in grounds of their own, a
# school, a church, a hall: two sources put their points hundreds of metres apart, at two gates or at the
# middle and an entrance (`features.far_m`).
LARGE_PLACE_WORDS = frozenset(
    {"park", "cemetery", "campus", "university", "college", "golf", "course", "camp", "zoo", "reservoir"}
    | {"arboretum", "garden", "gardens", "stadium", "fairground", "fairgrounds", "playground", "field", "trail"}
    | {"school", "academy", "church", "temple", "synagogue", "mosque", "library", "hall", "hospital"}
)
# Round 18: words a map or a guide adds to a stop's or a station's name, which a map often labels by the
# place alone ("Pennant" / "Pennant T Stop", "Carnegie" / "Carnegie Station"); `features.name_plus_kind`.
TRANSIT_WORDS = frozenset(
    {"station", "stop", "t", "bus", "busway", "platform", "terminal", "light", "rail", "subway", "metro", "stn"}
)
# Words that say where a unit is, not which one ("Piqua Campus", "Main Campus", "North Building").
LOCATION_WORDS = frozenset({"campus", "campu", "main", "building", "bldg", "location", "branch", "tower", "floor"})
# A person's own listing at a practice, bank or agency: professional credentials and roles written into the
# name ("Arkansas Children's - Akilah A. Jefferson, M.D.", "U.S. Bank - Joni Burns - Mortgage Lending
# Officer", "NMLS ID 624740"). Two people at one practice, or a person and the practice, are two listings
# (`outlets.outlet_conflict`).
PRACTITIONER_WORDS = frozenset(
    {"md", "dds", "dmd", "dpm", "dvm", "phd", "lcsw", "lmft", "lpc", "cpa", "esq", "nmls", "fnp", "aprn", "crnp"}
    | {"dnp", "facs", "faap", "facc", "advisor", "adviser", "officer", "agent", "representative"}
)
# Names are compared after `normalize_name` drops a plural s ("sports" → "sport"): list both forms.
KIND_WORDS = KIND_WORDS | {w[:-1] for w in KIND_WORDS if len(w) > 3 and w.endswith("s") and not w.endswith("ss")}
PRACTITIONER_WORDS = PRACTITIONER_WORDS | {"nml"}  # "NMLS" without its plural s
SERVICE_WORDS = SERVICE_WORDS | {
    w[:-1] for w in SERVICE_WORDS if len(w) > 3 and w.endswith("s") and not w.endswith("ss")
}
CAMPUS_UNIT_WORDS = CAMPUS_UNIT_WORDS | {
    w[:-1] for w in CAMPUS_UNIT_WORDS if len(w) > 3 and w.endswith("s") and not w.endswith("ss")
}
GENERIC_WORDS = KIND_WORDS | PLACE_WORDS | {"and", "the", "of", "inc", "llc"}
NAME_STOPWORDS = frozenset(
    {"the", "and", "of", "a", "an", "on", "in"}
)  # "at" stays: "The Terrace at Hotel X" is an outlet
CITY_ALIASES = {
    "la": "los angeles",
    "l a": "los angeles",
    "nyc": "new york",
    "new york city": "new york",
    "sf": "san francisco",
    "s f": "san francisco",
    "st": "saint",
    "ft": "fort",
    "mt": "mount",
    "w": "west",
    "e": "east",
    "n": "north",
    "s": "south",
}
# Boroughs and neighbourhoods that listings give instead of the city (compared as the city).
CITY_PARTS = {
    "manhattan": "new york",
    "brooklyn": "new york",
    "queens": "new york",
    "bronx": "new york",
    "the bronx": "new york",
    "staten island": "new york",
    "harlem": "new york",
    "long island city": "new york",
    "flushing": "new york",
    "astoria": "new york",
    "hollywood": "los angeles",
    "studio city": "los angeles",
    "sherman oaks": "los angeles",
    "encino": "los angeles",
    "van nuys": "los angeles",
    "venice": "los angeles",
    "north hollywood": "los angeles",
    "westwood": "los angeles",
    "brentwood": "los angeles",
    "bel air": "los angeles",
    "silver lake": "los angeles",
    "los feliz": "los angeles",
    "echo park": "los angeles",
    "downtown los angeles": "los angeles",
    "century city": "los angeles",
    "pacific palisades": "los angeles",
    "toluca lake": "los angeles",
    "greenwich village": "new york",
    "upper east side": "new york",
    "upper west side": "new york",
    "lower east side": "new york",
    "tribeca": "new york",
    "soho": "new york",
    "noho": "new york",
    "nolita": "new york",
    "buckhead": "atlanta",
}  # "Midtown", "Chinatown", "Chelsea" are in several cities: left as written
