"""The term-frequency adjustment (`frequency`) and the contact rule it feeds (`EntityResolver._contact_match`)."""

from stages.dedupe.engine import EntityResolver
from stages.dedupe.features import near_addresses, operator_prefixed
from stages.dedupe.frequency import TokenWeights, count_tokens, rare_cover
from stages.dedupe.outlets import campus_units, institution_units, outlet_conflict, two_services
from stages.dedupe.record import DedupeInput, Profile
from stages.dedupe.state import EntityState


def lead(lead_id, name, **fields):
    return DedupeInput(lead_id=lead_id, name=name, source="csv", city="Chicago", state="IL", **fields)


def test_frequent_words_weigh_less_than_rare_ones():
    state = EntityState({})
    for name in ("ymca lakeview", "ymca south side", "ymca irving park", "rauner family center"):
        count_tokens(state, "IL", name, 1)
    weights = TokenWeights(state, "IL")
    assert weights("rauner") > weights("ymca") > 0
    # The operator word is shared by all YMCA sites; the site's own word decides.
    assert rare_cover("ymca metropolitan rauner", "rauner family ymca", weights) > 0.6
    assert rare_cover("ymca lakeview", "ymca irving park", weights) < 0.5
    count_tokens(state, "IL", "rauner family center", -1)
    assert state.get("T:IL:rauner") is None and state.get("T:IL") == 3


def test_outlets_and_kind_families():
    assert outlet_conflict("bellmont casino cafe", "bellmont casino steakhouse")
    assert outlet_conflict("terrace at grand hotel", "grand hotel")
    assert not outlet_conflict("rey gonzalez child care", "rey gonzalez children family center")
    assert not outlet_conflict(
        "henry booth house new pisgah", "new pisgah day care center"
    )  # an operator, not an outlet


def test_a_department_is_not_its_venue():
    """A store's, bank's or hospital's counter listed on its own (a real listing habit) stays apart."""
    from stages.dedupe.normalize import normalize_name as n

    for venue, department in (
        ("Walmart", "Walmart Fuel Station"),
        ("Walmart Supercenter", "Walmart Supercenter Pharmacy"),
        ("M&T Bank", "M&T Bank ATM"),
        ("Northwest Medical Center", "Northwest Medical Center - Emergency Room"),
        ("Albertsons", "Albertsons Floral"),
        ("Toyota of Erie", "Toyota of Erie Parts"),
    ):
        assert outlet_conflict(n(venue), n(department)) and outlet_conflict(n(department), n(venue))
    assert outlet_conflict(n("Walmart"), n("Walmart Vision & Glasses"))
    # A clinic group's specialties, each listed under the group's name.
    assert outlet_conflict(
        n("The Iowa Clinic Dermatology - WDM Campus"), n("The Iowa Clinic Spine Center - WDM Campus")
    )
    assert outlet_conflict(n("The Iowa Clinic WDM Campus"), n("The Iowa Clinic Cardiology - WDM Campus"))
    assert outlet_conflict(n("Chase Bank"), n("Chase Mortgage"))  # the venue's own kind against a department
    assert outlet_conflict(n("Wells Fargo ATM"), n("Wells Fargo Bank"))
    # Not departments: the shop's own kind written out or dropped, a name that adds its own words,
    # a college's lab school, a church's name.
    assert not outlet_conflict(n("Joe's Deli"), n("Joe's"))
    assert not outlet_conflict(n("Sal's Deli & Grocery"), n("Sal's Deli"))
    # A store format is the store's own kind: against a department, as "Chase Bank" / "Chase Mortgage".
    assert outlet_conflict(n("Walmart Supercenter"), n("Walmart Money Center"))
    assert not outlet_conflict(n("Walmart Supercenter"), n("Walmart"))
    assert not outlet_conflict(n("Kennedy-King College Child Development Lab Center"), n("Kennedy-King College"))
    assert not outlet_conflict(n("Quinn Chapel"), n("Quinn Chapel AME Church"))


def test_an_institutions_units_are_not_the_institution_nor_each_other():
    """A health system's, hospital's or school district's units listed under its name plus the unit's own
    words are apart from it and from each other; its name with its town or street, with kind words only, or
    written shorter is the institution."""
    from stages.dedupe.normalize import normalize_name as n

    for x, y in (
        (
            "Kettering Health Medical Group General Surgery - Piqua Campus",
            "Kettering Health Medical Group Vascular Surgery - Piqua Campus",
        ),
        ("Keck Medicine of USC - Vascular Surgery - Pasadena", "Keck Medicine of USC - Hematology Oncology - Pasadena"),
        ("San Jose Unified School District Culinary Center", "San Jose Unified School District"),
        ("Baptist Health Corbin Retail Pharmacy", "Baptist Health Corbin"),
        ("Mercy Health - Perrysburg Physical Medicine and Rehabilitation", "Mercy Health"),
    ):
        assert outlet_conflict(n(x), n(y)) and outlet_conflict(n(y), n(x)), (x, y)
    # The institution in its town or on its street; kind words only; an abbreviation; one word in common.
    assert not outlet_conflict(n("Mercy Health Perrysburg"), n("Mercy Health"), where=("perrysburg", "", "", ""))
    assert outlet_conflict(n("Mercy Health Perrysburg"), n("Mercy Health"))  # without the town known: a unit
    assert not outlet_conflict(n("Mercy Health Trillium"), n("Mercy Health"), where=("", "trilliumway", "", ""))
    assert not outlet_conflict(n("Swedish Covenant Hospital Child Care Center"), n("Swedish Covenant Hospital"))
    assert not outlet_conflict(n("Northwestern Medical Settlement Hse"), n("Northwestern Medical Settlement"))
    assert not outlet_conflict(n("Mercy Oncology"), n("Mercy Health"))  # the prefix must hold the institution
    # Universities and colleges are left out of this test: in the Chicago set they operate child-care sites
    # listed behind their name ("Chicago State University - Gingerbread House"), one site under two program
    # names. Their own units are known by their words instead (round 14, `campus_units`).
    assert not institution_units(n("High Point University Chapel").split(), n("High Point University").split())


