"""Round 14: a probe of guide-style (restaurant-guide) listing habits, each pair written for the probe from the
habit, not taken from any data set: phones with slashes, extensions or two numbers; a corner instead of a number;
"Restaurant" / "Cafe" added or dropped; the hotel a restaurant is in named in one listing only; the state glued
to the city; a landmark instead of a street line. Each pair is resolved in both orders by a fresh engine."""

import pytest

from stages.dedupe.engine import EntityResolver
from stages.dedupe.record import DedupeInput


def rec(lead_id, name, street, city, phone):
    return DedupeInput(
        lead_id=lead_id, name=name, source="csv", street=street, city=city, phone=phone, category="restaurant"
    )


H = ("2 E. 55th St.", "New York", "212-753-4500")  # a hotel's line and switchboard
SAME = [
    # phones
    (
        ("Aureole", "34 E. 61st St.", "New York", "212/319-1660"),
        ("Aureole", "34 E. 61st St.", "New York City", "212-319-1660"),
    ),
    (
        ("Aureole", "34 E. 61st St.", "New York", "212-319-1660 ext. 2"),
        ("Aureole", "34 E. 61st St.", "New York", "212-319-1660"),
    ),
    (
        ("Aureole", "34 E. 61st St.", "New York", "(212) 319-1660 x12"),
        ("Aureole", "34 E. 61st St.", "New York", "212.319.1660"),
    ),
    (
        ("Aureole", "34 E. 61st St.", "New York", "212 319 1660, 212 319 1661"),
        ("Aureole", "34 E. 61st St.", "New York", "212-319-1660"),
    ),
    (
        ("Aureole", "34 E. 61st St.", "New York", "1-212-319-1660"),
        ("Aureole", "34 East 61st Street", "New York", "212/319-1660"),
    ),
    # corners
    (
        ("Harbor Grill", "Fifth Ave. at 59th St.", "New York", "212-555-0111"),
        ("Harbor Grill", "768 Fifth Ave.", "New York", "212-555-0111"),
    ),
    (
        ("Harbor Grill", "Fifth Ave. & 59th St.", "New York", "212/555-0111"),
        ("Harbor Grill", "768 Fifth Ave.", "New York", "212-555-0111"),
    ),
    (
        ("Harbor Grill", "corner of Fifth Ave. and 59th St.", "New York", "212-555-0111"),
        ("Harbor Grill", "768 5th Ave", "New York", "212 555 0111"),
    ),
    (
        ("Harbor Grill", "768 Fifth Ave. at 59th St.", "New York", "212-555-0111"),
        ("Harbor Grill", "768 5th Avenue", "New York", "212-555-0111"),
    ),
    (
        ("Harbor Grill", "768 Fifth Ave. (at 59th St.)", "New York", "212-555-0111"),
        ("Harbor Grill", "768 5th Ave.", "New York", "212-555-0111"),
    ),
    # Restaurant / Cafe added or dropped
    (
        ("Le Cirque", "455 Madison Ave.", "New York", "212-794-9292"),
        ("Le Cirque Restaurant", "455 Madison Ave.", "New York", "212-303-7788"),
    ),
    (
        ("Cafe Des Artistes", "1 W. 67th St.", "New York", "212-877-3500"),
        ("Des Artistes", "1 W. 67th St.", "New York", "212/877-3500"),
    ),
    (
        ("Cafe Luxembourg", "200 W. 70th St.", "New York", "212-873-7411"),
        ("Luxembourg Cafe", "200 W. 70th St.", "New York", "212-873-7411"),
    ),
    (
        ("Restaurant Daniel", "60 E. 65th St.", "New York", "212-288-0033"),
        ("Daniel", "60 E. 65th St.", "New York", "212-288-0033"),
    ),
    (
        ("Bistro Jules", "65 St. Marks Pl.", "New York", "212-477-5560"),
        ("Jules", "65 St. Marks Pl.", "New York", "212-477-5560"),
    ),
    # the hotel named in one listing only
    (
        ("Lespinasse (St. Regis Hotel)", "2 E. 55th St.", "New York", "212-339-6719"),
        ("Lespinasse", "2 E. 55th St.", "New York", "212-339-6719"),
    ),
    (
        ("Lespinasse", "2 E. 55th St. (in the St. Regis Hotel)", "New York", "212-339-6719"),
        ("Lespinasse", "2 E. 55th St.", "New York", "212-753-4500"),
    ),
    (
        ("Lespinasse in the St. Regis", "2 E. 55th St.", "New York", "212-339-6719"),
        ("Lespinasse", "2 E. 55th St.", "New York", "212-339-6719"),
    ),
    (
        ("Lespinasse", "St. Regis Hotel, 2 E. 55th St.", "New York", "212-339-6719"),
        ("Lespinasse", "2 E. 55th St.", "New York", "212-339-6719"),
    ),
    (
        ("Lespinasse", "2 E. 55th St., St. Regis Hotel", "New York", "212-339-6719"),
        ("Lespinasse", "2 E. 55th St.", "New York", "212-339-6719"),
    ),
    (
        ("Jean Georges", "1 Central Park West (Trump International Hotel)", "New York", "212-299-3900"),
        ("Jean Georges", "1 Central Park W.", "New York", "212-299-3900"),
    ),
    (
        ("Patina at the Hotel Bel-Air", "701 Stone Canyon Rd.", "Los Angeles", "310-472-1211"),
        ("Patina", "701 Stone Canyon Rd.", "Bel Air", "310-472-1211"),
    ),
    # city with the state glued
    (
        ("Aureole", "34 E. 61st St.", "New York, NY", "212-319-1660"),
        ("Aureole", "34 E. 61st St.", "New York", "212-319-1660"),
    ),
    (
        ("Campanile", "624 S. La Brea Ave.", "Los Angeles, CA", ""),
        ("Campanile", "624 S. La Brea Ave.", "Los Angeles", "213-938-1447"),
    ),
    (
        ("Campanile", "624 S. La Brea Ave.", "Los Angeles CA 90036", ""),
        ("Campanile", "624 S. La Brea Ave.", "LA", "213/938-1447"),
    ),
    (
        ("Chez Panisse", "1517 Shattuck Ave.", "Berkeley, Calif.", ""),
        ("Chez Panisse", "1517 Shattuck Ave", "Berkeley", "510-548-5525"),
    ),
    (
        ("Campanile", "624 S. La Brea Ave.", "Hollywood", "213-938-1447"),
        ("Campanile", "624 South La Brea Avenue", "Los Angeles, CA", ""),
    ),
    (("Spago", "1114 Horn Ave.", "West Hollywood, CA", ""), ("Spago", "1114 Horn Ave.", "Los Angeles", "310-652-4025")),
    # no phone on one side, city glued
    (("Spago", "1114 Horn Ave.", "W. Hollywood", ""), ("Spago", "1114 Horn Avenue", "West Hollywood, CA", "")),
    (("Lespinasse (St. Regis Hotel)",) + H, ("Lespinasse",) + H),
    (("Lespinasse (in the St. Regis Hotel)",) + H, ("Lespinasse",) + H),
    (("Lespinasse (St. Regis Hotel)",) + H, ("Lespinasse", "2 E. 55th St.", "New York", "212-339-6719")),
    (("Lespinasse in the St. Regis Hotel",) + H, ("Lespinasse",) + H),
    (("Lespinasse at the St. Regis Hotel",) + H, ("Lespinasse",) + H),
    (("Lespinasse - St. Regis Hotel",) + H, ("Lespinasse",) + H),
    (("Lespinasse (St. Regis Hotel)",) + H, ("Lespinasse at the St. Regis",) + H),
    (("Le Bar Bat (Hotel Wales)",) + H, ("Le Bar Bat",) + H),
    (("The Grill (Four Seasons Hotel)",) + H, ("The Grill",) + H),
    (("Hamburger Hamlet (Beverly Center mall)",) + H, ("Hamburger Hamlet",) + H),
    (("Aqua (Bellagio Casino Resort)",) + H, ("Aqua",) + H),
    (("Harbor Inn",) + H, ("Harbor Inn (formerly Harbor Motel)",) + H),
    (("Ocean Grill (Inn at the Park)",) + H, ("Ocean Grill",) + H),
    (
        ("Daniel", "60 E. 65th St., 2nd Floor", "New York", "212-288-0033"),
        ("Daniel", "60 East 65th Street", "New York", "212-288-0033"),
    ),
    (
        ("Daniel", "60 E. 65th St. (Park & Madison Aves.)", "New York", "212-288-0033"),
        ("Daniel", "60 E. 65th St.", "New York", ""),
    ),
    (("Daniel", "60 E. 65th", "New York", "212-288-0033"), ("Daniel", "60 E. 65th St.", "New York", "212/288-0033")),
    (("Daniel", "60 E. Sixty-Fifth St.", "New York", "212-288-0033"), ("Daniel", "60 E. 65th St.", "New York", "")),
    (
        ("Cafe Luxembourg", "200 W. 70th St. (bet. Amsterdam & West End Aves.)", "New York", "212/873-7411"),
        ("Cafe Luxembourg", "200 W. 70th St.", "New York City", "212-873-7411"),
    ),
    (
        ("Tavern on the Green", "Central Park West at 67th St.", "New York", "212-873-3200"),
        ("Tavern on the Green", "Central Park W. & W. 67th St.", "New York", "212-873-3200"),
    ),
    (
        ("Tavern on the Green", "Central Park West at 67th St.", "New York", "212-873-3200"),
        ("Tavern On The Green", "67 Central Park W", "New York", "212/873-3200"),
    ),
    (
        ("Smith & Wollensky", "797 Third Ave. (at 49th St.)", "New York", "212/753-1530"),
        ("Smith and Wollensky", "797 3rd Ave", "New York, NY", "212-753-1530"),
    ),
    (
        ("Gotham Bar & Grill", "12 E. 12th St.", "New York", "212-620-4020"),
        ("Gotham Bar and Grill", "12 E. 12th St.", "New York", "212/620-4020"),
    ),
    (
        ("Gotham Bar & Grill", "12 E. 12th St.", "New York", "212-620-4020"),
        ("Gotham Grill", "12 E. 12th St.", "New York", "212-620-4020"),
    ),
    (
        ("Union Square Cafe", "21 E. 16th St.", "New York", "212-243-4020"),
        ("Union Square Cafe", "21 E. 16th St.", "", "212-243-4020"),
    ),
    (
        ("Union Square Cafe", "21 E. 16th St.", "New York", "212-243-4020"),
        ("Union Square Cafe", "21 E. 16th St.", "Manhattan", "(212) 243-4020 ext. 1"),
    ),
    (
        ("Le Bernardin", "155 W. 51st St.", "New York", "212-489-1515"),
        ("Le Bernardin", "155 W. 51st St. (bet. 6th & 7th Aves.)", "New York", "212-554-1515"),
    ),
    (
        ("Grand Central Oyster Bar", "Grand Central Terminal, Lower Level", "New York", "212-490-6650"),
        ("Grand Central Oyster Bar", "89 E. 42nd St.", "New York", "212-490-6650"),
    ),
    (
        ("Spago", "1114 Horn Ave.", "West Hollywood", "310/652-4025"),
        ("Spago", "1114 Horn Ave.", "Los Angeles", "310-652-4025"),
    ),
    (
        ("Patina", "5955 Melrose Ave.", "Los Angeles", "213/467-1108"),
        ("Patina Restaurant", "5955 Melrose Ave.", "Hollywood", "213-467-1108"),
    ),
    (
        ("Arnie Morton's of Chicago", "435 S. La Cienega Blvd.", "Los Angeles", "310/246-1501"),
        ("Arnie Morton's", "435 S. La Cienega Blvd.", "L.A.", "310-246-1501"),
    ),
]
APART = [
    (
        ("Lespinasse (St. Regis Hotel)", "2 E. 55th St.", "New York", "212-753-4500"),
        ("St. Regis Hotel", "2 E. 55th St.", "New York", "212-753-4500"),
    ),
    (
        ("Patina at the Hotel Bel-Air", "701 Stone Canyon Rd.", "Los Angeles", "310-472-1211"),
        ("Hotel Bel-Air", "701 Stone Canyon Rd.", "Los Angeles", "310-472-1211"),
    ),
    (
        ("Harbor Grill", "Fifth Ave. at 59th St.", "New York", "212-555-0111"),
        ("Harbor Grill", "Fifth Ave. at 12th St.", "New York", "212-555-0999"),
    ),
    (
        ("Cafe Boulud", "20 E. 76th St.", "New York", "212-772-2600"),
        ("Bar Boulud", "1900 Broadway", "New York", "212-595-0303"),
    ),
    (
        ("The Cafe at the Plaza", "768 Fifth Ave.", "New York", "212-759-3000"),
        ("The Oak Room at the Plaza", "768 Fifth Ave.", "New York", "212-759-3000"),
    ),
    (
        ("Aureole", "34 E. 61st St.", "New York, NY", "212-319-1660"),
        ("Aureole", "3950 Las Vegas Blvd. S.", "Las Vegas, NV", "702-632-7401"),
    ),
    (("Lespinasse (St. Regis Hotel)",) + H, ("St. Regis Hotel",) + H),
    (("Lespinasse (in the St. Regis Hotel)",) + H, ("The St. Regis",) + H),
    (("Lespinasse in the St. Regis Hotel",) + H, ("St. Regis Hotel",) + H),
    (("Lespinasse at the St. Regis Hotel",) + H, ("St. Regis Hotel",) + H),
    (("Lespinasse - St. Regis Hotel",) + H, ("St. Regis Hotel",) + H),
    (("The Grill (Four Seasons Hotel)",) + H, ("Four Seasons Hotel",) + H),
    (("The Grill (Four Seasons Hotel)",) + H, ("The Bar (Four Seasons Hotel)",) + H),
    (("Aqua (Bellagio Casino Resort)",) + H, ("Bellagio Casino Resort",) + H),
    (("Ocean Grill (Inn at the Park)",) + H, ("Inn at the Park",) + H),
    (
        ("Daniel", "60 E. 65th St.", "New York", "212-288-0033"),
        ("Cafe Boulud", "20 E. 76th St.", "New York", "212-772-2600"),
    ),
    (
        ("Gotham Bar & Grill", "12 E. 12th St.", "New York", "212-620-4020"),
        ("Gotham Pizza", "144 Ninth Ave.", "New York", "212-302-0000"),
    ),
    (
        ("Morton's of Chicago", "1050 Connecticut Ave.", "Washington, DC", "202-955-5997"),
        ("Morton's of Chicago", "3251 Prospect St.", "Washington, D.C.", "202-342-6258"),
    ),
]


@pytest.mark.parametrize(("kind", "a", "b"), [("same", a, b) for a, b in SAME] + [("apart", a, b) for a, b in APART])
def test_guide_habits(kind, a, b):
    for first, second in ((a, b), (b, a)):
        resolver = EntityResolver({})
        x = resolver.resolve(rec("1", *first))
        y = resolver.resolve(rec("2", *second))
        assert (x.entity_id == y.entity_id) == (kind == "same"), (first, second, y.decision, y.probability)
