"""What the engine reads about a lead (`DedupeInput`) and its normalized form (`Profile`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schemas.geo import dedupe_key
from stages.dedupe.address import Address, parse_address
from stages.dedupe.columns import ALIASES
from stages.dedupe.normalize import (
    normalize_category,
    normalize_city,
    normalize_domain,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_zip,
    website_page,
)

if TYPE_CHECKING:
    from schemas.lead import Lead

FIELDS = ("name", "street", "city", "state", "zip", "phone", "website", "email", "category")


def _coordinate(value: Any, bound: float) -> float | None:
    """A latitude (``bound`` 90) or longitude (180) from a CSV cell or a field: a finite number within bounds."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if -bound <= number <= bound else None  # NaN fails both comparisons


def location(latitude: Any, longitude: Any) -> tuple[float, float] | None:
    """A point, or None unless both coordinates are readable (0, 0 is a placeholder, not a place)."""
    lat, lng = _coordinate(latitude, 90), _coordinate(longitude, 180)
    if lat is None or lng is None or (lat == 0 and lng == 0):
        return None
    return lat, lng


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _first_of(row: Mapping[str, Any], columns: tuple[str, ...]) -> Any:
    for column in columns:
        value = _text(row.get(column))
        if value is not None:
            return value
    return None


@dataclass(slots=True)
class DedupeInput:
    """One lead as the engine sees it, from a `Lead` or a CSV row."""

    lead_id: str
    name: str | None = None
    source: str = "other"
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    phone: str | None = None
    website: str | None = None
    email: str | None = None
    category: str | None = None
    geo_key: str = ""  # the dedupe partition key; from a Lead, its Kafka key
    latitude: float | None = None  # the listing's point, when the source gives one (round 17)
    longitude: float | None = None

    def __post_init__(self) -> None:
        if not self.geo_key:  # a CSV row: the key the stream would give it (`schemas.geo.dedupe_key`)
            self.geo_key = dedupe_key(self.zip, self.state, self.phone, self.city)

    @classmethod
    def from_lead(cls, lead: Lead) -> DedupeInput:
        return cls(
            lead_id=lead.lead_id,
            name=lead.name,
            source=lead.source,
            street=lead.street,
            city=lead.city,
            state=lead.state,
            zip=lead.zip,
            phone=lead.phone,
            website=lead.website,
            email=lead.email,
            category=lead.category or lead.vertical,
            geo_key=lead.geo_key,
            latitude=lead.latitude,
            longitude=lead.longitude,
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any], source: str = "csv") -> DedupeInput:
        """A CSV row: any column but ``id`` may be absent or empty; the street line and the point are read under the
        names `columns.ALIASES` gives them (``address``, ``lat``/``lng``...), the point only when both coordinates
        are readable numbers."""
        values: dict[str, Any] = {f: _text(row.get(f)) for f in FIELDS if f != "street"}
        values["street"] = _first_of(row, ALIASES["address"])
        point = location(
            _first_of(row, ALIASES["latitude"]),
            _first_of(row, ALIASES["longitude"]),
        )
        if point:
            values["latitude"], values["longitude"] = point
        return cls(lead_id=str(row["id"]).strip(), source=_text(row.get("source")) or source, **values)

    def field_values(self) -> dict[str, str | None]:
        return {f: getattr(self, f) for f in FIELDS}


@dataclass(slots=True)
class Profile:
    """Normalized, comparable form of a lead; stored per entity as a compact list."""

    name: str = ""
    phone: str | None = None
    domains: tuple[str, ...] = ()
    email: str | None = None
    address: Address = field(default_factory=Address)
    city: str = ""
    zip: str = ""
    state: str = ""
    category: str = ""
    geo: str = ""
    page: str = ""  # the website's own page, when it is not the home page (`website_page`)
    # The listing's point (round 17), rounded to 6 decimals (~0.1 m); None when the source gave none.
    lat: float | None = None
    lng: float | None = None

    @classmethod
    def of(cls, record: DedupeInput) -> Profile:
        email, email_domain = normalize_email(record.email)
        domains = {d for d in (normalize_domain(record.website), email_domain) if d}
        point = location(record.latitude, record.longitude) if record.latitude is not None else None
        return cls(
            name=normalize_name(record.name),
            phone=normalize_phone(record.phone),
            domains=tuple(sorted(domains)),
            email=email,
            address=parse_address(record.street),
            city=normalize_city(record.city),
            zip=normalize_zip(record.zip),
            state=(record.state or "").strip().lower(),
            category=normalize_category(record.category),
            geo=record.geo_key,
            page=website_page(record.website),
            lat=round(point[0], 6) if point else None,
            lng=round(point[1], 6) if point else None,
        )

    def to_list(self) -> list:
        a = self.address
        stored: list = [
            self.name,
            self.phone,
            list(self.domains),
            self.email,
            a.number,
            a.predir,
            a.street,
            a.street_type,
            a.postdir,
            a.unit,
            self.city,
            self.zip,
            self.state,
            self.category,
            self.geo,
            self.page,
        ]
        if self.lat is not None:  # a point only when there is one: a spelling without one is stored as before
            stored += (self.lat, self.lng)
        return stored

    @property
    def point(self) -> tuple[float, float] | None:
        return (self.lat, self.lng) if self.lat is not None and self.lng is not None else None

    @classmethod
    def from_list(cls, data: list) -> Profile:
        if len(data) == 15:  # stored before round 11: no page
            data = [*data, ""]
        lat = lng = None
        if len(data) == 18:  # with a point (round 17; a profile without one is stored as before)
            data, lat, lng = data[:16], data[16], data[17]
        (
            name,
            phone,
            domains,
            email,
            number,
            predir,
            street,
            street_type,
            postdir,
            unit,
            city,
            zip_code,
            state,
            category,
            geo,
            page,
        ) = data
        return cls(
            name,
            phone,
            tuple(domains),
            email,
            Address(number, predir, street, street_type, postdir, unit),
            city,
            zip_code,
            state,
            category,
            geo,
            page,
            lat,
            lng,
        )