def test_institution_units_keep_the_system_and_part_its_units_in_the_engine():
    resolver = EntityResolver({})
    base = {"street": "1 Kettering Way", "city": "Piqua", "state": "OH", "zip": "45356", "phone": "937-531-0195"}
    system = resolver.resolve(DedupeInput(lead_id="a", name="Kettering Health", **base))
    town = resolver.resolve(DedupeInput(lead_id="b", name="Kettering Health Piqua", **base))
    unit = resolver.resolve(DedupeInput(lead_id="c", name="Kettering Health - Vascular Surgery", **base))
    again = resolver.resolve(DedupeInput(lead_id="d", name="Kettering Health Vascular Surgery", **base))
    assert town.entity_id == system.entity_id
    assert unit.entity_id != system.entity_id and again.entity_id == unit.entity_id


def test_a_venue_listed_with_its_counter_or_as_its_kind_is_the_venue():
    from stages.dedupe.normalize import normalize_name as n

    # "Bank & ATM" names the venue and its counter together: the venue's own listing.
    assert n("Fifth Third Bank & ATM") == n("Fifth Third Bank")
    assert not outlet_conflict(n("Fifth Third Bank & ATM"), n("Fifth Third Bank"))
    assert n("Sal's Deli & Grocery") != n("Sal's Deli")  # not department words: kept
    # An ATM operator's listing is not a counter inside it: its category is the department's kind.
    assert outlet_conflict(n("Bitcoin Depot ATM"), n("Bitcoin Depot"))
    assert not outlet_conflict(n("Bitcoin Depot ATM"), n("Bitcoin Depot"), "atms", "atms")
    assert outlet_conflict(n("M&T Bank ATM"), n("M&T Bank"), "atms", "bank credit union")


def test_a_practitioners_listing_is_not_the_practice_nor_a_colleague():
    from stages.dedupe.normalize import normalize_name as n

    assert outlet_conflict(
        n("Arkansas Children's - Akilah A. Jefferson, M.D."), n("Arkansas Children's - Sagar T. Mehta, M.D.")
    )
    assert outlet_conflict(n("U.S. Bank - Joni Burns-Roman - Mortgage Lending Officer"), n("U.S. Bank"))
    assert not outlet_conflict(
        n("Zach Fox - COUNTRY Financial Advisor"), n("Zach Fox - COUNTRY Financial Representative")
    )
    assert not outlet_conflict(n("Akilah A. Jefferson MD"), n("Arkansas Children's - Akilah A. Jefferson, M.D."))
    # A person's bare name is not a practice: the same person.
    assert not outlet_conflict(n("Jinwoo Jang - Chase Home Lending Advisor - NMLS ID 624740"), n("Jinwoo Jang"))


def test_department_listing_does_not_join_its_store_at_one_phone():
    resolver = EntityResolver({})
    store = resolver.resolve(lead("s", "Walmart", street="3400 55th St NW", zip="55901", phone="5072808270"))
    photo = resolver.resolve(
        lead("p", "Walmart Photo Center", street="3400 55th St NW", zip="55901", phone="5072808270")
    )
    assert photo.entity_id != store.entity_id
    again = resolver.resolve(lead("w", "WALMART", street="3400 55th Street NW", zip="55901", phone="507-280-8270"))
    assert again.entity_id == store.entity_id


def test_one_business_under_two_suites_of_one_building_joins_at_its_phone():
    resolver = EntityResolver({})
    first = resolver.resolve(
        lead("a", "Nautica", street="800 Steven B Tanger Blvd Ste 100", zip="30529", phone="7063354488")
    )
    moved = resolver.resolve(
        lead("b", "Nautica", street="800 Steven B Tanger Blvd Ste 1001", zip="30529", phone="706-335-4488")
    )
    assert moved.entity_id == first.entity_id
    # Two tenants of one building, or one name at two lines, stay apart.
    other = resolver.resolve(
        lead("c", "Carters", street="800 Steven B Tanger Blvd Ste 900", zip="30529", phone="7063354488")
    )
    assert other.entity_id != first.entity_id
    second = resolver.resolve(
        lead("d", "Nautica", street="800 Steven B Tanger Blvd Ste 300", zip="30529", phone="7065550199")
    )
    assert second.entity_id != first.entity_id


def test_two_suites_of_one_building_join_at_one_toll_free_line_but_two_streets_do_not():
    """Round 8: a toll-free line names no site across a town, but one building's two suites under one
    name and one toll-free number are one business (a suite gone stale or mistyped)."""
    resolver = EntityResolver({})
    first = resolver.resolve(
        lead("a", "Constable Court Services", street="4200 Wisconsin Ave NW Ste 106", phone="8883647774")
    )
    moved = resolver.resolve(
        lead("b", "CONSTABLE COURT SERVICES", street="4200 Wisconsin Ave NW Ste 250", phone="888-364-7774")
    )
    assert moved.entity_id == first.entity_id
    # Another toll-free number, or another street at the same toll-free number, stays apart.
    other_line = resolver.resolve(
        lead("c", "Constable Court Services", street="4200 Wisconsin Ave NW Ste 300", phone="8005550100")
    )
    assert other_line.entity_id != first.entity_id
    corner = resolver.resolve(
        lead("d", "Constable Court Services", street="4200 Massachusetts Ave NW", phone="8883647774")
    )
    assert corner.entity_id != first.entity_id


def test_near_addresses_are_typos_or_ranges_on_one_street():
    def p(street):
        return Profile.of(DedupeInput("x", "X", street=street))

    assert near_addresses(p("1633 W 43rd St"), p("1653 W 43rd Street"))  # one digit
    assert near_addresses(p("7954-58 S. Western"), p("7956 South Western Ave."))  # a range
    assert not near_addresses(p("1420 S Albany"), p("1504 S Albany"))
    assert not near_addresses(p("1633 W 43rd St"), p("1633 W 44th St"))  # same number: not "near"


