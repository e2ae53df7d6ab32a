"""The field vocabulary: the closed set of facts a rule can test, each computed from a `Lead`.

Every field has a type that decides which operators apply and what their
operands must be. A field whose source is unknown (no enrichment, no browser
metrics, no version detected) is *missing*: only ``missing``/``exists`` (and
``not``) say anything about it; every comparison on a missing value is false.
Text is compared without regard to case, so facts are stored casefolded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from schemas.lead import Lead
from stages.score.rules.versions import parse_detected

TEXT, NUMBER, BOOL, TEXT_LIST, VERSION = "text", "number", "bool", "text list", "version"
TECH_PREFIX = "tech."


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    doc: str
    get: Callable[[Lead], Any]


def _text(value: str | None) -> str | None:
    return value.casefold() if value else None


def _perf(attr: str) -> Callable[[Lead], Any]:
    def get(lead: Lead) -> Any:
        enrichment = lead.enrichment
        if enrichment is None or enrichment.performance is None:
            return None
        return getattr(enrichment.performance, attr)

    return get


def _contacts(kind: str | None) -> Callable[[Lead], int]:
    def get(lead: Lead) -> int:
        contacts = lead.enrichment.contacts if lead.enrichment else ()
        return sum(1 for c in contacts if kind is None or c.kind == kind)

    return get


def _tech_names(lead: Lead) -> list[str] | None:
    return [t.name.casefold() for t in lead.enrichment.tech] if lead.enrichment else None


def _tech_categories(lead: Lead) -> list[str] | None:
    if lead.enrichment is None:
        return None
    return sorted({c.casefold() for t in lead.enrichment.tech for c in t.categories})


def _email_kind(lead: Lead) -> str | None:
    if lead.email:
        return "listed"
    best = lead.best_email()
    if best is None:
        return None
    return next(c.kind for c in lead.enrichment.contacts if c.email == best)  # type: ignore[union-attr]


def _enrichment(attr: str) -> Callable[[Lead], Any]:
    return lambda lead: getattr(lead.enrichment, attr) if lead.enrichment else None


_SPECS = [
    FieldSpec("source", TEXT, "Where the lead was found (yelp, google, csv, …).", lambda lead: _text(lead.source)),
    FieldSpec("name", TEXT, "Business name.", lambda lead: _text(lead.name)),
    FieldSpec("vertical", TEXT, "Normalized vertical, e.g. hvac, plumber, vet.", lambda lead: _text(lead.vertical)),
    FieldSpec("category", TEXT, "The source's own category label.", lambda lead: _text(lead.category)),
    FieldSpec("state", TEXT, "Two-letter US state code.", lambda lead: _text(lead.state)),
    FieldSpec("city", TEXT, "City.", lambda lead: _text(lead.city)),
    FieldSpec("zip", TEXT, '5-digit ZIP (quote it in YAML: "02134").', lambda lead: lead.zip),
    FieldSpec(
        "geo_key",
        TEXT,
        "Partition key: the lead's US state (from ZIP, state, city or phone area code), or unknown.",
        lambda lead: _text(lead.geo_key),
    ),
    FieldSpec(
        "has_website",
        BOOL,
        "A website is known (listed or found by enrichment).",
        lambda lead: bool(lead.website or (lead.enrichment and lead.enrichment.final_url)),
    ),
    FieldSpec(
        "has_email",
        BOOL,
        "There is an address to write to (Lead.best_email()).",
        lambda lead: lead.best_email() is not None,
    ),
    FieldSpec("email_kind", TEXT, "Kind of that address: listed (the lead's own), personal or role.", _email_kind),
    FieldSpec("has_phone", BOOL, "A phone number is known.", lambda lead: bool(lead.phone)),
    FieldSpec("tech", TEXT_LIST, "Detected technology names, lowercased (jquery, wordpress, wix, …).", _tech_names),
    FieldSpec(
        "tech_categories", TEXT_LIST, "Categories of the detected technologies, lowercased (cms, …).", _tech_categories
    ),
    FieldSpec("perf.source", TEXT, "Who measured: http (plain fetch), browser (lab vitals) or api.", _perf("source")),
    FieldSpec("perf.ttfb_ms", NUMBER, "Time to first byte, ms.", _perf("ttfb_ms")),
    FieldSpec("perf.load_ms", NUMBER, "Full page load, ms.", _perf("load_ms")),
    FieldSpec("perf.page_bytes", NUMBER, "Page weight, bytes.", _perf("page_bytes")),
    FieldSpec("perf.lcp_ms", NUMBER, "Largest Contentful Paint, ms (good ≤ 2500).", _perf("lcp_ms")),
    FieldSpec("perf.fcp_ms", NUMBER, "First Contentful Paint, ms.", _perf("fcp_ms")),
    FieldSpec("perf.cls", NUMBER, "Cumulative Layout Shift (good ≤ 0.1).", _perf("cls")),
    FieldSpec("perf.tbt_ms", NUMBER, "Total Blocking Time, ms (lab stand-in for INP).", _perf("tbt_ms")),
    FieldSpec("perf.https", BOOL, "The site is served over HTTPS.", _perf("https")),
    FieldSpec("perf.mobile_responsive", BOOL, "The page adapts to a phone viewport.", _perf("mobile_responsive")),
    FieldSpec(
        "modern_site",
        BOOL,
        "Enrichment judged the site modern (the score stage disqualifies these).",
        _enrichment("modern_site"),
    ),
    FieldSpec("enrichment.status", TEXT, "ok, failed or skipped.", _enrichment("status")),
    FieldSpec("enrichment.http_status", NUMBER, "HTTP status of the site's final page.", _enrichment("http_status")),
    FieldSpec("contacts.count", NUMBER, "Contacts found on the site (0 when not enriched).", _contacts(None)),
    FieldSpec("contacts.personal_count", NUMBER, "Personal addresses found (jane@…).", _contacts("personal")),
    FieldSpec("contacts.role_count", NUMBER, "Role addresses found (info@…, sales@…).", _contacts("role")),
]

FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in _SPECS}


def tech_version_getter(tech: str) -> Callable[[Lead], Version | None]:
    """Getter for ``tech.<name>``: the detected version of that technology, parsed leniently."""

    def get(lead: Lead) -> Version | None:
        if lead.enrichment is None:
            return None
        for item in lead.enrichment.tech:
            if item.version and item.name.casefold() == tech:
                return parse_detected(item.version)
        return None

    return get


def lookup(name: str) -> FieldSpec | None:
    """The spec of a field name, including the open family ``tech.<name>`` (a version field)."""
    if name in FIELDS:
        return FIELDS[name]
    if name.startswith(TECH_PREFIX) and len(name) > len(TECH_PREFIX):
        tech = name[len(TECH_PREFIX) :].strip().casefold()
        return FieldSpec(TECH_PREFIX + tech, VERSION, f"Detected version of {tech}.", tech_version_getter(tech))
    return None


def field_names_for_hint() -> list[str]:
    return [*FIELDS, "tech.<name>"]


def make_extractor(specs: list[FieldSpec]) -> Callable[[Lead], dict[str, Any]]:
    """One function computing just the facts a rule set uses, once per lead.

    Versions of ``tech.<name>`` fields come from one pass over the detected tech.
    """
    unique = {s.name: s for s in specs}.values()
    pairs = tuple((spec.name, spec.get) for spec in unique if not spec.name.startswith(TECH_PREFIX))
    versioned = tuple(
        (spec.name, spec.name[len(TECH_PREFIX) :]) for spec in unique if spec.name.startswith(TECH_PREFIX)
    )

    def extract(lead: Lead) -> dict[str, Any]:
        facts = {name: get(lead) for name, get in pairs}
        if versioned:
            detected: dict[str, str] = {}
            if lead.enrichment is not None:
                for item in lead.enrichment.tech:
                    if item.version:
                        detected.setdefault(item.name.casefold(), item.version)
            for name, tech in versioned:
                facts[name] = parse_detected(detected.get(tech))
        return facts

    return extract
