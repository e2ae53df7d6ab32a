import csv
import re
from collections import Counter

from stages.dedupe.evalset import OUT, generate
from stages.dedupe.evaluate import DEFAULT_FILES, evaluate_file, linkage_scores, pairwise_scores
from stages.dedupe.features import FEATURES
from stages.dedupe.model import PairModel
from stages.dedupe.train import fit, labelled_pairs
from stages.dedupe.traindata import generate as generate_training


def of_class(row: dict, letter: str) -> bool:
    """The row belongs to one of the generator's appended classes (its cluster: the class letter, then digits)."""
    return row["cluster"][0] == letter and row["cluster"][1:2].isdigit()


def entities_by_business(rows: list[dict]) -> dict[str, set[str | None]]:
    """The entity ids each labelled business (cluster) ends up in when `rows` are resolved in order."""
    from stages.dedupe.csvtool import resolve_rows

    ids, _ = resolve_rows(rows)
    entities: dict[str, set[str | None]] = {}
    for row, entity in zip(rows, ids):
        entities.setdefault(row["cluster"], set()).add(entity)
    return entities


def test_targets_on_the_shipped_files():
    for path in DEFAULT_FILES:
        scores = evaluate_file(path)
        assert scores["precision"] >= 0.98, (path, scores)
        assert scores["f1"] >= 0.97, (path, scores)


def test_handmade_set_is_big_and_tricky():
    rows = list(csv.DictReader(open(DEFAULT_FILES[1])))
    assert len(rows) >= 40
    clusters = Counter(r["cluster"] for r in rows)
    names = Counter(r["name"].lower() for r in rows)
    assert sum(1 for n in clusters.values() if n > 1) >= 10
    assert any(
        n > 1 and len({r["cluster"] for r in rows if r["name"].lower() == name}) > 1 for name, n in names.items()
    )


def test_eval_file_is_the_seeded_generator_output():
    rows = list(csv.DictReader(open(OUT)))
    generated = generate()
    assert len(rows) == len(generated)
    assert rows == [{k: str(v) for k, v in g.items()} for g in generated]  # every row, byte for byte


def test_round_six_classes_come_after_the_earlier_rows_and_are_resolved():
    """The generator's round-6 classes (highways, practitioners, "Bank & ATM", Queens numbers) are appended
    from their own random stream: the earlier rows stay as they were; the engine keeps them right."""
    from stages.dedupe.evaluate import evaluate_rows

    rows = generate(seed=2024, businesses=400)
    new = [r["cluster"][0] in "hpkqosutgwfydcl" and r["cluster"][1:2].isdigit() for r in rows]
    first = new.index(True)
    assert all(new[first:]) and not any(new[:first])
    assert {r["cluster"][0] for r in rows[first:]} == set("hpkqosutgwfydcl")
    scores = evaluate_rows([r for r in rows[first:] if r["cluster"][0] not in "gfydcl"])  # rounds 10, 12-17: own tests
    assert scores["precision"] >= 0.98 and scores["recall"] >= 0.9, scores


def test_round_seven_class_comes_last_and_is_resolved():
    """Round 7's class (a site under its own name and kind, and behind its operator's name with another phone
    line) is appended after round 6's rows, from a stream of its own."""
    from stages.dedupe.evaluate import evaluate_rows

    rows = generate(seed=2024, businesses=400)
    operated = [of_class(r, "o") for r in rows]
    later = [r["cluster"][0] in "sutgwfydcl" and r["cluster"][1:2].isdigit() for r in rows]  # rounds 8 to 17, after
    first, last = operated.index(True), later.index(True)
    assert all(operated[first:last]) and not any(operated[:first]) and all(later[last:])
    scores = evaluate_rows(rows[first:last])
    assert scores["precision"] >= 0.98 and scores["recall"] >= 0.8, scores