def test_operator_prefixed_listing_joins_at_same_phone_and_address():
    resolver = EntityResolver({})
    for i, other in enumerate(("YMCA of Metro Chicago - Lakeview", "YMCA of Metro Chicago - Irving Park")):
        resolver.resolve(lead(f"o{i}", other, street=f"{100 + i} N Clark St", phone=f"773555010{i}"))
    first = resolver.resolve(
        lead("a", "YMCA of Metropolitan Chicago - Rauner", street="2700 S Western Ave", phone="7738473115")
    )
    again = resolver.resolve(lead("b", "Rauner Family YMCA", street="2700 S. Western Avenue", phone="773-847-3115"))
    assert again.decision == "duplicate" and again.entity_id == first.entity_id
    assert "name_tokens" in again.matched_on


def test_venue_tenants_stay_apart_at_one_switchboard():
    resolver = EntityResolver({})
    venue = {"street": "3570 Las Vegas Blvd S", "phone": "702-555-0100"}
    steak = resolver.resolve(lead("s", "Bellmont Casino Steakhouse", **venue))
    cafe = resolver.resolve(lead("c", "Bellmont Casino Cafe", **venue))
    noodle = resolver.resolve(lead("n", "Wing Lei Noodle Bar", **venue))
    assert len({steak.entity_id, cafe.entity_id, noodle.entity_id}) == 3


def test_near_miss_number_at_same_phone_joins_but_chains_do_not():
    resolver = EntityResolver({})
    first = resolver.resolve(lead("a", "Paulo Freire Center", street="1653 W 43rd St", phone="7738266260"))
    typo = resolver.resolve(lead("b", "Chicago Commons Paulo Freire", street="1633 W 43rd St", phone="773-826-6260"))
    branch = resolver.resolve(lead("c", "Paulo Freire Center", street="4511 S Evans Ave", phone="7735550199"))
    assert typo.entity_id == first.entity_id
    assert branch.entity_id != first.entity_id


def test_token_counts_follow_merges():
    resolver = EntityResolver({})
    resolver.resolve(lead("a", "Fosco Park Center", street="1312 S Racine Ave", phone="7737466024"))
    assert resolver.state.get("T:IL:fosco") == 1
    resolver.resolve(lead("b", "Fosco Park", street="1312 S Racine", phone="7737466024"))  # joins: no new entity
    assert resolver.state.get("T:IL:fosco") == 1 and resolver.state.get("T:IL") == 1
    other = resolver.resolve(lead("c", "Fosco Annex", street="1400 S Racine Ave", phone="7735550123"))
    assert resolver.state.get("T:IL:fosco") == 2 and resolver.state.get("T:IL") == 2
    assert resolver.merge_entities(other.entity_id, resolver.entity_of("a") or "") == []  # addresses conflict
    resolver.resolve(lead("d", "Racine Annex", phone="7735550999"))
    merged = resolver.merge_entities(resolver.entity_of("d") or "", resolver.entity_of("a") or "")
    assert merged and resolver.state.get("T:IL") == 2  # two entities became one: the loser's words go
    assert resolver.state.get("T:IL:racine") is None and resolver.state.get("T:IL:fosco") == 2


def test_phone_blocks_and_misspelt_streets():
    from stages.dedupe.features import phone_block, same_street

    assert phone_block("+17739074740", "+17739074741")  # the next line of a block
    assert phone_block("+17738788651", "+17738789651")  # one digit mistyped
    assert not phone_block("+17739074740", "+17739074740")  # the same number is not "a block"
    assert not phone_block("+17735341833", "+17735352450")  # one exchange, another block

    def p(street):
        return Profile.of(DedupeInput("x", "X", street=street))

    assert same_street(p("4210 S. Berkley"), p("4210 S Berkeley Avenue"))
    assert not same_street(p("4210 S Berkeley"), p("4212 S Berkeley"))


def test_one_site_at_the_next_phone_line_joins_but_tenants_do_not():
    resolver = EntityResolver({})
    first = resolver.resolve(lead("a", "City Colleges Truman CDC", street="1145 W. Wilson", phone="7739074741"))
    tenant = resolver.resolve(lead("t", "Joe's Noodle Bar", street="1145 W Wilson Ave", phone="7739074742"))
    again = resolver.resolve(
        lead("b", "Harry S. Truman College Child Development Center", street="1145 W Wilson Avenue", phone="7739074740")
    )
    assert again.entity_id == first.entity_id
    assert tenant.entity_id != first.entity_id


def test_a_corner_building_under_two_street_lines_at_one_phone():
    resolver = EntityResolver({})
    first = resolver.resolve(lead("a", "Fifth City Center", street="3411 W Fifth Ave", phone="7738268686"))
    again = resolver.resolve(lead("b", "Fifth City Center", street="3411 W Jackson Blvd", phone="773-826-8686"))
    assert again.entity_id == first.entity_id
    # Another number on the same street: a chain's branches may share a central line.
    resolver.resolve(lead("c", "Rosewood Drain Services", street="606 S Juniper Ln", phone="2127539332"))
    branch = resolver.resolve(lead("d", "Rosewood Drain Services", street="14356 S Juniper Ln", phone="2127539332"))
    assert branch.decision == "new"
    # A shared toll-free line joins nothing.
    resolver.resolve(lead("e", "Quick Lube", street="100 N Main St", phone="8005550100"))
    other = resolver.resolve(lead("f", "Quick Lube", street="100 N Oak St", phone="8005550100"))
    assert other.decision == "new"


def test_abbreviations_weigh_like_kind_words():
    state = EntityState({})
    for name in ("alpha one", "beta two", "gamma three", "delta four"):
        count_tokens(state, "IL", name, 1)
    weights = TokenWeights(state, "IL")
    assert weights("ec") == weights("doolittle") * 0.5  # both unseen: a two-letter word counts half
    assert rare_cover("doolittle ec", "chicago public school doolittle jame", weights) > 0.6


def test_an_acronym_covers_the_words_it_abbreviates():
    from stages.dedupe.features import acronym_spans

    assert acronym_spans(["kiddy", "kare", "preschool", "little", "tyke"], ["kkp", "little", "tyke"]) == {0, 1, 2}
    state = EntityState({})
    weights = TokenWeights(state, "IL")
    assert rare_cover("kkp little tyke", "kiddy kare preschool little tyke", weights, lighter=False) == 1.0


