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
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

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


DATASETS: dict[str, tuple[Callable[[Path], list[dict]], str]] = {
    "chicago_early_childhood": (chicago_early_childhood, "chicago_early_childhood/csv_example_input_with_true_ids.csv"),
    "patstat_organisations": (patstat_organisations, "patstat/patstat_reference.csv"),
}


def available(root: Path = DATA_ROOT) -> dict[str, bool]:
    return {name: (root / path).exists() for name, (_, path) in DATASETS.items()}


def load(name: str, root: Path = DATA_ROOT) -> list[dict]:
    return DATASETS[name][0](root)


def split(rows: list[dict], part: str) -> list[dict]:
    """The ``dev`` or ``test`` half, by a hash of the true entity id (stable, no RNG)."""
    want = {"dev": 0, "test": 1}[part]
    return [r for r in rows if hashlib.blake2b(r["cluster"].encode(), digest_size=2).digest()[0] % 2 == want]
