"""How ``leadstream dedupe`` reads a listing file, and which column feeds which field of `DedupeInput`.

Listing files come from many exporters: ``Name`` or ``business_name``, ``addr`` or
``Street Address``, ``type`` or ``category``; UTF-8 or a Windows code page; commas,
semicolons or tabs. A header the reader does not know is not an error (notes,
labels and ids of other systems are common), but it is reported, so that a file
whose street column went unread does not quietly score as if it had no
addresses. A file with no column the engine reads is refused.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Field → accepted headers, after `header_key` (lower case, runs of spaces, dots and
# hyphens as one underscore). Earlier headers win when a row has several filled.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "business_name", "company_name", "business", "company"),
    "address": (
        "address",
        "street",
        "addr",
        "street_address",
        "address1",
        "address_1",
        "address_line_1",
        "address_line1",
    ),
    "city": ("city", "town", "locality"),
    "state": ("state", "region", "province", "state_code"),
    "zip": ("zip", "zipcode", "zip_code", "postcode", "postal_code", "postalcode"),
    "phone": ("phone", "telephone", "tel", "phone_number", "phonenumber"),
    "website": ("website", "url", "web", "homepage"),
    "email": ("email", "e_mail", "email_address"),
    "category": ("category", "categories", "type", "business_type", "cuisine", "industry"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lng", "lon", "long"),
    "source": ("source",),
}
ID_HEADERS = ("id",)

_SEPARATORS = re.compile(r"[\s.\-]+")


def header_key(header: str) -> str:
    """``"Street Address"``, ``"street-address"`` and ``"STREET_ADDRESS"`` are one header."""
    return _SEPARATORS.sub("_", header.strip().lower()).strip("_")


@dataclass(frozen=True)
class ColumnMap:
    """The file's headers per field (in alias order), its id header, and the headers nothing reads."""

    id_header: str
    fields: dict[str, tuple[str, ...]]
    ignored: tuple[str, ...] = field(default=())

    def row(self, raw: Mapping[str, str | None]) -> dict[str, str | None]:
        """The row under the field names `DedupeInput.from_row` reads: the first filled header per field."""
        out: dict[str, str | None] = {"id": raw.get(self.id_header)}
        for name, headers in self.fields.items():
            out[name] = next((raw[h] for h in headers if (raw.get(h) or "").strip()), None)
        return out

    def describe(self) -> str:
        read = ", ".join(f"{name}←{'/'.join(headers)}" for name, headers in self.fields.items())
        ignored = ", ".join(self.ignored) or "none"
        return f"columns read: id←{self.id_header}, {read}; ignored: {ignored}"


def map_columns(headers: Sequence[str], where: str) -> ColumnMap:
    """Raise ValueError naming the file when it has no id column or no column the engine reads."""
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(header_key(header), header)
    id_header = next((by_key[k] for k in ID_HEADERS if k in by_key), None)
    if id_header is None:
        raise ValueError(f"{where}: an `id` column is required (headers: {', '.join(headers) or 'none'})")
    fields: dict[str, tuple[str, ...]] = {}
    for name, aliases in ALIASES.items():
        found = tuple(by_key[a] for a in aliases if a in by_key)
        if found:
            fields[name] = found
    used = {id_header} | {h for hs in fields.values() for h in hs}
    if not fields.keys() - {"source"}:
        known = ", ".join(ALIASES)
        raise ValueError(f"{where}: no column the engine reads (fields: {known}); headers: {', '.join(headers)}")
    return ColumnMap(id_header, fields, tuple(h for h in headers if h not in used))


DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class ListingFile:
    """A listing file's rows by header, and how its bytes were read."""

    headers: list[str]
    rows: list[dict[str, str | None]]
    encoding: str
    delimiter: str

    def describe(self) -> str:
        return f"read as {self.encoding}, {_DELIMITER_NAMES[self.delimiter]}-separated"


def read_listing_file(path: str | Path) -> ListingFile:
    """UTF-8 (with or without a byte-order mark), else Windows-1252, else Latin-1 (which reads any byte); the
    delimiter is the first of `DELIMITERS` that splits the header line, comma when none does."""
    data = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    header_line = text.split("\n", 1)[0]
    delimiter = next((d for d in DELIMITERS if len(next(csv.reader([header_line], delimiter=d))) > 1), ",")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = list(reader)
    return ListingFile(list(reader.fieldnames or []), rows, encoding.removesuffix("-sig"), delimiter)