def test_one_site_without_a_phone_or_behind_its_operator_joins():
    resolver = EntityResolver({})
    chavez = resolver.resolve(lead("a", "Chavez", street="4747 S. Marshfield", phone="7735354600"))
    no_phone = resolver.resolve(lead("b", "Gads Hill Center - Cesar Chavez Elementary", street="4747 S Marshfield Ave"))
    assert no_phone.entity_id == chavez.entity_id
    hearst = resolver.resolve(lead("c", "Hearst", street="4340 S. Lamon", phone="7735352376"))
    operated = resolver.resolve(
        lead("d", "Hull House Association - LeClaire Hearst", street="4340 S Lamon Ave", phone="7737671516")
    )
    assert operated.entity_id == hearst.entity_id


def test_operator_prefix_is_not_an_outlet_suffix():
    assert operator_prefixed("henry booth house jone academy", "jone academy")
    assert not operator_prefixed("ritz carlton dining room", "ritz carlton")  # an outlet of the venue
    assert not operator_prefixed("henry booth house child care", "child care")  # only kind words
    resolver = EntityResolver({})
    venue = {"street": "160 E Pearson St"}
    hotel = resolver.resolve(lead("h", "Ritz-Carlton", phone="3122664000", **venue))
    room = resolver.resolve(lead("r", "Ritz-Carlton Dining Room", phone="3125731111", **venue))
    assert room.entity_id != hotel.entity_id


def test_an_operator_with_many_sites_does_not_crowd_out_the_address():
    """Candidates are ranked by shared keys; an operator's name keys list every one of its sites, and
    must not push the entity at the lead's own street line out of the candidate cut."""
    resolver = EntityResolver({})
    for i in range(20):
        resolver.resolve(
            lead(f"o{i}", f"Henry Booth House Site {i}", street=f"{1000 + i} S State St", phone=f"77355501{i:02}")
        )
    jones = resolver.resolve(lead("j", "Jones Academy, Inc.", street="4344 S. Wentworth", phone="7733077507"))
    again = resolver.resolve(
        lead("k", "Henry Booth House - Jones Academy", street="4344 S Wentworth Ave", phone="7735363757")
    )
    assert again.entity_id == jones.entity_id


def test_a_site_known_under_two_street_lines_is_not_vetoed_by_either():
    resolver = EntityResolver({})
    first = resolver.resolve(lead("a", "Fifth City Center", street="3411 W Fifth Ave", phone="7738268686"))
    resolver.resolve(lead("b", "Fifth City Center", street="3411 W Jackson Blvd", phone="773-826-8686"))
    # Another listing at one of its lines: the entity holds that line, the other does not veto it.
    again = resolver.resolve(lead("c", "Fifth City Child Center", street="3411 W. Fifth Avenue", phone="7738268686"))
    assert again.entity_id == first.entity_id
    chain = resolver.resolve(lead("d", "Fifth City Center", street="3500 W Fifth Ave", phone="7738268686"))
    assert chain.entity_id != first.entity_id


def test_operator_prefix_with_kind_words_after_when_a_phone_is_missing():
    assert operator_prefixed("easter seal it take village", "it take village child care service", kind_tail=True)
    assert not operator_prefixed("easter seal it take village", "it take village child care service")
    assert not operator_prefixed("hotel ritz carlton", "ritz carlton dining room", kind_tail=True)
    resolver = EntityResolver({})
    village = resolver.resolve(
        lead("a", "It Takes a Village Child Care Services", street="4000 W. Division", phone="7732761730")
    )
    operated = resolver.resolve(lead("b", "Easter Seals - It Takes a Village", street="4000 W Division St"))
    assert operated.entity_id == village.entity_id


def test_operator_prefix_with_kind_words_after_at_two_phone_lines():
    """Round 7: the site's own listing and its operator's directory entry each give their own line; the
    name (operator in front, the site's kind words after) and the street line carry the match."""
    resolver = EntityResolver({})
    site = resolver.resolve(lead("a", "Little Elite Academy", street="8748 S. Aberdeen", phone="7734487990"))
    operated = resolver.resolve(
        lead("b", "Henry Booth House - Little Elite", street="8748 S Aberdeen St", phone="7734887988")
    )
    assert operated.entity_id == site.entity_id
    # Another business at the address, with its own line, stays apart; so does a venue's outlet.
    other = resolver.resolve(lead("c", "Wee Wee Center Academy", street="8748 S Aberdeen St", phone="7735550123"))
    assert other.entity_id != site.entity_id
    hotel = resolver.resolve(lead("d", "Hotel Ritz Carlton", street="160 E Pearson St", phone="3122665000"))
    dining = resolver.resolve(lead("e", "Ritz Carlton Dining Room", street="160 E Pearson St", phone="3125730400"))
    assert dining.entity_id != hotel.entity_id


def test_a_site_listed_by_two_agencies_joins_but_two_shops_of_one_trade_do_not():
    """Round 8: one site behind two agencies' names at one street line joins, whatever the phones; two
    businesses that share only their trade behind their own names, or one group's two units, stay apart."""
    from stages.dedupe.features import site_of_two_agencies
    from stages.dedupe.normalize import normalize_name as n

    assert site_of_two_agencies(n("El Valor - Little Tykes I"), n("Kiddy Kare Preschools Little Tykes I"))
    assert site_of_two_agencies(
        n("Albany Park Community Center - Lincoln Square"), n("Hull House Association Lincoln Square")
    )
    assert not site_of_two_agencies(n("Westgate Lawn & Garden"), n("Sycamore Lawn & Garden"))  # no agency
    assert not site_of_two_agencies(n("Old Mill Drain Services"), n("Iron Horse Drain Services"))  # trade only
    assert not site_of_two_agencies(  # one group's two units: the fronts share a word
        n("Kettering Health General Surgery - Piqua Campus"), n("Kettering Health Vascular Surgery - Piqua Campus")
    )
    assert not site_of_two_agencies(n("Easter Seals - Kimball"), n("Chicago Commons Kimball"))  # one word of its own
    resolver = EntityResolver({})
    first = resolver.resolve(
        lead("a", "Hull House Association Lincoln Square", street="4754 N Leavitt St", phone="7738789651")
    )
    again = resolver.resolve(
        lead("b", "Albany Park Community Center - Lincoln Square", street="4754 N. Leavitt Street", phone="7732713851")
    )
    assert again.entity_id == first.entity_id
    resolver.resolve(lead("c", "Westgate Lawn & Garden", street="1200 W Lake St", phone="3125550101"))
    other = resolver.resolve(lead("d", "Sycamore Lawn & Garden", street="1200 W. Lake Street", phone="3125550199"))
    assert other.decision == "new"


