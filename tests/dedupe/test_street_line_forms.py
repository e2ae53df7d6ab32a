"""Round 16: two street-line forms that real listings use and the parser misread, each resolved in both orders
by a fresh engine (pairs written from the form, not taken from a data set).

- a corner written as a second street after the comma, led by an ordinal or a directional ("1931 E Carson St,
  20th St", "2506 E Carson St, S 25th St"): before, the tail was read as a unit or a directional and glued into
  the street's name, so the line differed from the plain one and, without a phone, the two never joined;
- a line without its number, the street and its corner ("Penn Ave, Main St"), or a street whose first word
  usaddress took for a number ("Margaret Morrison St" read as "Morrison St");
- a highway by its own name and its route number ("1568 Simpson US 49" / "1568 Simpson Hwy");
- a floor after the comma ("1 World Trade Center, 107th Floor", read as "worldtradectr107thfloor");
- the street first and its number after the comma (OpenStreetMap's order, "5th Ave, 4600"): before, read as
  number 5 on "4600th Ave", a known line that vetoed the twin at "4600 5th Ave".
"""

import pytest

from stages.dedupe.engine import EntityResolver
from stages.dedupe.record import DedupeInput


def rec(lead_id, name, street, phone="", zip_code=""):
    return DedupeInput(
        lead_id=lead_id,
        name=name,
        source="csv",
        street=street,
        city="Pittsburgh",
        state="PA",
        zip=zip_code,
        phone=phone,
    )


SAME = [
    (("Harbor Press", "1931 E Carson St, 20th St"), ("Harbor Press", "1931 East Carson Street")),
    (("Copper Kettle Steak Co.", "1924 E Carson St, 20th st."), ("Copper Kettle Steak Company", "1924 E. Carson St.")),
    (("Blue Heron Lounge", "2506 E Carson St, S 25th St"), ("Blue Heron Lounge", "2506 East Carson Street")),
    (("Capri Pizza", "820 Amity St, East 9th Ave"), ("Capri Pizza and Bar", "820 Amity Street")),
    (("Union Trust Bank", "5th Ave, 4600"), ("Union Trust Bank", "4600 5th Ave")),
    (("Ohio Freight Corporate Office", "27th Street, 15"), ("Ohio Freight Corporate Office", "15 27th St")),
    (("Union Trust Bank", "5932 Centre Ave"), ("Union Trust Bank", "5932 Center Avenue")),
    # a highway by its own name and its route number ("Simpson US 49" was read as street "49th", type "simpson us")
    (("Cedar Dollar Store", "1568 Simpson US 49", "601-867-6026"), ("Cedar Dollar Store", "1568 Simpson Hwy")),
    # a floor after the comma, which usaddress glued into the street's name after "Center"
    (("Harbor View Grill", "1 World Trade Center, 107th Floor"), ("Harbor View Grill", "1 World Trade Center")),
    # a guide's entry naming the street and its corner, no number, no phone (the bare-listing rule: its street is
    # the other's)
    (("Wilson's Pharmacy", "Penn Ave, Main St"), ("Wilson's Pharmacy", "4101 Penn Avenue")),
    (
        ("Donner House", "Margaret Morrison St, at Carnegie Mellon University"),
        ("Donner House", "5115 Margaret Morrison St"),
    ),
]
APART = [
    # a branch of the name at another number of the street, each form: still two businesses
    (("Union Trust Bank", "5th Ave, 4600"), ("Union Trust Bank", "4620 5th Ave")),
    (("Harbor Press", "1931 E Carson St, 20th St"), ("Harbor Press", "2201 East Carson Street")),
    # the bare entry names another street than the listing: a branch, or another business
    (("Wilson's Pharmacy", "Liberty Ave, Main St"), ("Wilson's Pharmacy", "4101 Penn Avenue")),
]


@pytest.mark.parametrize(("kind", "a", "b"), [("same", a, b) for a, b in SAME] + [("apart", a, b) for a, b in APART])
def test_street_line_forms(kind, a, b):
    for first, second in ((a, b), (b, a)):
        resolver = EntityResolver({})
        x = resolver.resolve(rec("1", *first))
        y = resolver.resolve(rec("2", *second))
        assert (x.entity_id == y.entity_id) == (kind == "same"), (first, second, y.decision, y.probability)
