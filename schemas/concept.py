"""A structured website redesign concept, and the problems it must answer.

The LLM is asked to fill `Concept` (its JSON schema is the response format),
so every field is required and unknown keys are rejected: that keeps the
schema valid for OpenAI's strict structured outputs and for Ollama's `format`.
Length and count limits are checked by validators rather than schema keywords
so strict mode never rejects the schema itself.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from schemas.lead import Lead

ProblemCode = Literal[
    "slow_lcp",
    "heavy_page",
    "outdated_jquery",
    "outdated_cms",
    "not_mobile_friendly",
    "no_https",
    "no_contact_form",
    "no_website",
]
SectionKind = Literal["hero", "services", "about", "testimonials", "gallery", "faq", "contact", "cta"]
Typography = Literal["modern-sans", "classic-serif", "friendly-rounded", "bold-condensed", "humanist"]
ActionKind = Literal["call", "book", "quote", "visit", "email"]

PROBLEM_CODES: tuple[str, ...] = ProblemCode.__args__  # type: ignore[attr-defined]

# Plain-language meaning of each problem, used in prompts and in the template concept.
PROBLEM_COPY: dict[str, str] = {
    "slow_lcp": "Pages load fast: the main content appears in under two seconds, even on a phone.",
    "heavy_page": "A lighter page: compressed images and less code, so visitors on mobile data are not kept waiting.",
    "outdated_jquery": "Modern, maintained code in place of an old jQuery version with known security holes.",
    "outdated_cms": "An up-to-date platform with current security patches instead of an outdated WordPress.",
    "not_mobile_friendly": "A layout that adapts to every phone and tablet, with buttons big enough to tap.",
    "no_https": "A secure HTTPS site, so browsers stop warning visitors that the page is not secure.",
    "no_contact_form": "A clear way to get in touch on every page, so interested visitors become customers.",
    "no_website": "A professional website of your own, so people who search for you find you.",
}

# Thresholds behind the problem codes (Core Web Vitals "good" LCP is 2.5 s).
SLOW_LCP_MS = 2500.0
SLOW_LOAD_MS = 4000.0
HEAVY_PAGE_BYTES = 2_000_000
OLDEST_GOOD_MAJOR = {"jquery": 3, "wordpress": 6, "drupal": 9, "joomla": 4}

MAX_TEXT = 600  # any single piece of copy; far above what a sane concept needs
_HEX = r"^#[0-9a-fA-F]{6}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: object) -> object:
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ValueError(f"text longer than {MAX_TEXT} characters")
        if isinstance(value, list) and len(value) > 12:
            raise ValueError("more than 12 items")
        return value


class Section(_Strict):
    kind: SectionKind
    title: str = Field(description="Section heading, a few words.")
    bullets: list[str] = Field(description="1-6 short lines of body copy.")

    @field_validator("bullets")
    @classmethod
    def _bullet_lengths(cls, bullets: list[str]) -> list[str]:
        if any(len(b) > MAX_TEXT for b in bullets):
            raise ValueError(f"bullet longer than {MAX_TEXT} characters")
        return bullets


class Palette(_Strict):
    primary: str = Field(pattern=_HEX)
    secondary: str = Field(pattern=_HEX)
    accent: str = Field(pattern=_HEX)
    background: str = Field(pattern=_HEX)
    text: str = Field(pattern=_HEX)


class CallToAction(_Strict):
    label: str = Field(description="Button text, 2-5 words.")
    kind: ActionKind


class Improvement(_Strict):
    problem: ProblemCode = Field(description="The detected problem this improvement fixes.")
    text: str = Field(description="One or two sentences for the owner about the fix and its benefit.")


class Concept(_Strict):
    """One-page redesign concept for a small business website."""

    headline: str = Field(description="Hero headline, under 90 characters.")
    subheadline: str = Field(description="One supporting sentence.")
    sections: list[Section] = Field(description="3-7 sections; include a hero and a contact or cta section.")
    palette: Palette
    typography: Typography
    call_to_action: CallToAction
    improvements: list[Improvement] = Field(description="One improvement per detected problem.")

    # Who produced this concept (set by the provider adapter; not part of the schema).
    _provider: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _has_sections(self) -> Concept:
        if not self.sections:
            raise ValueError("a concept needs at least one section")
        return self

    @property
    def provider(self) -> str | None:
        return self._provider

    def with_provider(self, name: str) -> Concept:
        self._provider = name
        return self


def _major(version: str | None) -> int | None:
    match = re.match(r"\s*v?(\d+)", version or "")
    return int(match.group(1)) if match else None


def problems_for(lead: Lead) -> list[str]:
    """Problem codes a redesign should answer, derived from what enrichment measured."""
    if not lead.website:
        return ["no_website"]
    enrichment = lead.enrichment
    if enrichment is None or enrichment.status != "ok":
        return []
    found: list[str] = []
    perf = enrichment.performance
    if perf is not None:
        if (perf.lcp_ms is not None and perf.lcp_ms > SLOW_LCP_MS) or (
            perf.lcp_ms is None and perf.load_ms is not None and perf.load_ms > SLOW_LOAD_MS
        ):
            found.append("slow_lcp")
        if perf.page_bytes is not None and perf.page_bytes > HEAVY_PAGE_BYTES:
            found.append("heavy_page")
    for tech in enrichment.tech:
        key = tech.name.strip().lower()
        major = _major(tech.version)
        if key in OLDEST_GOOD_MAJOR and major is not None and major < OLDEST_GOOD_MAJOR[key]:
            found.append("outdated_jquery" if key == "jquery" else "outdated_cms")
    if perf is not None and perf.mobile_responsive is False:
        found.append("not_mobile_friendly")
    https = perf.https if perf is not None else None
    if https is None and enrichment.final_url:
        https = enrichment.final_url.lower().startswith("https://")
    if https is False:
        found.append("no_https")
    if not enrichment.contacts and not lead.email:
        found.append("no_contact_form")
    return list(dict.fromkeys(found))


def concept_json_schema() -> dict[str, Any]:
    """The JSON schema sent to the LLM as the response format."""
    return Concept.model_json_schema()