def test_infant_and_toddler_are_child_care_kind_words():
    """Round 8: "Infant/Child Care" ends a site's name like "Child Care" does, so the site under its own name
    and behind its operator's joins ("Keeper's Institute Infant/Child Care" / "Easter Seals ... - The
    Keeper's Inst."), and an infant-toddler program is one kind family with a preschool, not an outlet."""
    from stages.dedupe.normalize import normalize_name as n

    assert operator_prefixed(
        n("Keeper's Institute Infant/Child Care"),
        n("Easter Seals Society of Metropolitan Chicago - The Keeper's Inst."),
        kind_tail=True,
    )
    assert not outlet_conflict(n("Orr Infant Toddler Program Center"), n("Orr Preschool Center"))


def test_a_bare_listing_joins_the_one_business_of_its_name_in_the_city():
    """A guide's entry with a name and a city only (no street number, no phone) joins the one entity of
    that name (or that name plus kind words or a number) in its city; with two branches of the name in
    the city it says nothing, and another city or a name with a word of its own stays apart."""
    resolver = EntityResolver({})
    bar = resolver.resolve(lead("a", "Wing Sing Bar", street="658 Main St", phone="773-555-0140"))
    assert resolver.resolve(lead("b", "Wing Sing")).entity_id == bar.entity_id
    assert resolver.resolve(lead("c", "Wing Sing Fire Company")).entity_id != bar.entity_id
    elsewhere = DedupeInput(lead_id="d", name="Wing Sing", source="csv", city="Evanston", state="IL")
    assert resolver.resolve(elsewhere).entity_id != bar.entity_id

    chain = EntityResolver({})
    one = chain.resolve(lead("a", "Salonce Hair", street="2701 Ayers St", phone="773-555-0150"))
    two = chain.resolve(lead("b", "Salonce Hair", street="5502 Clark St", phone="773-555-0151"))
    assert one.entity_id != two.entity_id
    bare = chain.resolve(lead("c", "Salonce Hair"))
    assert bare.entity_id not in (one.entity_id, two.entity_id)


def test_a_bare_listing_beside_two_branches_joins_no_third():
    """Round 13: a bare listing kept apart from two branches of its name in the city says nothing about a third
    listing of the name at another line either: it joins none of them, and so does not bridge them."""
    chain = EntityResolver({})
    one = chain.resolve(lead("a", "Old Mill Orthodontics", street="6921 Spring St", phone="773-555-0150"))
    two = chain.resolve(lead("b", "Old Mill Orthodontics", street="6265 Ninth St", phone="773-555-0151"))
    bare = chain.resolve(lead("c", "The Old Mill Orthodontics"))
    third = chain.resolve(lead("d", "Old Mill Orthodontics", street="338 Park Ave South", phone="773-555-0152"))
    fourth = chain.resolve(lead("e", "Old Mill Orthodontics", street="438 Park Ave South", phone="773-555-0153"))
    ids = [r.entity_id for r in (one, two, bare, third, fourth)]
    assert len(set(ids)) == 5
    # With no branch of the name met, the bare listing still joins the one business that follows it.
    alone = EntityResolver({})
    first = alone.resolve(lead("a", "The Old Mill Orthodontics"))
    full = alone.resolve(lead("b", "Old Mill Orthodontics", street="338 Park Ave South", phone="773-555-0152"))
    assert full.entity_id == first.entity_id


def test_early_childhood_is_a_child_care_kind():
    """Round 12: "Early Childhood Center" names a kind, as "Child Care" does, so a site under its own name and
    kind and behind its operator's name, each at its own line, is one site (round 7's rule)."""
    resolver = EntityResolver({})
    site = resolver.resolve(
        lead("a", "Lakeview Family Services - St. Adalbert", street="8716 S Colfax Ave", phone="7735550111")
    )
    again = resolver.resolve(
        lead("b", "Saint Adalbert Early Childhood Center", street="8716 S Colfax Avenue", phone="7735557305")
    )
    assert again.entity_id == site.entity_id


def test_kinds_of_eating_place_written_in_the_name():
    """Round 12: "Cucina", "Ristorante", "Osteria", ... are kinds of place, as "Trattoria" is: a restaurant under
    its name with and without its kind at two phone lines is one, and two kinds behind one name at one
    switchboard are two outlets."""

    def at_one_line(lead_id, name, phone):
        return DedupeInput(
            lead_id=lead_id, name=name, source="csv", street="412 W. 45th St.", city="New York", phone=phone
        )

    resolver = EntityResolver({})
    one = resolver.resolve(at_one_line("a", "Da Marco Cucina Italiana", "2125550101"))
    assert resolver.resolve(at_one_line("b", "Da Marco", "2125557788")).entity_id == one.entity_id
    venue = EntityResolver({})
    cucina = venue.resolve(at_one_line("a", "Da Marco Cucina", "2125550101"))
    assert venue.resolve(at_one_line("b", "Da Marco Pizzeria", "2125550101")).entity_id != cucina.entity_id


def test_a_bare_school_listing_joins_with_its_level():
    """Round 12: a school listed bare with its level ("... High School") and in full without it is one
    school; a level in front of a word of its own ("High Point ...") is a name, not a level."""
    resolver = EntityResolver({})
    school = resolver.resolve(lead("a", "Waterbury Career Academy", street="175 Birch St", phone="203-555-0160"))
    assert resolver.resolve(lead("b", "Waterbury Career Academy High School")).entity_id == school.entity_id
    assert resolver.resolve(lead("c", "Waterbury Career Academy High Point")).entity_id != school.entity_id