def test_round_eight_class_comes_last_and_is_resolved():
    """Round 8's class (two suites of one building at one toll-free line; a branch elsewhere on that line)
    is appended after round 7's rows, from a stream of its own, and the earlier rows stay as they were."""
    from stages.dedupe.evaluate import evaluate_rows

    rows = generate(seed=2024, businesses=400)
    suites = [of_class(r, "s") for r in rows]
    units = [r["cluster"][0] in "utgw" and r["cluster"][1:2].isdigit() for r in rows]  # rounds 9 to 11, after
    first, last = suites.index(True), units.index(True)
    assert all(suites[first:last]) and not any(suites[:first])
    scores = evaluate_rows(rows[first:last])
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0, scores
    shipped = list(csv.DictReader(open(OUT)))
    assert [r["cluster"] for r in shipped[:1892]] == [r["cluster"] for r in generate()[:1892]]


def test_round_nine_class_comes_last_and_is_resolved():
    """Round 9's classes (a health system, its units listed under its name at its address and switchboard or
    their own lines, each written two ways; a big store under its format and its bare name, and a department
    under the bare name) are appended after round 8's rows, from a stream of their own; the 1,934 earlier rows
    of the shipped set stay as they were."""
    from stages.dedupe.evaluate import evaluate_rows

    rows = generate(seed=2024, businesses=400)
    units = [r["cluster"][0] in "ut" and r["cluster"][1:2].isdigit() for r in rows]
    bare = [of_class(r, "g") for r in rows]  # round 10's, after
    first, last = units.index(True), bare.index(True)
    assert all(units[first:last]) and not any(units[:first])
    scores = evaluate_rows(rows[first:last])
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0, scores
    shipped = list(csv.DictReader(open(OUT)))
    assert shipped[:1934] == [{k: str(v) for k, v in g.items()} for g in generate()[:1934]]


def test_round_ten_class_comes_last_and_is_resolved():
    """Round 10's class (a guide's bare entry, a name and a city, of a business listed in full; every other
    time with a second branch of the name in the city) is appended after round 9's rows, from a stream of its
    own; the 2,062 earlier rows of the shipped set stay as they were. A bare entry mostly joins its business
    when the name has no other branch in the city; after two branches it stays apart. (Between them, it joins the one
    that came first: the cost of the rule, which the figures show.)"""
    from stages.dedupe.csvtool import resolve_rows

    rows = generate(seed=2024, businesses=1200)
    bare = [of_class(r, "g") for r in rows]
    first = bare.index(True)
    last = next(i for i in range(first, len(rows)) if not bare[i])  # round 11's rows come after
    assert all(bare[first:last]) and not any(bare[:first]) and not any(bare[last:])
    ids, _ = resolve_rows(rows[first:last])
    groups: dict[str, list[tuple[dict, str | None]]] = {}
    for row, entity in zip(rows[first:last], ids):
        groups.setdefault(row["cluster"].removesuffix("b"), []).append((row, entity))
    alone, joined, after_both = 0, 0, 0
    for members in groups.values():
        (bare_row, bare_entity), *_ = [(r, e) for r, e in members if not r["address"]]
        others = [e for r, e in members if r["address"]]
        if len(others) == 1:
            alone += 1
            joined += bare_entity == others[0]
        elif members[-1][0] is bare_row:
            after_both += 1
            assert bare_entity not in others, members
    # Not all: a kind the engine does not know as one ("Iron Horse" / "Iron Horse Lawn & Garden") stays apart.
    assert after_both and joined >= 0.7 * alone, (joined, alone)
    shipped = list(csv.DictReader(open(OUT)))
    assert shipped[:2062] == [{k: str(v) for k, v in g.items()} for g in generate()[:2062]]


def test_pairwise_scores():
    s = pairwise_scores(["a", "a", "b", "b"], ["x", "x", "x", "y"])
    assert s["true_pairs"] == 2 and s["predicted_pairs"] == 3 and s["correct_pairs"] == 1
    assert abs(s["precision"] - 1 / 3) < 1e-9 and abs(s["recall"] - 0.5) < 1e-9


