"""Public labelled data about real organisations, converted to our CSV format.

The data is never committed: it lives under ``$LEADSTREAM_ER_DATA`` (default
``/work/shared/data/er``), one folder per dataset, as fetched. Each converter
reads the source files and returns rows with our columns plus ``cluster`` (the
true entity). `split` divides a dataset by entity (never a business across the
halves) into a ``dev`` half, which may be looked at while developing the
normalizers, and a ``test`` half, which is only ever scored.

Datasets:

- ``chicago_early_childhood``: early-childhood education sites in Chicago,
  3,337 listings of 1,162 sites compiled from 9 public directories (city and
  school district portals, accreditation lists, a provider guide), hand-labelled
  with a true site id. From the `dedupe` library's examples
  (``dedupeio/dedupe-examples``, ``csv_example/csv_example_input_with_true_ids.csv``,
  MIT licence). Phones are 7-digit local numbers (the sources dropped the area
  code): the converter prefixes 773 to every one, which keeps equality as it was;
  the sources have no city column, and every listing is a Chicago-area site, so
  the city is "Chicago" (a lead always has a place: ZIP, city + state, or phone).
- ``patstat_organisations``: Dutch patent applicants (mostly companies), 2,379
  name records of 102 organisations hand-disambiguated by KU Leuven, from the same
  repository (``patent_example/patstat_reference.csv``, MIT licence). Names only
  (no street, phone or city): a check of legal-suffix and name handling, and of
  the rule that a name alone never merges.
- ``overture_place_pairs``: pairs of place listings from the Overture Maps
  Foundation's Places data (records from Meta, Microsoft and Foursquare: shops,
  banks, ATMs, hotels, clinics, gas stations, salons, churches, some eateries),
  each pair labelled match / non-match by the Foundation for a course project
  (UC Santa Cruz CRWN 102 "Project C: place conflation", 2025). The sample is
  published in ``project-terraforma/Tisha-Place-Conflation``
  (``data/raw/samples_3k_project_c_updated.parquet``, 3,000 pairs, repository
  under the Apache 2.0 licence; Overture Places data is CDLA-Permissive-2.0). How
  the labels were made is not documented there. The converter keeps the 1,389
  pairs whose two records are both in the US (the engine normalises US phones
  and street lines) and writes each record once (a record in two pairs is one
  row): the first name, phone, website and email of each side, the address's
  freeform line as the street, its locality as the city, region as the state and
  the postcode's first five digits as the ZIP, the primary category, and the
  first source's dataset as the source. The sample has no geometry column (its
  records carry no point), so its rows have no coordinates. A match pair's two records are one
  entity (records linked through several match pairs too); a non-match pair's
  two are two. Records of different pairs are taken to be different places (the
  sample is drawn across the whole country; a pair of the same place in two rows
  is not labelled). Left out as well: 35 records of a listing publisher's test
  account (placeholder names such as "PUBLIC LOCATION NAME EXTERNALID NAME" or
  "Real Estate Profile1 - Suite", all at one East Palo Alto address and phone),
  which are not places. Halves are split by the pair (the ``group`` of linked
  records), so a non-match pair's two records stay in one half and the hard
  negatives are kept. Reading the Parquet file needs ``pyarrow`` (the
  ``erdata`` extra).
- ``geoer_pittsburgh``: place listings in and around Pittsburgh, PA, from
  OpenStreetMap and Foursquare (shops, banks, offices, churches, schools,
  university buildings, parks, apartment blocks, bus stops, some eateries),
  5,001 candidate pairs (an OSM record against a nearby Foursquare record, 1,454
  labelled match) of the "Geospatial Entity Resolution" paper (Balsebre, Yao,
  Cong, Hai, WWW 2022), published in ``PasqualeTurin/Geo-ER``
  (``data/train_valid_test/osm_fsq/pit/{train,valid,test}.txt``). The repository
  has no licence file; its README asks users of the datasets to cite the paper.
  The records come from OSM (ODbL 1.0) and Foursquare's venue API (Foursquare's
  terms); the files are read here, never redistributed. Each pair line is two
  serialised records (``COL name VAL ... COL latitude VAL ... COL longitude VAL
  ... COL address VAL ... COL postalCode VAL ...``) and a 0/1 label. The
  converter reads all three files (the authors' split is by pair, not by place,
  so it is not used), writes each distinct record once (an OSM record is the
  left side, a Foursquare record the right; the same text on one side is one
  record), keeps the name, the street line, the ZIP and (round 17) the
  coordinates, which the engine reads. OSM street lines are written
  "street, number" ("Forbes Avenue, 332"): the number is moved to the front;
  Foursquare lines are kept as written ("201 N Craig St, Bayard"). There is no
  phone, website or city column: every record is in Allegheny County, so the
  state is "PA" and the city "Pittsburgh" (as for the Chicago set; suburbs such
  as Mt. Lebanon get the county seat). Entities and groups are made as for the
  Overture pairs (`labelled_pair_rows`): a match pair's two records are one
  place, records linked through match pairs too; a non-match pair contradicting
  the matches is left out; records never labelled together are taken to be
  different places (two Foursquare listings of one place are not labelled and
  count as different). Halves are split by the group of records tied by any
  labelled pair; the candidate pairs chain many records together (the largest
  group has about a fifth of the records), so the halves differ in size. Laid
  out from a clone of the repository (``git clone
  https://github.com/PasqualeTurin/Geo-ER``) with ``for f in train valid test;
  do git -C Geo-ER show HEAD:data/train_valid_test/osm_fsq/pit/$f.txt >
  $LEADSTREAM_ER_DATA/geoer_pittsburgh/$f.txt; done``.
- The other Geo-ER sets (round 20, `GEOER_SETS`), **held out** (`HELD_OUT`):
  only ever scored, never listed or studied, no rule chosen on them; they
  measure whether the rules chosen on ``geoer_pittsburgh``'s ``dev`` half carry
  over. The same repository's OSM–Yelp pairs of Pittsburgh
  (``geoer_yelp_pittsburgh``, 5,116 pairs, 1,622 match) and both pairings of
  Toronto (``geoer_fsq_toronto``, 17,858 pairs; ``geoer_yelp_toronto``, 27,969
  pairs), Edinburgh (``geoer_fsq_edinburgh``, ``geoer_yelp_edinburgh``) and
  Singapore (``geoer_fsq_singapore``, ``geoer_yelp_singapore``), in the same
  format and converted the same way (`geoer_pair_rows`): the right-hand source
  is ``fsq`` or ``yelp``, every record gets the set's city (suburbs the city's
  name, as for Pittsburgh) and state ("ON" for Toronto, none for Edinburgh and
  Singapore), and the postal code (`_geoer_postcode`) is a US ZIP's first five
  digits, another country's code as written ("M5T 3K1", "EH1 1AA": no ZIP to the
  engine) and a Singapore code given as a number zero-padded to six digits (the
  authors' export wrote Yelp's codes as numbers, "15219.0"). About half of the
  Pittsburgh OSM–Yelp set's OSM records (1,290 of 2,506) are also in
  ``geoer_pittsburgh`` (869 of them in its ``dev`` half), paired there with
  Foursquare records; its Yelp records and its labels are new. Edinburgh and
  Singapore are outside the product's domain and the US-oriented partition key
  and normalisers (a Singapore code's first five digits read as a US ZIP, so a
  listing with a code and one without land in two partitions): they are
  measured for reference only (`REFERENCE_ONLY`) and left out of ``evaluate``'s
  default run. Laid out with ``for pair in osm_fsq osm_yelp; do for city in pit
  tor edi sin; do mkdir -p $LEADSTREAM_ER_DATA/geoer/$pair/$city; for f in
  train valid test; do git -C Geo-ER show
  HEAD:data/train_valid_test/$pair/$city/$f.txt >
  $LEADSTREAM_ER_DATA/geoer/$pair/$city/$f.txt; done; done; done`` (the
  ``osm_fsq/pit`` copy there is the same as ``geoer_pittsburgh``'s and is not
  read).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

DATA_ROOT = Path(os.environ.get("LEADSTREAM_ER_DATA", "/work/shared/data/er"))


def _read(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        return list(csv.DictReader(fh))


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def chicago_early_childhood(root: Path = DATA_ROOT) -> list[dict]:
    rows = []
    for r in _read(root / "chicago_early_childhood" / "csv_example_input_with_true_ids.csv"):
        phone = "".join(c for c in r.get("Phone", "") if c.isdigit())
        if len(phone) == 7:
            phone = "773" + phone
        website = _clean(r.get("Website"))
        rows.append(
            {
                "id": f"cec{r['Id']}",
                "cluster": r["True Id"],
                "source": _clean(r.get("Source")),
                "name": _clean(r.get("Site name")),
                "address": _clean(r.get("Address")),
                "city": "Chicago",
                "state": "",
                "zip": _clean(r.get("Zip")),
                "phone": phone,
                "website": "" if website.lower() in ("yes", "no") else website,
                "email": _clean(r.get("Email Address")),
                "category": "",
            }
        )
    return rows


def patstat_organisations(root: Path = DATA_ROOT) -> list[dict]:
    rows = []
    for r in _read(root / "patstat" / "patstat_reference.csv"):
        rows.append(
            {
                "id": f"pat{r['person_id']}",
                "cluster": r["leuven_id"],
                "source": "patstat",
                "name": _clean(r["person_name"].lstrip("* ")),
                "address": "",
                "city": "",
                "state": "",
                "zip": "",
                "phone": "",
                "website": "",
                "email": "",
                "category": "",
            }
        )
    return rows


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _first(text: str | None) -> str:
    """The first non-empty string of a JSON list ("[\"+1212...\"]"), or ""."""
    values = _json(text)
    if isinstance(values, list):
        for value in values:
            if isinstance(value, str) and value.strip() and value.strip().lower() != "null":
                return _clean(value)
    return ""


# The phone of a listing publisher's test account in the Overture sample: its records are placeholders.
_OVERTURE_TEST_PHONES = frozenset({"4089844462"})


def _overture_side(record: dict, prefix: str) -> dict | None:
    """One side of an Overture pair as our row, or None when it is not a US address."""
    addresses = _json(record.get(prefix + "addresses"))
    address = addresses[0] if isinstance(addresses, list) and addresses and isinstance(addresses[0], dict) else {}
    if address.get("country") != "US":
        return None
    names = _json(record.get(prefix + "names")) or {}
    categories = _json(record.get(prefix + "categories")) or {}
    sources = _json(record.get(prefix + "sources")) or [{}]
    zip_code = "".join(c for c in str(address.get("postcode") or "") if c.isdigit())[:5]
    return {
        "name": _clean(names.get("primary") if isinstance(names, dict) else ""),
        "address": _clean(address.get("freeform")),
        "city": _clean(address.get("locality")),
        "state": _clean(address.get("region")),
        "zip": zip_code,
        "phone": _first(record.get(prefix + "phones")),
        "website": _first(record.get(prefix + "websites")),
        "email": _first(record.get(prefix + "emails")),
        "category": _clean(categories.get("primary") if isinstance(categories, dict) else ""),
        "source": _clean(sources[0].get("dataset") if sources and isinstance(sources[0], dict) else "") or "overture",
    }


def overture_pair_rows(pairs: Iterable[dict]) -> list[dict]:
    """Labelled pairs (``label``, ``id``/``base_id`` and each side's Overture columns) → our rows.

    Each record once, in the order first met (a pair's base record first); ``cluster`` joins the records
    of match pairs, ``group`` the records of any labelled pair (what `split` keeps together). Pairs with a
    side outside the US are left out; a non-match pair whose records are joined through match pairs is
    contradictory and left out too.
    """
    labelled: list[tuple[dict, dict, bool]] = []
    for pair in pairs:
        base, other = _overture_side(pair, "base_"), _overture_side(pair, "")
        if base is None or other is None or pair.get("label") is None:
            continue
        if any(
            "".join(c for c in side["phone"] if c.isdigit())[-10:] in _OVERTURE_TEST_PHONES for side in (base, other)
        ):
            continue  # a test listing, not a place
        base_id, other_id = f"ovt{pair['base_id']}", f"ovt{pair['id']}"
        if base_id == other_id:
            continue
        labelled.append(({"id": base_id, **base}, {"id": other_id, **other}, float(pair["label"]) >= 0.5))
    return labelled_pair_rows(labelled)


def labelled_pair_rows(pairs: Iterable[tuple[dict, dict, bool]]) -> list[dict]:
    """Labelled pairs of rows (each with its ``id``; a row in several pairs once, as first met) → rows with
    ``cluster`` (records joined by match pairs) and ``group`` (records joined by any kept labelled pair).

    A non-match pair whose records are joined through match pairs is contradictory and left out, and so is a
    record that is only in such pairs.
    """
    rows: dict[str, dict] = {}
    matches: list[tuple[str, str]] = []
    non_matches: list[tuple[str, str]] = []
    for first, second, match in pairs:
        rows.setdefault(first["id"], first)
        rows.setdefault(second["id"], second)
        (matches if match else non_matches).append((first["id"], second["id"]))
    cluster = {r: r for r in rows}
    group = {r: r for r in rows}

    def root(parent: dict[str, str], x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in matches:
        cluster[root(cluster, a)] = root(cluster, b)
    contradictory = {(a, b) for a, b in non_matches if root(cluster, a) == root(cluster, b)}
    for a, b in matches + [p for p in non_matches if p not in contradictory]:
        group[root(group, a)] = root(group, b)
    used = {x for pair in matches + non_matches if pair not in contradictory for x in pair}
    return [
        {**row, "cluster": root(cluster, rid), "group": root(group, rid)} for rid, row in rows.items() if rid in used
    ]


def overture_place_pairs(root: Path = DATA_ROOT) -> list[dict]:
    import pyarrow.parquet as pq  # the `erdata` extra: only this set is Parquet

    table = pq.read_table(root / "overture_place_pairs" / "samples_3k_project_c_updated.parquet")
    return overture_pair_rows(table.to_pylist())


_GEOER_FIELD = re.compile(r"COL (\w+) VAL ")
_GEOER_FILES = ("train.txt", "valid.txt", "test.txt")


def _geoer_record(text: str) -> dict[str, str]:
    """``COL name VAL x COL address VAL y ...`` → {"name": "x", "address": "y", ...} (spaces collapsed)."""
    fields = list(_GEOER_FIELD.finditer(text))
    return {
        m.group(1): _clean(text[m.end() : fields[i + 1].start() if i + 1 < len(fields) else len(text)])
        for i, m in enumerate(fields)
    }


def _osm_street(line: str) -> str:
    """OSM's "Forbes Avenue, 332" (street, house number) as a US street line, "332 Forbes Avenue"."""
    street, sep, number = line.rpartition(", ")
    return f"{number} {street}" if sep and number[:1].isdigit() and not street[:1].isdigit() else line


# A float artifact of the authors' export: Yelp's postal codes were written as numbers ("15219.0", Singapore's
# "18956.0" for "018956").
_FLOAT_CODE = re.compile(r"(\d+)\.0")


def _geoer_postcode(text: str, country: str) -> str:
    """A record's postal code as a lead would carry it: the US ZIP's first five digits (as before round 20); another
    country's code as written ("M5T 3K1", "EH1 1AA"), a Singapore code given as a number zero-padded to its six
    digits. The float artifact ("15219.0") is dropped first."""
    code = _clean(text)
    whole = _FLOAT_CODE.fullmatch(code)
    if whole:
        code = whole.group(1)
    if country == "US":
        return "".join(c for c in code if c.isdigit())[:5]
    if country == "SG" and code.isdigit() and len(code) < 6:
        return code.zfill(6)
    return code


def geoer_pair_rows(
    lines: Iterable[str],
    right: str = "fsq",
    city: str = "Pittsburgh",
    state: str = "PA",
    country: str = "US",
) -> list[dict]:
    """Geo-ER pair lines (``<OSM record>\t<Foursquare or Yelp record>\t<0|1>``) → our rows, as
    `labelled_pair_rows`. ``right`` names the right-hand source (``fsq``, ``yelp``); every record gets the set's
    ``city`` and ``state`` (the files have neither); ``country`` says how postal codes are read (`_geoer_postcode`).
    """
    labelled: list[tuple[dict, dict, bool]] = []
    ids: dict[tuple[str, str], str] = {}
    for line in lines:
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 3 or parts[2].strip() not in ("0", "1"):
            continue
        sides = []
        for prefix, text in (("osm", parts[0]), (right, parts[1])):
            record = _geoer_record(text)
            rid = ids.setdefault((prefix, text.strip()), f"geo{prefix}{len(ids)}")
            street = record.get("address", "")
            sides.append(
                {
                    "id": rid,
                    "source": prefix,
                    "name": record.get("name", ""),
                    "address": _osm_street(street) if prefix == "osm" else street,
                    "city": city,
                    "state": state,
                    "zip": _geoer_postcode(record.get("postalCode", ""), country),
                    "phone": "",
                    "website": "",
                    "email": "",
                    "category": "",
                    # the records' points (WGS 84), which the candidate pairs were drawn by (round 17)
                    "latitude": record.get("latitude", ""),
                    "longitude": record.get("longitude", ""),
                }
            )
        labelled.append((sides[0], sides[1], parts[2].strip() == "1"))
    return labelled_pair_rows(labelled)


def _geoer_lines(folder: Path) -> list[str]:
    lines: list[str] = []
    for name in _GEOER_FILES:
        with open(folder / name, encoding="utf-8") as fh:
            lines.extend(fh)
    return lines


def geoer_pittsburgh(root: Path = DATA_ROOT) -> list[dict]:
    return geoer_pair_rows(_geoer_lines(root / "geoer_pittsburgh"))


# Round 20: the Geo-ER repository's other pairs and cities, held out (`HELD_OUT`). Name → (the source pair, the
# city's folder, the right-hand source, the city and state every record gets, the country its postal codes are of).
GEOER_SETS: dict[str, tuple[str, str, str, str, str, str]] = {
    "geoer_yelp_pittsburgh": ("osm_yelp", "pit", "yelp", "Pittsburgh", "PA", "US"),
    "geoer_fsq_toronto": ("osm_fsq", "tor", "fsq", "Toronto", "ON", "CA"),
    "geoer_yelp_toronto": ("osm_yelp", "tor", "yelp", "Toronto", "ON", "CA"),
    "geoer_fsq_edinburgh": ("osm_fsq", "edi", "fsq", "Edinburgh", "", "GB"),
    "geoer_yelp_edinburgh": ("osm_yelp", "edi", "yelp", "Edinburgh", "", "GB"),
    "geoer_fsq_singapore": ("osm_fsq", "sin", "fsq", "Singapore", "", "SG"),
    "geoer_yelp_singapore": ("osm_yelp", "sin", "yelp", "Singapore", "", "SG"),
}


def geoer_set(name: str, root: Path = DATA_ROOT) -> list[dict]:
    """One of `GEOER_SETS`, read from ``<root>/geoer/<pair>/<city>/{train,valid,test}.txt``."""
    pair, folder, right, city, state, country = GEOER_SETS[name]
    return geoer_pair_rows(_geoer_lines(root / "geoer" / pair / folder), right, city, state, country)


def _geoer_loader(name: str) -> Callable[[Path], list[dict]]:
    return lambda root: geoer_set(name, root)


DATASETS: dict[str, tuple[Callable[[Path], list[dict]], str]] = {
    "chicago_early_childhood": (chicago_early_childhood, "chicago_early_childhood/csv_example_input_with_true_ids.csv"),
    "patstat_organisations": (patstat_organisations, "patstat/patstat_reference.csv"),
    "overture_place_pairs": (overture_place_pairs, "overture_place_pairs/samples_3k_project_c_updated.parquet"),
    "geoer_pittsburgh": (geoer_pittsburgh, "geoer_pittsburgh/test.txt"),
    **{
        name: (_geoer_loader(name), f"geoer/{pair}/{folder}/test.txt")
        for name, (pair, folder, *_) in GEOER_SETS.items()
    },
}


# Two-source linkage sets: every labelled pair joins a record of one source (``source``) to one of the other, so
# pairs within one source are unlabelled; `evaluate` also scores them on cross-source pairs only.
LINKAGE_SETS = frozenset({"geoer_pittsburgh", *GEOER_SETS})

# Held-out sets (round 20): only ever scored, both halves. No rule is chosen on them and their errors are not listed
# (`evaluate --list` refuses them): they measure whether rules chosen on Pittsburgh's OSM–Foursquare `dev` half
# carry to another source and other cities.
HELD_OUT = frozenset(GEOER_SETS)

# Held-out sets outside North America, measured for reference only and left out of `evaluate`'s default run
# (``evaluate --sets NAME`` scores them): the product's leads are North American, the partition key and the postal
# code and street normalisers are US-oriented (a Singapore code's first five digits read as a US ZIP), and the four
# would add about 20 s to the run.
REFERENCE_ONLY = frozenset(
    {"geoer_fsq_edinburgh", "geoer_yelp_edinburgh", "geoer_fsq_singapore", "geoer_yelp_singapore"}
)
DEFAULT_RUN = tuple(name for name in DATASETS if name not in REFERENCE_ONLY)


def available(root: Path = DATA_ROOT) -> dict[str, bool]:
    return {name: (root / path).exists() for name, (_, path) in DATASETS.items()}


def load(name: str, root: Path = DATA_ROOT) -> list[dict]:
    return DATASETS[name][0](root)


def split(rows: list[dict], part: str) -> list[dict]:
    """The ``dev`` or ``test`` half, by a hash of the true entity id (stable, no RNG).

    A row's ``group``, where a set has one (records a labelled pair ties together, match or not), is
    hashed instead, so a labelled non-match never straddles the halves.
    """
    want = {"dev": 0, "test": 1}[part]
    return [
        r
        for r in rows
        if hashlib.blake2b((r.get("group") or r["cluster"]).encode(), digest_size=2).digest()[0] % 2 == want
    ]