def test_a_unit_on_its_own_page_of_the_brands_site_is_not_the_venue():
    """Round 11: two listings linked to two pages of one site, where one page is about words the listing's name
    adds to the other's (a department, a service), are two units; a branch page that names only the town, two
    listings on one page, a home page, or pages of two sites say nothing."""
    from stages.dedupe.normalize import normalize_name as n
    from stages.dedupe.normalize import website_page as page
    from stages.dedupe.outlets import unit_page

    tech = page("https://www.walmart.com/store/17-neosho-mo/walmart-tech-services")
    store = page("https://www.walmart.com/store/17-neosho-mo/patio-garden-services/")
    assert tech == "walmart.com/walmarttechservices"
    assert page("http://www.highpoint.edu/") == page("rosewoodpetcare.com") == ""  # a home page
    assert page("https://www.yelp.com/biz/rosewoodpetcare.com") == ""  # a listing host
    assert page("https://stores.petsmart.com/az/x/dog-training?utm_source=bing") == "petsmart.com/dogtraining"
    assert unit_page(n("Walmart Tech"), n("Walmart"), (tech, store))
    grooming = page("https://stores.petco.com/ma/pembroke/full-service-grooming-pembroke-ma-3753.html")
    training = page("https://stores.petco.com/ma/pembroke/dog-training-pembroke-ma-3753.html")
    assert unit_page(n("Petco Grooming"), n("Petco Dog Training"), (grooming, training))
    # One page, a home page on one side, or two sites: no evidence.
    assert not unit_page(n("Walmart Tech"), n("Walmart"), (tech, tech))
    assert not unit_page(n("Walmart Tech"), n("Walmart"), (tech, ""))
    assert not unit_page(n("Walmart Tech"), n("Walmart"), (tech, page("https://www.walmart.co.uk/store/17/x")))
    # A branch page names the town: the branch, not a unit.
    morrow = page("https://www.dentistry4children.com/locations/morrow/")
    other = page("https://www.dentistry4children.com/locations/stockbridge/")
    assert not unit_page(
        n("Dentistry for Children - Morrow"), n("Dentistry For Children"), (morrow, other), ("morrow",)
    )
    assert not unit_page(n("Planet Fitness - Atlanta"), n("Planet Fitness"), (page("pf.com/gyms/atlanta"), other))
    # A person's listing is left to the practitioner test (a role on a page names the person, not a unit).
    advisor = page("https://advisors.countryfinancial.com/usa/il/batavia/zach-fox-advisor")
    rep = page("https://advisors.countryfinancial.com/zach.fox")
    assert not unit_page(n("Zach Fox - COUNTRY Financial Advisor"), n("Zach Fox"), (advisor, rep))

    resolver = EntityResolver({})
    base = {"street": "3200 Lusk Dr", "zip": "64850", "phone": "4174515544"}
    venue = resolver.resolve(lead("a", "Walmart", website="https://www.walmart.com/store/17-neosho-mo/", **base))
    unit = resolver.resolve(
        lead("b", "Walmart Tech", website="https://www.walmart.com/store/17-neosho-mo/walmart-tech-services", **base)
    )
    again = resolver.resolve(lead("c", "Walmart Tech", website="walmart.com/store/17/walmart-tech-services", **base))
    home = resolver.resolve(lead("d", "WALMART", website="https://www.walmart.com/", **base))
    assert unit.entity_id != venue.entity_id  # the department, on its own page
    assert again.entity_id == unit.entity_id  # the department again, on its page
    assert home.entity_id == venue.entity_id  # the store again, on the site's home page


def test_profiles_stored_before_the_page_field_still_read():
    stored = Profile.of(lead("a", "Walmart", website="https://www.walmart.com/store/17-neosho-mo/x")).to_list()
    assert stored[-1] == "walmart.com/x"
    old = Profile.from_list(stored[:-1])  # a profile written by round 10's engine
    assert old.page == "" and old.name == "walmart"


def test_a_leading_ordinal_is_part_of_a_sites_own_name():
    """Round 13: "First Start Academy" behind its operator's name is one site; "first" leads the name, it is
    not a place word there. A site with only kind and place words after the operator is still not named."""
    assert operator_prefixed("onward neighborhood house first start academy", "first start academy", kind_tail=True)
    assert operator_prefixed("onward neighborhood house first start academy", "first start child care academy", True)
    assert not operator_prefixed("onward neighborhood house chicago child care", "chicago child care", True)
    assert not operator_prefixed("onward neighborhood house first", "first", True)  # an ordinal alone names nothing
    resolver = EntityResolver({})
    site = resolver.resolve(
        lead("a", "First Start Child Care Academy", street="4753 W. Washington Blvd", phone="7733794928")
    )
    operated = resolver.resolve(
        lead("b", "Onward Neighborhood House - First Start Academy", street="4753 W Washington")
    )
    other = resolver.resolve(lead("c", "Little Stars Academy", street="4753 W Washington Blvd"))
    assert operated.entity_id == site.entity_id
    assert other.entity_id != site.entity_id


def test_a_stores_pickup_counter_is_a_department():
    """Round 14: "Pick-up" and "Pick Up" are "Pickup"; a store's grocery pickup and delivery counter is a
    department of the store (grocery and delivery qualify it), while a shop named for its groceries is not."""
    from stages.dedupe.normalize import normalize_name as n

    assert n("Walmart Grocery Pick-up") == n("Walmart Grocery Pick Up") == n("Walmart Grocery Pickup")
    assert outlet_conflict(n("Walmart Grocery Pick-up and Delivery Service"), n("Walmart"))
    assert outlet_conflict(n("Walmart"), n("Walmart Grocery Pick-up and Delivery Service"))
    assert not outlet_conflict(n("Sal's Deli & Grocery"), n("Sal's Deli"))
    assert not outlet_conflict(n("Walmart Grocery"), n("Walmart"))  # a qualifier alone names no department
    assert not outlet_conflict(n("Rosa's Pizza Delivery"), n("Rosa's Pizza"))
    assert n("Pick Up Stix") == "pickup stix" and n("Pick Six Sports Bar") == "pick 6 sport bar"

    resolver = EntityResolver({})
    base = {"street": "6650 Collier Blvd", "zip": "34114"}
    store = resolver.resolve(lead("a", "Walmart", phone="2394172251", **base))
    pickup = resolver.resolve(lead("b", "Walmart Grocery Pick-up and Delivery Service", phone="2395724240", **base))
    again = resolver.resolve(lead("c", "Walmart Grocery Pickup & Delivery", phone="2395724240", **base))
    assert pickup.entity_id != store.entity_id and again.entity_id == pickup.entity_id