def test_linkage_scores_count_only_pairs_across_the_two_sources():
    """Round 16: a two-source linkage set labels no pair within one source. Rows 0-2 are one place (two OSM
    records tied through one Foursquare record), row 3 another. The engine joins rows 0 and 1 (one source, an
    unlabelled pair: not counted) and rows 2 and 3 (two sources, two places: wrong)."""
    truth, predicted, sources = ["a", "a", "a", "b"], ["x", "x", "y", "y"], ["osm", "osm", "fsq", "fsq"]
    s = linkage_scores(truth, predicted, sources)
    # true cross pairs: (0,2), (1,2); predicted cross pairs: none from x (one source); y: (2,3) is one source too
    assert s["true_pairs"] == 2 and s["predicted_pairs"] == 0 and s["recall"] == 0.0
    s = linkage_scores(truth, ["x", "x", "x", "y"], sources)
    assert s["true_pairs"] == 2 and s["predicted_pairs"] == 2 and s["correct_pairs"] == 2
    assert s["precision"] == 1.0 and s["recall"] == 1.0
    # all pairs, the same prediction: the within-source pair (0,1) counts as right, as the set's clusters say
    assert pairwise_scores(truth, ["x", "x", "x", "y"])["correct_pairs"] == 3
    s = linkage_scores(["a", "b", "c", "c"], ["x", "x", "y", "y"], ["osm", "fsq", "osm", "fsq"])
    assert s["predicted_pairs"] == 2 and s["correct_pairs"] == 1 and s["precision"] == 0.5


def test_shipped_model_is_fitted_and_a_small_refit_separates_pairs():
    model = PairModel.load()
    assert len(model.weights) == len(FEATURES) and 0 < model.thresholds.review <= model.thresholds.match < 1
    data = labelled_pairs(generate_training(seed=7, entities=300))
    weights, bias = fit(data, steps=150)
    scored = [(bias + sum(w * x for w, x in zip(weights, feats)), label, n) for (feats, label), n in data.items()]
    pos = [z for z, y, n in scored if y for _ in range(n)]
    neg = [z for z, y, n in scored if not y for _ in range(n)]
    assert pos and neg
    wins = sum(1 for p in pos[:300] for q in neg[:300] if p > q) / (min(len(pos), 300) * min(len(neg), 300))
    assert wins > 0.95  # AUC of the refit on its own sample
    assert weights[FEATURES.index("phone")] > 0 and weights[FEATURES.index("name_low")] < 0


def test_compared_recall_counts_the_candidate_cut(monkeypatch):
    """Rows that share a key but fall out of the engine's candidate cut are not "compared"."""
    from stages.dedupe import engine
    from stages.dedupe.evaluate import evaluate_rows

    rows = [
        {"id": "a", "cluster": "1", "name": "Rauner Family YMCA", "address": "2700 S Western Ave", "state": "IL"},
        {"id": "b", "cluster": "1", "name": "Rauner Family YMCA", "address": "2700 S. Western Avenue", "state": "IL"},
        {"id": "c", "cluster": "2", "name": "Joe's Noodle Bar", "address": "1 N Main St", "state": "IL"},
    ]
    scores = evaluate_rows(rows)
    assert scores["compared_recall"] == scores["blocking_recall"] == 1.0
    assert scores["recall"] == 1.0
    monkeypatch.setattr(engine, "MAX_CANDIDATES", 0)  # a cut that keeps nothing
    scores = evaluate_rows(rows)
    assert scores["blocking_recall"] == 1.0 and scores["compared_recall"] == 0.0 == scores["recall"]


def test_round_eleven_class_comes_last_and_is_resolved():
    """Round 11's class (a chain store and one of its services, each on its own page of the brand's store
    locator; the store again on the home page, without a website or as "<brand> - <town>") is appended after
    round 10's rows, from a stream of its own; the 2,104 earlier rows of the shipped set stay as they were. Each
    service stays apart from its store, and every listing joins its own business."""

    rows = generate(seed=2024, businesses=400)
    paged = [of_class(r, "w") for r in rows]
    first = paged.index(True)
    last = next(i for i in range(first, len(rows)) if not paged[i])  # round 12's rows come after
    assert all(paged[first:last]) and not any(paged[:first]) and not any(paged[last:])
    shipped = list(csv.DictReader(open(OUT)))
    assert sum(of_class(r, "w") for r in shipped) == 2163 - 2104
    entities = entities_by_business(rows[first:last])
    assert all(len(e) == 1 for e in entities.values()), entities  # every business in one entity
    stores = [c for c in entities if not c.endswith("u")]
    assert all(entities[c] != entities[c + "u"] for c in stores)  # each service apart from its store


