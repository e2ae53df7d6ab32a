"""Geography of the simulated world: ZIP -> city, state, area codes, streets.

Sixteen ZIPs are known in detail (the demo's three plus a spread across
states). Any other ZIP resolves through its 3-digit prefix: to the known ZIP
sharing that prefix, else to the state's largest city. A prefix no state uses
is an unknown location, as it would be for the real search APIs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


class UnknownLocation(ValueError):
    """The ZIP does not resolve to a place."""


@dataclass(frozen=True)
class Place:
    zip: str
    city: str
    state: str
    lat: float
    lng: float
    area_codes: tuple[str, ...]
    place_words: tuple[str, ...]  # used in business names ("Yakima Valley Heating & Air")
    streets: tuple[str, ...]


# zip|city|state|lat|lng|area codes|name words|streets
_KNOWN = """
10002|New York|NY|40.7157|-73.9863|212 646 917|Lower East Side/Manhattan/Delancey/Bowery/Empire State/Chinatown|Delancey St/Grand St/Essex St/Orchard St/Clinton St/E Broadway/Allen St/Rivington St
98908|Yakima|WA|46.6021|-120.5990|509|Yakima/Yakima Valley/Cascade/West Valley/Central Washington/Apple Valley|Summitview Ave/Tieton Dr/W Nob Hill Blvd/S 40th Ave/S 72nd Ave/Englewood Ave/W Washington Ave
46032|Carmel|IN|39.9784|-86.1180|317|Carmel/Hamilton County/Monon/Clay Township/Westfield/Central Indiana|E Carmel Dr/Rangeline Rd/W Main St/E 116th St/Guilford Rd/Keystone Way/W 136th St
78704|Austin|TX|30.2430|-97.7690|512 737|Austin/South Austin/Barton Creek/Zilker/Lone Star/Capital City|S Congress Ave/S Lamar Blvd/S 1st St/Barton Springs Rd/W Oltorf St
97214|Portland|OR|45.5147|-122.6430|503 971|Portland/Rose City/Hawthorne/Willamette/Cascade/Eastside|SE Hawthorne Blvd/SE Belmont St/SE Division St/SE Morrison St/SE 39th Ave
80205|Denver|CO|39.7589|-104.9663|303 720|Denver/Mile High/Front Range/Five Points/Rocky Mountain/Colorado|E Colfax Ave/Downing St/E 38th Ave/York St/Park Ave W
33139|Miami Beach|FL|25.7826|-80.1340|305 786|Miami Beach/South Beach/Biscayne/Ocean/Sunshine/Coastal|Collins Ave/Washington Ave/Alton Rd/Lincoln Rd/West Ave
60614|Chicago|IL|41.9227|-87.6533|773 312|Chicago/Lincoln Park/Windy City/Lakeview/North Side/Lakeshore|N Clark St/N Halsted St/W Fullerton Ave/N Lincoln Ave/W Armitage Ave
30307|Atlanta|GA|33.7692|-84.3370|404 678|Atlanta/Peachtree/Little Five Points/Candler Park/Inman Park/Georgia|Moreland Ave/Euclid Ave/DeKalb Ave/McLendon Ave/Ponce de Leon Ave
02139|Cambridge|MA|42.3647|-71.1042|617 857|Cambridge/Charles River/Central Square/Bay State/Kendall/New England|Massachusetts Ave/Prospect St/River St/Broadway/Hampshire St
85004|Phoenix|AZ|33.4510|-112.0700|602 480|Phoenix/Valley of the Sun/Desert/Camelback/Sonoran/Arizona|N Central Ave/E Van Buren St/E Roosevelt St/N 7th St/E McDowell Rd
55408|Minneapolis|MN|44.9469|-93.2866|612|Minneapolis/Twin Cities/Uptown/Lake Harriet/North Star/Minnesota|Hennepin Ave/W Lake St/Lyndale Ave S/W 31st St/Bryant Ave S
37206|Nashville|TN|36.1790|-86.7400|615 629|Nashville/East Nashville/Music City/Cumberland/Five Points/Volunteer|Gallatin Ave/Main St/Woodland St/Eastland Ave/Riverside Dr
92101|San Diego|CA|32.7190|-117.1628|619 858|San Diego/Gaslamp/Harbor/Pacific/Coronado/Bayview|Market St/Broadway/India St/5th Ave/Kettner Blvd
27601|Raleigh|NC|35.7730|-78.6340|919 984|Raleigh/Capital/Oak City/Triangle/Carolina/Wake County|Fayetteville St/Hillsborough St/Glenwood Ave/S Wilmington St/New Bern Ave
84111|Salt Lake City|UT|40.7550|-111.8830|801 385|Salt Lake/Wasatch/Beehive/Great Basin/Utah/Canyon|S State St/E 400 S/S Main St/E 200 S/S 300 E
"""

# state|largest city|area code|lat|lng (fallback for ZIPs not known in detail)
_STATES = (
    "AL|Birmingham|205|33.52|-86.81;AK|Anchorage|907|61.22|-149.90;AZ|Phoenix|602|33.45|-112.07;AR|Little Rock|501|34.75|-92.29;"
    "CA|Los Angeles|213|34.05|-118.24;CO|Denver|303|39.74|-104.99;CT|Hartford|860|41.76|-72.69;DE|Wilmington|302|39.74|-75.55;"
    "DC|Washington|202|38.90|-77.04;FL|Jacksonville|904|30.33|-81.66;GA|Atlanta|404|33.75|-84.39;HI|Honolulu|808|21.31|-157.86;"
    "ID|Boise|208|43.62|-116.20;IL|Chicago|312|41.88|-87.63;IN|Indianapolis|317|39.77|-86.16;IA|Des Moines|515|41.59|-93.62;"
    "KS|Wichita|316|37.69|-97.34;KY|Louisville|502|38.25|-85.76;LA|New Orleans|504|29.95|-90.07;ME|Portland|207|43.66|-70.26;"
    "MD|Baltimore|410|39.29|-76.61;MA|Boston|617|42.36|-71.06;MI|Detroit|313|42.33|-83.05;MN|Minneapolis|612|44.98|-93.27;"
    "MS|Jackson|601|32.30|-90.18;MO|Kansas City|816|39.10|-94.58;MT|Billings|406|45.78|-108.50;NE|Omaha|402|41.26|-95.93;"
    "NV|Las Vegas|702|36.17|-115.14;NH|Manchester|603|42.99|-71.46;NJ|Newark|973|40.74|-74.17;NM|Albuquerque|505|35.08|-106.65;"
    "NY|New York|212|40.71|-74.01;NC|Charlotte|704|35.23|-80.84;ND|Fargo|701|46.88|-96.79;OH|Columbus|614|39.96|-83.00;"
    "OK|Oklahoma City|405|35.47|-97.52;OR|Portland|503|45.52|-122.68;PA|Philadelphia|215|39.95|-75.17;RI|Providence|401|41.82|-71.41;"
    "SC|Charleston|843|32.78|-79.93;SD|Sioux Falls|605|43.55|-96.73;TN|Nashville|615|36.16|-86.78;TX|Houston|713|29.76|-95.37;"
    "UT|Salt Lake City|801|40.76|-111.89;VT|Burlington|802|44.48|-73.21;VA|Virginia Beach|757|36.85|-75.98;WA|Seattle|206|47.61|-122.33;"
    "WV|Charleston|304|38.35|-81.63;WI|Milwaukee|414|43.04|-87.91;WY|Cheyenne|307|41.14|-104.82;"
)

# ZIP3 ranges per state (USPS sectional centers, coarse)
_ZIP3_RANGES = (
    "010-027 MA,028-029 RI,030-038 NH,039-049 ME,050-059 VT,060-069 CT,070-089 NJ,100-149 NY,150-196 PA,"
    "197-199 DE,200-205 DC,206-219 MD,220-246 VA,247-268 WV,270-289 NC,290-299 SC,300-319 GA,320-349 FL,"
    "350-369 AL,370-385 TN,386-397 MS,398-399 GA,400-427 KY,430-459 OH,460-479 IN,480-499 MI,500-528 IA,"
    "530-549 WI,550-567 MN,570-577 SD,580-588 ND,590-599 MT,600-629 IL,630-658 MO,660-679 KS,680-693 NE,"
    "700-714 LA,716-729 AR,730-749 OK,750-799 TX,800-816 CO,820-831 WY,832-838 ID,840-847 UT,850-865 AZ,"
    "870-884 NM,889-898 NV,900-961 CA,967-968 HI,970-979 OR,980-994 WA,995-999 AK"
)

GENERIC_STREETS = (
    "Main St",
    "Oak Ave",
    "Maple St",
    "Park Ave",
    "Cedar Ln",
    "Elm St",
    "Washington Ave",
    "Lake Rd",
    "Hill St",
    "Pine St",
    "2nd St",
    "Center St",
    "Church St",
    "Jefferson Ave",
    "Ridge Rd",
    "Commerce Dr",
)


def _parse_known() -> dict[str, Place]:
    places = {}
    for line in filter(None, _KNOWN.strip().splitlines()):
        zip_code, city, state, lat, lng, codes, words, streets = line.split("|")
        places[zip_code] = Place(
            zip_code,
            city,
            state,
            float(lat),
            float(lng),
            tuple(codes.split()),
            tuple(words.split("/")),
            tuple(streets.split("/")),
        )
    return places


KNOWN_ZIPS: dict[str, Place] = _parse_known()
DEFAULT_ZIPS = ("10002", "98908", "46032")


def _parse_states() -> dict[str, tuple[str, str, float, float]]:
    out = {}
    for entry in filter(None, _STATES.split(";")):
        state, city, code, lat, lng = entry.split("|")
        out[state] = (city, code, float(lat), float(lng))
    return out


STATE_CENTERS = _parse_states()


def _parse_ranges() -> list[tuple[int, int, str]]:
    ranges = []
    for item in _ZIP3_RANGES.split(","):
        span, state = item.split()
        low, high = span.split("-")
        ranges.append((int(low), int(high), state))
    return ranges


_RANGES = _parse_ranges()


def state_for_zip(zip_code: str) -> str | None:
    prefix = int(zip_code[:3])
    return next((state for low, high, state in _RANGES if low <= prefix <= high), None)


@functools.lru_cache(maxsize=4096)
def place_for_zip(zip_code: str) -> Place:
    """The place a 5-digit ZIP stands for; `UnknownLocation` when none does."""
    zip_code = (zip_code or "").strip()
    if len(zip_code) != 5 or not zip_code.isdigit():
        raise UnknownLocation(f"not a 5-digit ZIP: {zip_code!r}")
    if zip_code in KNOWN_ZIPS:
        return KNOWN_ZIPS[zip_code]
    offset = (int(zip_code) % 97) / 97 * 0.2 - 0.1
    sibling = next((p for z, p in KNOWN_ZIPS.items() if z[:3] == zip_code[:3]), None)
    if sibling:
        return Place(
            zip_code,
            sibling.city,
            sibling.state,
            sibling.lat + offset,
            sibling.lng - offset,
            sibling.area_codes,
            sibling.place_words,
            sibling.streets,
        )
    state = state_for_zip(zip_code)
    if state is None or state not in STATE_CENTERS:
        raise UnknownLocation(f"no place for ZIP {zip_code}")
    city, code, lat, lng = STATE_CENTERS[state]
    return Place(zip_code, city, state, lat + offset, lng - offset, (code,), (city, "Metro", "Tri-County"), ())
