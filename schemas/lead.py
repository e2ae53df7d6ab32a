"""Versioned, validated lead record.

A lead starts as a `RawLead` (what a scraper or any Kafka producer knows) and
becomes a `Lead` that each stage fills in: ``enrichment`` (enrich),
``dedupe`` (dedupe), ``score`` (score), ``mockup`` (mockup) and ``email``
(email). Stages never remove what an earlier stage wrote, so a record read from
any topic tells the whole story so far.

Every message carries ``schema_version``; which versions a reader takes, and how
the previous one is upgraded on read, is decided in one place: `schemas.versions`
(stages read through `MessageKind.read`). The models' own check of the version
guards the paths that validate without it (the API, file ingest).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.geo import us_zip
from schemas.versions import LEAD, SCRAPE_JOB, MessageKind

SCHEMA_VERSION = LEAD.current


class TerminalState(str, Enum):
    """Where a lead's journey ends. Every lead ends in exactly one of these."""

    emailed = "emailed"
    duplicate = "duplicate"
    disqualified = "disqualified"
    suppressed = "suppressed"
    dead_lettered = "dead_lettered"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _check_location(latitude: float | None, longitude: float | None) -> None:
    """A location is a pair: one coordinate without the other is a producer's bug."""
    if (latitude is None) != (longitude is None):
        raise ValueError("latitude and longitude come together: give both or neither")