def test_round_twelve_class_comes_last_and_is_resolved():
    """Round 12's class (a business listed plainly and as a guide entry whose street line or name is written in
    a guide's form: a cross street after a slash or "btw.", a suite letter apart from the number, a spelled
    house number, a plaza's name after the comma, a spelled number in the name; a tenant of the line and a
    branch of the name along the road beside it) is appended after round 11's rows, from a stream of its own;
    the 2,163 earlier rows of the shipped set stay as they were. Each business is one entity; the tenant and
    the branch stay apart."""

    rows = generate(seed=2024, businesses=400)
    forms = [of_class(r, "f") for r in rows]
    first = forms.index(True)
    last = next(i for i in range(first, len(rows)) if not forms[i])  # round 13's rows come after
    assert all(forms[first:last]) and not any(forms[:first]) and not any(forms[last:])
    shipped = list(csv.DictReader(open(OUT)))
    assert shipped[:2163] == [{k: str(v) for k, v in g.items()} for g in generate()[:2163]]
    entities = entities_by_business(rows[first:last])
    assert all(len(e) == 1 for e in entities.values()), entities  # every business in one entity
    owners = [c for c in entities if c[-1].isdigit()]
    assert all(not entities[c] & entities.get(c + suffix, set()) for c in owners for suffix in "tb")


def test_round_thirteen_class_comes_last_and_is_resolved():
    """Round 13's class (a business in Manhattan, Astoria or San Francisco listed plainly and as a guide entry
    whose street line is a guide's shorthand: a Queens number with and without its hyphen, "B'way", "Central
    Park So.", a pier with a building number or a space, "1 Ferry Building, Marketplace"; some sites also behind
    an operator's name; a tenant of the line and a branch of the name at another line beside it) is appended
    after round 12's rows, from a stream of its own; the 2,240 earlier rows of the shipped set stay as they
    were. Each business is one entity; the tenant and the branch stay apart (main's engine before round 13
    scored these 48 rows at precision 0.7667, recall 0.8846)."""

    rows = generate(seed=2024, businesses=400)
    shorthand = [of_class(r, "y") for r in rows]
    first = shorthand.index(True)
    last = next(i for i in range(first, len(rows)) if not shorthand[i])  # round 14's rows come after
    assert all(shorthand[first:last]) and not any(shorthand[:first]) and not any(shorthand[last:])
    shipped = list(csv.DictReader(open(OUT)))
    assert shipped[:2240] == [{k: str(v) for k, v in g.items()} for g in generate()[:2240]]
    assert sum(of_class(r, "y") for r in shipped) == 2319 - 2240
    entities = entities_by_business(rows[first:last])
    assert all(len(e) == 1 for e in entities.values()), entities  # every business in one entity
    owners = [c for c in entities if c[-1].isdigit()]
    assert all(not entities[c] & entities.get(c + suffix, set()) for c in owners for suffix in "tb")
    queens = [r for r in rows[first:last] if re.match(r"\d+-\d\d ", r["address"])]
    assert queens and all(r["city"] in ("Astoria", "Queens", "Long Island City", "") for r in queens)
    assert all("718" in r["phone"] for r in queens if r["phone"])  # a Queens number is written in Queens


