"""From a concept to safe HTML: nh3 sanitizing, the template concept, Jinja rendering.

LLM text is untrusted. Every free-text field goes through nh3 with a tiny
allow-list (a few inline tags, no attributes, no URLs), then reaches a Jinja
environment with autoescape on. Colours are validated hex by the schema and
fonts come from a fixed map, so nothing the model writes can add a script, an
event handler, a stylesheet or a network fetch to the page.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from schemas.concept import PROBLEM_COPY, Concept
from schemas.lead import Lead

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
ALLOWED_TAGS = frozenset({"b", "strong", "i", "em", "br"})
NON_TEXT_KEYS = frozenset({"kind", "problem", "typography"})  # validated enums, not free text

FONT_STACKS = {
    "modern-sans": 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
    "classic-serif": 'Georgia, Cambria, "Times New Roman", Times, serif',
    "friendly-rounded": '"Trebuchet MS", "Segoe UI", system-ui, sans-serif',
    "bold-condensed": '"Arial Narrow", "Roboto Condensed", "Helvetica Neue", Arial, sans-serif',
    "humanist": 'Optima, Candara, "Noto Sans", "DejaVu Sans", sans-serif',
}
TEMPLATE_PALETTES = (
    {"primary": "#1f3a5f", "secondary": "#3d7ab8", "accent": "#ffb703", "background": "#f7f9fc", "text": "#1b1f24"},
    {"primary": "#134e4a", "secondary": "#0f766e", "accent": "#fbbf24", "background": "#f8fafa", "text": "#111827"},
    {"primary": "#7c2d12", "secondary": "#c2410c", "accent": "#fde68a", "background": "#fffaf5", "text": "#1c1917"},
    {"primary": "#312e81", "secondary": "#4f46e5", "accent": "#34d399", "background": "#f8f8ff", "text": "#111827"},
)
VERTICAL_SERVICES = {
    "hvac": ["Heating and furnace repair", "Air conditioning installs", "Seasonal tune-ups"],
    "plumber": ["Leak and drain repair", "Water heater installs", "24/7 emergency calls"],
    "roofer": ["Roof repair and replacement", "Storm damage inspections", "Gutters and flashing"],
    "electrician": ["Panel upgrades", "Lighting and wiring", "Safety inspections"],
    "dentist": ["Check-ups and cleanings", "Cosmetic dentistry", "Same-week appointments"],
    "vet": ["Wellness exams and vaccines", "Surgery and dental care", "Urgent care for pets"],
}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def clean_fragment(text: str) -> Markup:
    """Untrusted text as safe HTML: only a few inline tags survive, with no attributes."""
    cleaned = nh3.clean(
        text, tags=set(ALLOWED_TAGS), attributes={}, url_schemes=set(), strip_comments=True, link_rel=None
    )
    return Markup(cleaned)


def plain_text(text: str) -> str:
    """What a reader would see: every tag (and script/style content) removed."""
    return html.unescape(nh3.clean(text, tags=set(), attributes={}, link_rel=None)).strip()


def _normal(text: str) -> str:
    return re.sub(r"[\s/]+", "", html.unescape(text).lower())


def has_active_content(text: str) -> bool:
    """True when sanitizing had to remove something (a script, a handler, an image, a link...)."""
    return _normal(str(clean_fragment(text))) != _normal(text)


def _walk(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, key) for v in value]
    if isinstance(value, str) and key not in NON_TEXT_KEYS:
        return clean_fragment(value)
    return value


def sanitized(concept: Concept) -> dict[str, Any]:
    """The concept as template data: free text sanitized into Markup, enums and colours as validated."""
    data = concept.model_dump()
    # Palette values are schema-validated #rrggbb and go into CSS, so they are kept as they are.
    return {k: (v if k == "palette" else _walk(v, k)) for k, v in data.items()}


def concept_texts(concept: Concept) -> list[str]:
    """Every free-text field of a concept, raw."""
    texts = [concept.headline, concept.subheadline, concept.call_to_action.label]
    for section in concept.sections:
        texts.append(section.title)
        texts.extend(section.bullets)
    texts.extend(item.text for item in concept.improvements)
    return texts


def render_html(lead: Lead, concept: Concept) -> str:
    """The self-contained one-page mockup for this lead and concept."""
    data = sanitized(concept)
    sections = data["sections"]
    hero = next((s for s in sections if s["kind"] == "hero"), None)
    return _env.get_template("mockup.html.j2").render(
        concept=data,
        sections=sections,
        hero=hero,
        palette=data["palette"],
        font_stack=Markup(FONT_STACKS[concept.typography]),
        business_name=lead.name,
        city=lead.city,
    )


def _pick(options: Sequence[Any], *parts: object) -> Any:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=4).digest()
    return options[int.from_bytes(digest, "big") % len(options)]


def template_concept(lead: Lead, problems: Sequence[str]) -> Concept:
    """A deterministic, always-valid concept: the fallback when the LLM fails or falls short."""
    trade = (lead.vertical or lead.category or "local service").replace("_", " ")
    place = lead.city or "your area"
    services = VERTICAL_SERVICES.get(
        (lead.vertical or "").lower(), [f"Professional {trade} work", "Honest, upfront pricing", "Friendly local team"]
    )
    return Concept(
        headline=f"{lead.name}: trusted {trade} in {place}"[:88],
        subheadline=f"Quality {trade} for {place} homes and businesses, with quick replies and fair prices.",
        sections=[
            {
                "kind": "hero",
                "title": f"{trade.title()} you can count on",
                "bullets": [f"Serving {place} and nearby", "Licensed and insured", "Free estimates"],
            },
            {"kind": "services", "title": "What we do", "bullets": services},
            {
                "kind": "about",
                "title": f"About {lead.name}"[:80],
                "bullets": [
                    f"A local {trade} business that treats every customer like a neighbor.",
                    "Clear communication from first call to finished job.",
                ],
            },
            {
                "kind": "testimonials",
                "title": "What customers say",
                "bullets": ['"On time, tidy and fairly priced."', '"They explained every step."'],
            },
            {
                "kind": "contact",
                "title": "Get in touch",
                "bullets": ["Call or send a message and we reply the same day.", f"Proudly based in {place}."],
            },
        ],
        palette=_pick(TEMPLATE_PALETTES, trade),
        typography=_pick(tuple(FONT_STACKS), trade),
        call_to_action={"label": "Get a free quote", "kind": "quote"},
        improvements=[{"problem": code, "text": PROBLEM_COPY[code]} for code in problems if code in PROBLEM_COPY],
    ).with_provider("template")