class RawLead(BaseModel):
    """What a producer pushes into ``leads.scraped``: one business, as found.

    This is the public contract (see ``docs/raw-lead.schema.json``). Unknown
    fields are rejected so a typo in a producer fails loudly in the dead-letter
    topic instead of silently dropping data.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    message_kind: ClassVar[MessageKind] = LEAD

    schema_version: int = Field(
        SCHEMA_VERSION,
        ge=LEAD.previous,
        description="Record version. Readers take this version and the previous one (absent: 0) and dead-letter newer ones.",
    )
    lead_id: str | None = Field(
        None, max_length=64, description="Stable id. Derived from source + source id when absent."
    )
    source: str = Field(
        ..., min_length=1, max_length=40, description="Where the lead was found, e.g. yelp, google, csv."
    )
    source_ids: dict[str, str] = Field(
        default_factory=dict, description="Id of this business in each source that found it."
    )
    name: str = Field(..., min_length=1, max_length=300)
    street: str | None = Field(None, max_length=300, description="Street line: number, street, unit.")
    city: str | None = Field(None, max_length=120)
    state: str | None = Field(None, max_length=40, description="Two-letter US state code.")
    zip: str | None = Field(None, description="5-digit US ZIP (ZIP+4 is cut to 5).")
    phone: str | None = Field(None, max_length=40)
    website: str | None = Field(None, max_length=2000)
    email: str | None = Field(None, max_length=320)
    vertical: str | None = Field(None, max_length=60, description="Normalized vertical, e.g. hvac, plumber, vet.")
    category: str | None = Field(None, max_length=120, description="The source's own category label.")
    enrich_tier: int | None = Field(
        None,
        ge=1,
        le=3,
        description="Enrichment tier (1 basic, 2 + screenshot, 3 + site audit); default: the worker's setting.",
    )
    latitude: float | None = Field(
        None, ge=-90, le=90, description="WGS 84 latitude of the listing, as the source gives it (with longitude)."
    )
    longitude: float | None = Field(
        None, ge=-180, le=180, description="WGS 84 longitude of the listing, as the source gives it (with latitude)."
    )

    @field_validator("zip", mode="before")
    @classmethod
    def _zip5(cls, value: object) -> object:
        if value is None or value == "":
            return None
        text = str(value).strip()
        digits = us_zip(text)  # ZIP+4 and a spreadsheet's lost leading zero are read; other codes are not
        if digits is None:
            raise ValueError(f"zip must be a 5-digit US ZIP, got {text!r}")
        return digits

    @field_validator("state", mode="before")
    @classmethod
    def _state(cls, value: object) -> object:
        if value is None or value == "":
            return None
        text = str(value).strip().upper()
        if len(text) != 2 or not text.isalpha():
            raise ValueError(f"state must be a two-letter code, got {value!r}")
        return text

    @field_validator("street", "city", "phone", "website", "email", "vertical", "category", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _locatable(self) -> RawLead:
        if self.schema_version > SCHEMA_VERSION:
            raise ValueError(f"schema_version {self.schema_version} is newer than this reader ({SCHEMA_VERSION})")
        if not (self.zip or (self.city and self.state) or self.phone):
            raise ValueError("a lead needs a zip, a city and state, or a phone to be placed geographically")
        _check_location(self.latitude, self.longitude)
        return self

    def derived_lead_id(self) -> str:
        """The lead id: the given one, else a hash of the first source id, else of the content."""
        if self.lead_id:
            return self.lead_id
        if self.source_ids:
            src, sid = sorted(self.source_ids.items())[0]
            basis = f"{src}:{sid}"
        else:
            basis = "|".join(
                str(v or "") for v in (self.source, self.name, self.street, self.zip, self.phone, self.website)
            )
        return "ld_" + hashlib.blake2b(basis.encode(), digest_size=10).hexdigest()


class Tech(_Model):
    name: str
    version: str | None = None
    categories: list[str] = Field(default_factory=list)
    confidence: int = 100


class Performance(_Model):
    """Basic metrics from a plain fetch, plus lab vitals when a browser measured them."""

    source: Literal["http", "browser", "api"] = "http"
    ttfb_ms: float | None = None
    load_ms: float | None = None
    page_bytes: int | None = None
    lcp_ms: float | None = None
    fcp_ms: float | None = None
    cls: float | None = None
    tbt_ms: float | None = None
    https: bool | None = None
    mobile_responsive: bool | None = None
    score: float | None = Field(None, description="Lighthouse-style performance score 0–1 (PageSpeed API only).")


class Contact(_Model):
    email: str
    kind: Literal["role", "personal"] = "role"
    source: str = Field("page", description="Where it was found: page, contact page, or the provider's name.")
    mx_ok: bool | None = Field(
        None, description="The domain accepts mail (MX or A record); None: not checked or DNS unsure."
    )


class ProviderAttempt(_Model):
    """One try of one provider for one enrichment field, in waterfall order."""

    field: str
    provider: str
    outcome: Literal["accepted", "rejected", "empty", "failed", "paused", "circuit_open", "unavailable"]
    detail: str | None = None


class Enrichment(_Model):
    status: Literal["ok", "failed", "skipped"] = "ok"
    reason: str | None = Field(
        None, description="Why enrichment failed or was skipped; for a home page read only in part, what was cut."
    )
    final_url: str | None = None
    http_status: int | None = None
    tech: list[Tech] = Field(default_factory=list)
    performance: Performance | None = None
    contacts: list[Contact] = Field(default_factory=list)
    modern_site: bool = False
    tier: int = Field(
        1, ge=1, le=3, description="Enrichment tier that ran: 1 basic, 2 with a screenshot, 3 with a site audit."
    )
    rendered: bool = Field(False, description="The page was rendered in Chromium (JavaScript ran).")
    screenshot_uri: str | None = Field(None, description="Screenshot of the current site (tier 2+), a blob URI.")
    sources: dict[str, str] = Field(default_factory=dict, description="Field → provider whose value was kept.")
    attempts: list[ProviderAttempt] = Field(
        default_factory=list, description="Every provider tried, per field, in order."
    )


class DedupeDecision(_Model):
    decision: Literal["new", "duplicate"]
    entity_id: str
    matched_on: list[str] = Field(default_factory=list, description="Keys that matched, e.g. phone, domain.")
    duplicate_of: str | None = Field(None, description="Lead id of the entity's first lead.")
    probability: float | None = None
    stands_in: bool = Field(
        False,
        description="A duplicate that goes on to outreach in place of its entity's first lead, "
        "which had no address to write to (the entity's only lead that does).",
    )


class RuleHit(_Model):
    rule: str
    delta: float


class MultiplierHit(_Model):
    multiplier: str
    factor: float


class Score(_Model):
    value: float
    tier: str
    qualified: bool
    reason: str | None = Field(None, description="Why the lead is disqualified, when it is.")
    rules_version: str
    base: float
    rules: list[RuleHit] = Field(default_factory=list)
    multipliers: list[MultiplierHit] = Field(default_factory=list)


class MockupRef(_Model):
    uri: str
    mobile_uri: str | None = None
    # The email's image (a small JPEG of the desktop view's top). None on mockups made before it existed:
    # their email goes out without an image (stages/email/stage.py).
    preview_uri: str | None = None
    concept_source: Literal["llm", "template"]
    provider: str | None = None
    quality: float | None = None


class EmailOutcome(_Model):
    idempotency_key: str
    status: Literal["sent", "skipped_already_sent", "suppressed", "failed"]
    message_id: str | None = None
    to: str | None = None


class Lead(_Model):
    """The lead as it moves through the pipeline."""

    message_kind: ClassVar[MessageKind] = LEAD

    schema_version: int = SCHEMA_VERSION
    lead_id: str
    geo_key: str
    source: str
    source_ids: dict[str, str] = Field(default_factory=dict)
    name: str
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    phone: str | None = None
    website: str | None = None
    email: str | None = None
    vertical: str | None = None
    category: str | None = None
    enrich_tier: int | None = None
    # Optional, additive (no version bump, docs/upgrades.md): absent on leads written before it and on
    # sources without coordinates. The dedupe engine reads it as evidence (docs/dedupe-rounds.md, round 17).
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    enrichment: Enrichment | None = None
    dedupe: DedupeDecision | None = None
    score: Score | None = None
    mockup: MockupRef | None = None
    email_outcome: EmailOutcome | None = None

    @model_validator(mode="after")
    def _version(self) -> Lead:
        if self.schema_version > SCHEMA_VERSION:
            raise ValueError(f"schema_version {self.schema_version} is newer than this reader ({SCHEMA_VERSION})")
        _check_location(self.latitude, self.longitude)
        return self

    @classmethod
    def from_raw(cls, raw: RawLead) -> Lead:
        from schemas.geo import geo_key

        data = raw.model_dump(exclude={"lead_id", "schema_version"})
        return cls(lead_id=raw.derived_lead_id(), geo_key=geo_key(raw.zip, raw.state, raw.phone, raw.city), **data)

    def best_email(self) -> str | None:
        """The address to write to: the lead's own, else a personal contact, else a role one."""
        if self.email:
            return self.email
        contacts = self.enrichment.contacts if self.enrichment else []
        for kind in ("personal", "role"):
            for contact in contacts:
                if contact.kind == kind:
                    return contact.email
        return None


class ScrapeJob(BaseModel):
    """One ``scrape.requests`` message: search one vertical in one ZIP."""

    model_config = ConfigDict(extra="forbid")
    message_kind: ClassVar[MessageKind] = SCRAPE_JOB

    schema_version: int = Field(
        SCRAPE_JOB.current,
        ge=SCRAPE_JOB.previous,
        le=SCRAPE_JOB.current,
        description="Message version. Readers take this version and the previous one (absent: 0).",
    )
    zip: str
    vertical: str
    sources: list[str] = Field(default_factory=lambda: ["yelp", "google"])
    max_results: int = Field(100, ge=1, le=1000)
    enrich_tier: int | None = Field(
        None, ge=1, le=3, description="Enrichment tier for the leads found (default: the worker's)."
    )
    requested_at: datetime | None = None

    @field_validator("zip")
    @classmethod
    def _zip5(cls, value: str) -> str:
        if len(value) != 5 or not value.isdigit():
            raise ValueError(f"zip must be a 5-digit US ZIP, got {value!r}")
        return value

    @property
    def job_id(self) -> str:
        return f"{self.vertical}@{self.zip}"