def test_round_fourteen_class_comes_last_and_is_resolved():
    """Round 14's classes (a college and its units, two services of one practice, a store's grocery pickup
    counter, two counters of one shop named by their dishes, each written one or two ways, at the venue's
    switchboard or a line of its own; a guide entry whose city carries its state, beside a branch of its name;
    a restaurant listed with the hotel it is in and under its own name, beside the hotel) are appended after
    round 13's rows, from a stream of their own; the 2,319 earlier rows of the shipped set stay as they were.
    Each business is one entity and no entity holds two (main's engine before round 14 scored these 157 rows of
    the shipped set at precision 0.3182, recall 0.8077)."""
    from schemas.geo import split_city_state

    rows = generate(seed=2024, businesses=400)
    units = [of_class(r, "d") for r in rows]
    first = units.index(True)
    end = next(i for i in range(first, len(rows)) if not units[i])  # round 16's rows come after
    assert all(units[first:end]) and not any(units[:first]) and not any(units[end:])
    rows = rows[:end]
    shipped = list(csv.DictReader(open(OUT)))
    assert shipped[:2319] == [{k: str(v) for k, v in g.items()} for g in generate()[:2319]]
    assert sum(of_class(r, "d") for r in shipped) == 2476 - 2319
    guides = [r for r in rows[first:] if r["cluster"][-1] in "cb" and not r["zip"] and not r["state"]]
    assert guides and all(split_city_state(r["city"])[1] for r in guides)  # each city carries its state
    assert any(" (" in r["name"] or " in the " in r["name"] or " - " in r["name"] for r in rows[first:])
    forms = Counter(r["category"] for r in rows[first:] if r["category"])
    assert {"college_unit", "grocery", "restaurant", "hotel"} <= set(forms) and set(forms) & {
        "therapy",
        "pet_services",
        "salon",
    }
    entities = entities_by_business(rows[first:])
    assert all(len(e) == 1 for e in entities.values()), entities  # every business in one entity
    clusters = list(entities)
    assert all(not entities[a] & entities[b] for i, a in enumerate(clusters) for b in clusters[i + 1 :])


def test_round_sixteen_class_comes_last_and_is_resolved():
    """Round 16's class (a business listed plainly and once more, without a phone or at its other line, with its
    street line as map data and guides write it: the corner after the comma led by an ordinal or a directional,
    the street first and its number after the comma, the street and its corner without a number in a guide's
    entry, a highway by its name and route number; or with the street in its name, its type abbreviated; a branch of the name at another number or
    street beside it) is appended after round 14's rows, from a stream of its own; the 2,476 earlier rows of
    the shipped set stay as they were. Each business is one entity, the branch apart (main's engine before
    round 16 scored these 44 rows of the shipped set at precision 0.8333, recall 0.2941)."""
    rows = generate(seed=2024, businesses=400)
    corners = [of_class(r, "c") for r in rows]
    first = corners.index(True)
    end = next(i for i in range(first, len(rows)) if not corners[i])  # round 17's rows come after
    assert all(corners[first:end]) and not any(corners[:first]) and not any(corners[end:])
    shipped = list(csv.DictReader(open(OUT)))
    assert shipped[:2476] == [{k: str(v) for k, v in g.items()} for g in generate()[:2476]]
    assert sum(of_class(r, "c") for r in shipped) == 2520 - 2476
    tail = rows[first:end]
    assert any(", " in r["address"] and r["address"].split(", ")[-1].isdigit() for r in tail)  # street first
    assert any(". " in r["name"] for r in tail)  # "Maple Ave. Deli"
    routes = [r["address"].split() for r in tail if "," not in r["address"]]
    assert any(w[-1].isdigit() and w[-2] in ("US", "Hwy", "Highway") for w in routes)  # "1568 Simpson US 49"
    assert any(not r["phone"] and r["address"][:1].isalpha() and ", " in r["address"] for r in tail)  # no number
    entities = entities_by_business(tail)
    assert all(len(e) == 1 for e in entities.values()), entities  # every business in one entity
    clusters = list(entities)
    assert all(not entities[a] & entities[b] for i, a in enumerate(clusters) for b in clusters[i + 1 :])