def test_a_colleges_units_are_not_the_college_nor_each_other():
    """Round 14: a college's or university's gym, chapel, library, ... listed under its name are units of it
    (`CAMPUS_UNIT_WORDS`); a site the college runs under its own or a kind name, a church named "Chapel", and
    the college written two ways are not parted by it."""
    from stages.dedupe.normalize import normalize_name as n

    for x, y in (
        ("Santiago Canyon College - Gym", "Santiago Canyon College"),
        ("High Point University Chapel and Religious Life", "High Point University"),
        ("Westgate University Library", "Westgate University Bookstore"),
        ("Coastal College Admissions Office", "Coastal College"),
    ):
        assert campus_units(n(x).split(), n(y).split()), (x, y)
        assert outlet_conflict(n(x), n(y)) and outlet_conflict(n(y), n(x)), (x, y)
    for x, y in (
        ("Chicago State University - Gingerbread House", "Chicago State University"),
        ("Loyola University Chicago - Preschool/Day Care", "Loyola University Chicago"),
        ("Kennedy-King College Child Development Lab Center", "Kennedy-King College"),
        ("Northeastern Illinois University Child Care Center", "Northeastern Illinois University"),
        ("Santiago Canyon College Gym", "Santiago Canyon College - Gym"),
        ("Westgate University Library", "Westgate University Library Annex"),  # the unit written longer
    ):
        assert not outlet_conflict(n(x), n(y)), (x, y)
    assert not outlet_conflict(n("Quinn Chapel"), n("Quinn Chapel AME Church"))  # no school word
    assert not outlet_conflict(n("Grace Chapel"), n("Grace Chapel Library"))

    resolver = EntityResolver({})
    base = {"street": "8045 E Chapman Ave", "zip": "92869"}
    college = resolver.resolve(lead("a", "Santiago Canyon College", phone="7146284900", **base))
    gym = resolver.resolve(lead("b", "Santiago Canyon College - Gym", phone="7146285904", **base))
    again = resolver.resolve(lead("c", "SANTIAGO CANYON COLLEGE", phone="7146284900", **base))
    assert gym.entity_id != college.entity_id and again.entity_id == college.entity_id


def test_two_services_of_one_practice_are_two_listings():
    """Round 14: two names that each add their own service to one practice's or store's name
    (`SERVICE_WORDS`) are two listings at one line and phone; one name without a service is not parted by
    this test (a small practice is named by its one service)."""
    from stages.dedupe.normalize import normalize_name as n

    for x, y in (
        ("Fort Worth Physical Therapy", "Fort Worth Speech Therapy"),
        ("Petco Grooming", "Petco Dog Training"),
        ("Lakeside Occupational Therapy", "Lakeside Physical Therapy"),
        ("Rosewood Hair Studio", "Rosewood Nail Studio"),
    ):
        assert two_services(n(x).split(), n(y).split()), (x, y)
        assert outlet_conflict(n(x), n(y)), (x, y)
    for x, y in (
        ("Acme Physical Therapy", "Acme Therapy"),
        ("Acme Physical Therapy", "Acme Physical Therapy and Sports Medicine"),
        ("Petco Grooming", "Petco"),
        ("Marillac House", "Marillac Social Center"),
        ("Lakeside Physical Therapy", "Lakeside Physical Therapy Associates"),
    ):
        assert not two_services(n(x).split(), n(y).split()), (x, y)
        assert not outlet_conflict(n(x), n(y)), (x, y)

    resolver = EntityResolver({})
    base = {"street": "6913 Camp Bowie Blvd", "zip": "76116", "phone": "6824995990"}
    pt = resolver.resolve(lead("a", "Fort Worth Physical Therapy", **base))
    speech = resolver.resolve(lead("b", "Fort Worth Speech Therapy", **base))
    again = resolver.resolve(lead("c", "Ft. Worth Physical Therapy", **base))
    assert speech.entity_id != pt.entity_id and again.entity_id == pt.entity_id


def test_the_dishes_a_counter_is_named_by_are_kind_words():
    """Round 14: "Sandwiches", "Salads", "Burgers", ... name what a counter serves, as "Pizzeria" and "Noodle"
    do: two counters of one shop behind one name at one switchboard are two outlets, and one counter with and
    without its dish at two lines is one."""
    from stages.dedupe.normalize import normalize_name as n
    from stages.dedupe.vocabulary import KIND_WORDS

    assert {"sandwich", "salad", "burger", "taco"} <= KIND_WORDS and "wing" not in KIND_WORDS
    assert outlet_conflict(n("Midtown Sandwiches"), n("Midtown Salads"))
    assert not outlet_conflict(n("Midtown Sandwiches"), n("Midtown"))

    def at_one_line(lead_id, name, phone):
        return DedupeInput(
            lead_id=lead_id, name=name, source="csv", street="1540 Broadway", city="New York", phone=phone
        )

    venue = EntityResolver({})
    sandwiches = venue.resolve(at_one_line("a", "Midtown Sandwiches", "6464752055"))
    assert venue.resolve(at_one_line("b", "Midtown Salads", "6464752055")).entity_id != sandwiches.entity_id
    assert venue.resolve(at_one_line("c", "Midtown Sandwiches", "6464752056")).entity_id == sandwiches.entity_id


def test_a_colleges_unit_against_the_college_written_with_a_typo():
    """Round 14: "Universtiy" is the school word mistyped; the unit is still not the college."""
    from stages.dedupe.normalize import normalize_name as n

    assert outlet_conflict(n("Twin Oaks University Gym"), n("TWIN OAKS UNIVERSTIY"))
    assert not outlet_conflict(n("Twin Oaks University"), n("TWIN OAKS UNIVERSTIY"))