def test_round_seventeen_class_comes_last_and_is_resolved():
    """Round 17's class (a business listed with its street line, phone and point, and as a map's object: its name,
    whole or without "The" or its kind word, its point 5-80 m away, no street line, phone or ZIP, half the time
    no city; another business of the building at the same point; every other time a branch of the name 150 m to
    3 km away) is appended after round 16's rows, from a stream of its own; the 2,520 earlier rows of the shipped
    set stay as they were, their point empty. No entity holds two businesses, and a map object whose name is the
    business's (whole, or without "The") is that business's entity; main's engine, which reads no point, joins
    those only where the object has a city and no branch of the name is listed."""
    rows = generate(seed=2024, businesses=400)
    points = [of_class(r, "l") for r in rows]
    first = points.index(True)
    assert all(points[first:]) and not any(points[:first])
    assert all(r["latitude"] and r["longitude"] for r in rows[first:]) and not any(r["latitude"] for r in rows[:first])
    shipped = list(csv.DictReader(open(OUT)))
    assert shipped[:2520] == [{k: str(v) for k, v in g.items()} for g in generate()[:2520]]
    assert all(not r["latitude"] and not r["longitude"] for r in shipped[:2520])
    tail = rows[first:]
    entities = entities_by_business(tail)
    clusters = list(entities)
    assert all(not entities[a] & entities[b] for i, a in enumerate(clusters) for b in clusters[i + 1 :])
    full = {r["cluster"]: r["name"] for r in tail if r["address"] and r["cluster"][-1].isdigit()}  # "l3", not "l3b"
    whole = {
        r["cluster"]
        for r in tail
        if not r["address"] and r["cluster"] in full and r["name"] in (full[r["cluster"]], full[r["cluster"]][4:])
    }
    assert len(whole) >= 5 and any(not r["city"] for r in tail if r["cluster"] in whole and not r["address"])
    assert all(len(entities[c]) == 1 for c in whole), {c: entities[c] for c in whole}


def test_error_listing_names_the_split_businesses_and_the_joined_ones():
    """`evaluate --list` (dev halves only): a business split over two entities and an entity holding two
    businesses are each listed with their rows, and each joined row with how it joined."""
    from stages.dedupe.evaluate import error_listing

    base = {"city": "Chicago", "state": "IL", "zip": "60601"}
    rows = [
        {"id": "1", "cluster": "a", "name": "Rauner Family YMCA", "address": "2700 S Western Ave", **base},
        {"id": "2", "cluster": "a", "name": "Rauner Family YMCA", "address": "9100 S Western Ave", **base},
        {
            "id": "3",
            "cluster": "b",
            "name": "Fosco Park",
            "address": "1312 S Racine Ave",
            "phone": "3127465000",
            **base,
        },
        {
            "id": "4",
            "cluster": "c",
            "name": "Fosco Park",
            "address": "1312 S Racine Ave",
            "phone": "3127465000",
            **base,
        },
    ]
    missed, wrong = error_listing(rows)
    assert len(missed) == 1 and "MISSED cluster a" in missed[0] and "9100 S Western" in missed[0]
    assert len(wrong) == 1 and "Fosco Park" in wrong[0] and "(2 clusters)" in wrong[0]
    # The later row says how it joined: the model, with its probability and the keys that agree.
    assert "joined by model, p=" in wrong[0] and "agreeing on phone, address, name" in wrong[0]


def test_em_check_separates_a_clear_mix_without_labels():
    """`emcheck.fit_em` (the round-8 measurement of an unsupervised refit) finds the matching class of a
    mix of agreeing and disagreeing comparison vectors without labels."""
    import random

    from stages.dedupe.emcheck import LEVELS, _posterior, fit_em

    rng = random.Random(3)
    agree = [tuple(1 if rng.random() < 0.9 else 0 for _ in LEVELS) for _ in range(200)]
    differ = [
        tuple((rng.randrange(2, n) if n > 2 else 1) if rng.random() < 0.8 else 0 for n in LEVELS) for _ in range(400)
    ]
    agree = [(v[0], 0, *v[2:]) for v in agree]  # no name conflict among the matches
    model = fit_em(agree + differ, iterations=50)
    assert 0.25 < model[0] < 0.45
    assert sum(_posterior(model, v) > 0.5 for v in agree) >= 190
    assert sum(_posterior(model, v) < 0.5 for v in differ) >= 390


def test_partition_split_counts_the_true_pairs_that_two_partitions_keep_apart():
    """A phone-only listing placed by its area code in another state than the business's address (the partition
    key's miss, which only the phone directory reaches) is split; the same listing with the city is not. The
    split pair is compared all the same (blocking recall) while it shares the phone, as the directory compares it
    in the stream; with another number nothing compares it."""
    from stages.dedupe.evaluate import evaluate_rows

    shop = {"cluster": "1", "name": "Hoboken Bike Works", "address": "101 Washington St", "city": "Hoboken"}
    rows = [
        {"id": "a", **shop, "state": "NJ", "zip": "07030", "phone": "212-555-0142"},
        {"id": "b", "cluster": "1", "name": "Hoboken Bike Works", "phone": "(212) 555-0142"},  # only the phone: NY
        {"id": "c", "cluster": "2", "name": "Joe's Noodle Bar", "address": "1 N Main St", "state": "NJ"},
    ]
    split = evaluate_rows(rows)
    assert split["partition_split"] == 1.0 and split["blocking_recall"] == 1.0
    apart = evaluate_rows([rows[0], {**rows[1], "phone": "(212) 555-0199"}, rows[2]])
    assert apart["partition_split"] == 1.0 and apart["blocking_recall"] == 0.0
    rows[1]["city"] = "Hoboken"  # a known city places it in NJ
    together = evaluate_rows(rows)
    assert together["partition_split"] == 0.0 and together["blocking_recall"] == 1.0


def test_a_split_pair_sharing_a_name_word_street_number_and_city_is_compared():
    """The directory's name and street key (`phone_look.name_street_keys`) compares a pair of two partition keys
    with no phone in common; a pair that shares the keys' words but not the city is not compared."""
    from stages.dedupe.evaluate import evaluate_rows

    club = {"cluster": "1", "name": "Port Imperial Rowing Club", "address": "500 Port Imperial Blvd"}
    rows = [
        {"id": "a", **club, "city": "Weehawken", "state": "NJ", "zip": "07086", "phone": "201-555-0177"},
        {"id": "b", **club, "city": "Weehawken", "phone": "917-555-0163"},  # a New York cell, no ZIP: keyed NY
        {"id": "c", "cluster": "2", "name": "Joe's Noodle Bar", "address": "1 N Main St", "state": "NJ"},
    ]
    assert evaluate_rows(rows)["partition_split"] == 1.0 and evaluate_rows(rows)["blocking_recall"] == 1.0
    rows[1]["city"] = "Edgewater"
    assert evaluate_rows(rows)["blocking_recall"] == 0.0


def test_a_split_pair_of_a_bare_listing_and_its_twin_is_compared_by_name_and_city():
    """The directory's name and city key (`phone_look.name_city_keys`) compares a bare entry (a name and a city,
    keyed "unknown") with its full twin; with another city it does not, and the pair is missed."""
    from stages.dedupe.evaluate import evaluate_rows

    bakery = {"cluster": "1", "name": "Blue Door Bakery", "city": "Weehawken"}
    rows = [
        {"id": "a", **bakery, "address": "10 Gregory Ave", "state": "NJ", "zip": "07086", "phone": "201-555-0110"},
        {"id": "b", **bakery},
        {"id": "c", "cluster": "2", "name": "Joe's Noodle Bar", "address": "1 N Main St", "state": "NJ"},
    ]
    scores = evaluate_rows(rows)
    assert scores["partition_split"] == 1.0 and scores["blocking_recall"] == 1.0 and scores["f1"] == 1.0
    rows[1]["city"] = "Union City"
    assert evaluate_rows(rows)["blocking_recall"] == 0.0


def test_one_mistyped_zip_does_not_split_a_pair():
    """The partition key's fields vote (`schemas.geo.dedupe_key`): a ZIP of another state under the right state
    and city is outvoted, so the twins share a partition and are compared."""
    from stages.dedupe.evaluate import evaluate_rows

    clinic = {"cluster": "1", "name": "Allegheny Hearing Center", "address": "802 Penn Ave", "city": "Pittsburgh"}
    rows = [
        {"id": "a", **clinic, "state": "PA", "zip": "15233"},
        {"id": "b", **clinic, "state": "PA", "zip": "14233"},  # a New York prefix, typed for 15233
        {"id": "c", "cluster": "2", "name": "Joe's Noodle Bar", "address": "1 N Main St", "state": "PA"},
    ]
    scores = evaluate_rows(rows)
    assert scores["partition_split"] == 0.0 and scores["blocking_recall"] == 1.0 and scores["f1"] == 1.0