def test_an_outlet_named_with_the_venue_it_is_in():
    """Round 14: guides write the hotel, casino or mall a restaurant is in after its name ("Lespinasse (St. Regis
    Hotel)", "... in the St. Regis Hotel", "... - St. Regis Hotel"): that is "X at Y", the venue's outlet. Against
    the hotel's own listing at its switchboard it is another business; against "Lespinasse", at the switchboard
    or at the restaurant's own line, the same one. A hotel's own note ("Harbor Inn (formerly Harbor Motel)") and
    a place after a dash ("Hilton Garden Inn - Chicago") are left as they were."""
    from stages.dedupe.features import without_venue
    from stages.dedupe.normalize import normalize_name as n

    at = n("Lespinasse at the St. Regis Hotel")
    for written in (
        "Lespinasse (St. Regis Hotel)",
        "Lespinasse (in the St. Regis Hotel)",
        "Lespinasse - St. Regis Hotel",
    ):
        assert n(written) == at, written
    assert n("Lespinasse in the St. Regis Hotel") == at
    assert n("Harbor Inn (formerly Harbor Motel)") == "harbor inn"
    assert n("Hilton Garden Inn - Chicago") == "hilton garden inn chicago"
    assert n("Cafe in the Park") == "cafe park"  # no venue named
    assert outlet_conflict(at, n("St. Regis Hotel")) and outlet_conflict(at, n("The St. Regis"))
    assert outlet_conflict(n("The Grill (Four Seasons Hotel)"), n("The Bar (Four Seasons Hotel)"))
    assert not outlet_conflict(at, n("Lespinasse"))
    assert without_venue(at, "lespinasse") == ("lespinasse", "lespinasse")
    assert without_venue("davita cornerstone at home", "davita cornerstone") == (
        "davita cornerstone at home",
        "davita cornerstone",
    )  # "home" is no venue
    assert without_venue("early childhood service at bernard horwich jcc", "bernard horwich jcc") == (
        "early childhood service at bernard horwich jcc",
        "bernard horwich jcc",
    )  # the other name is the venue's

    hotel = {"street": "2 E. 55th St.", "city": "New York", "state": "NY"}
    resolver = EntityResolver({})
    venue = resolver.resolve(DedupeInput(lead_id="a", name="St. Regis Hotel", phone="212-753-4500", **hotel))
    outlet = resolver.resolve(
        DedupeInput(lead_id="b", name="Lespinasse (St. Regis Hotel)", phone="212-753-4500", **hotel)
    )
    own_line = resolver.resolve(DedupeInput(lead_id="c", name="Lespinasse", phone="212-339-6719", **hotel))
    dash = resolver.resolve(
        DedupeInput(lead_id="d", name="Lespinasse - St. Regis Hotel", phone="212-753-4500", **hotel)
    )
    assert outlet.entity_id != venue.entity_id
    assert own_line.entity_id == outlet.entity_id == dash.entity_id


def test_a_place_instead_of_a_street_number_at_the_same_phone_and_name():
    """Round 14: a listing that gives a landmark ("Grand Central Terminal, Lower Level") or no street line, at the
    same local phone and under the same name as a listing with a street number, is that business; at a toll-free
    line (a chain's central number) or under another name it is not joined by this rule."""
    from stages.dedupe.features import one_site_readdressed

    def listing(lead_id, name, street, phone):
        return DedupeInput(lead_id=lead_id, name=name, source="csv", street=street, city="New York", phone=phone)

    landmark = Profile.of(listing("a", "Grand Central Oyster Bar", "Grand Central Terminal, Lower Level", "2124906650"))
    street = Profile.of(listing("b", "Grand Central Oyster Bar", "89 E. 42nd St.", "212-490-6650"))
    assert one_site_readdressed(landmark, street) and one_site_readdressed(street, landmark)
    toll_free = Profile.of(listing("c", "Grand Central Oyster Bar", "", "800-490-6650"))
    assert not one_site_readdressed(
        toll_free, Profile.of(listing("d", "Grand Central Oyster Bar", "89 E. 42nd St.", "800-490-6650"))
    )
    other = Profile.of(listing("e", "Grand Central Market", "89 E. 42nd St.", "212-490-6650"))
    assert not one_site_readdressed(landmark, other)

    resolver = EntityResolver({})
    a = resolver.resolve(
        listing("a", "Grand Central Oyster Bar", "Grand Central Terminal, Lower Level", "212-490-6650")
    )
    b = resolver.resolve(listing("b", "Grand Central Oyster Bar", "89 E. 42nd St.", "212/490-6650"))
    assert a.entity_id == b.entity_id


def test_at_one_street_line_without_any_phone_both_names_must_agree():
    # Round 18: with no phone on either side the street line and the names are all there is, so the names
    # must agree both ways, as at one point: two museums of one building stay apart, one name joins.
    resolver = EntityResolver({})
    for i, name in enumerate(("Art Institute", "Art House", "Center for the Arts", "Art Supply", "Fine Art Gallery")):
        resolver.resolve(lead(f"art{i}", name, street=f"{100 + i} Main St"))  # "art" is a common word here
    art = resolver.resolve(lead("a", "Carnegie Museum of Art", street="4400 Forbes Ave"))
    history = resolver.resolve(lead("b", "Carnegie Museum of Natural History", street="4400 Forbes Ave"))
    assert history.entity_id != art.entity_id
    again = resolver.resolve(lead("c", "Carnegie Museum of Art", street="4400 Forbes Avenue"))
    assert again.entity_id == art.entity_id
    # one listing with a phone: the rule as before (a missing phone is no evidence against)
    resolver = EntityResolver({})
    chavez = resolver.resolve(lead("a", "Chavez", street="4747 S. Marshfield", phone="7735354600"))
    no_phone = resolver.resolve(lead("b", "Gads Hill Center - Cesar Chavez Elementary", street="4747 S Marshfield Ave"))
    assert no_phone.entity_id == chavez.entity_id
