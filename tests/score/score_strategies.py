"""Hypothesis strategies: random leads, random (valid) rule files, and an independent oracle
that evaluates a generated condition directly on a Lead, to check the compiled closures."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st
from packaging.version import InvalidVersion, Version

from schemas.lead import Contact, Enrichment, Lead, Performance, Tech

VERTICALS = ["hvac", "plumber", "vet", "dentist", None]
TECH_NAMES = ["jQuery", "WordPress", "Wix", "React", "Bootstrap"]
NUMBER_FIELDS = {"perf.lcp_ms": "lcp_ms", "perf.ttfb_ms": "ttfb_ms", "perf.cls": "cls", "perf.page_bytes": "page_bytes"}
BOOL_FIELDS = {"perf.https": "https", "perf.mobile_responsive": "mobile_responsive"}

EDGES = st.sampled_from([0, 800, 2500, 4000])  # shared by leads and rules, so boundaries get hit

versions = st.one_of(
    st.none(),
    st.lists(st.integers(0, 12), min_size=1, max_size=3).map(lambda parts: ".".join(map(str, parts))),
    st.sampled_from(["3.3.7-rc1", "v2.1.0", "1.11.3.min", "unknown", ""]),
)
rule_versions = st.lists(st.integers(0, 12), min_size=1, max_size=3).map(lambda parts: ".".join(map(str, parts)))


@st.composite
def leads(draw) -> Lead:
    enrichment = None
    if draw(st.booleans()):
        perf = None
        if draw(st.booleans()):
            perf = Performance(
                lcp_ms=draw(st.none() | EDGES | st.floats(0, 20000)),
                ttfb_ms=draw(st.none() | EDGES | st.floats(0, 5000)),
                cls=draw(st.none() | st.floats(0, 2)),
                page_bytes=draw(st.none() | st.integers(0, 10_000_000)),
                https=draw(st.none() | st.booleans()),
                mobile_responsive=draw(st.none() | st.booleans()),
            )
        names = draw(st.lists(st.sampled_from(TECH_NAMES), unique=True, max_size=4))
        enrichment = Enrichment(
            tech=[Tech(name=n, version=draw(versions) or None) for n in names],
            performance=perf,
            contacts=[
                Contact(email=f"c{i}@x.example", kind=k)
                for i, k in enumerate(draw(st.lists(st.sampled_from(["role", "personal"]), max_size=3)))
            ],
            modern_site=draw(st.booleans()),
        )
    return Lead(
        lead_id="ld_h",
        geo_key="z941",
        source=draw(st.sampled_from(["yelp", "google"])),
        name="Biz",
        vertical=draw(st.sampled_from(VERTICALS)),
        phone=draw(st.none() | st.just("4155550100")),
        email=draw(st.none() | st.just("owner@x.example")),
        enrichment=enrichment,
    )


def _leaf() -> st.SearchStrategy[Any]:
    number = st.tuples(
        st.sampled_from(sorted(NUMBER_FIELDS)),
        st.sampled_from(["lt", "le", "gt", "ge", "equals"]),
        EDGES | st.integers(0, 10000),
    ).map(lambda t: {t[0]: {t[1]: t[2]}})
    between = st.tuples(
        st.sampled_from(sorted(NUMBER_FIELDS)), EDGES | st.integers(0, 5000), EDGES | st.integers(0, 5000)
    ).map(lambda t: {t[0]: {"between": sorted(t[1:])}})
    boolean = st.tuples(st.sampled_from(sorted(BOOL_FIELDS) + ["has_phone", "has_email"]), st.booleans()).map(
        lambda t: {t[0]: t[1]}
    )
    vertical = st.one_of(
        st.sampled_from(VERTICALS[:-1]).map(lambda v: {"vertical": v}),
        st.lists(st.sampled_from(VERTICALS[:-1]), min_size=1).map(lambda v: {"vertical": {"in": v}}),
    )
    tech = st.one_of(
        st.sampled_from(TECH_NAMES).map(lambda n: {"tech": {"contains": n.lower()}}),
        st.lists(st.sampled_from(TECH_NAMES), min_size=1).map(
            lambda ns: {"tech": {"contains_any": [n.lower() for n in ns]}}
        ),
    )
    version = st.tuples(st.sampled_from(TECH_NAMES), st.sampled_from(["<", "<=", ">", ">=", "=="]), rule_versions).map(
        lambda t: f"{t[0].lower()} {t[1]} {t[2]}"
    )
    presence = st.tuples(
        st.sampled_from(sorted(NUMBER_FIELDS) + ["vertical", "tech"]), st.sampled_from(["exists", "missing"])
    ).map(lambda t: {t[0]: {t[1]: True}})
    return st.one_of(number, between, boolean, vertical, tech, version, presence)


conditions = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda c: {"all": c}),
        st.lists(inner, min_size=1, max_size=3).map(lambda c: {"any": c}),
        inner.map(lambda c: {"not": c}),
    ),
    max_leaves=6,
)

amounts = st.floats(-40, 40, allow_nan=False).map(lambda x: round(x, 3))
factors = st.floats(0, 3, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def rule_docs(draw) -> dict[str, Any]:
    low = draw(st.integers(-50, 50))
    high = low + draw(st.integers(0, 150))
    cuts = sorted(draw(st.lists(st.integers(low + 1, high + 1), unique=True, max_size=3)), reverse=True)
    tiers = {f"T{i}": t for i, t in enumerate(cuts)} | {"LOW": low}
    rules = [
        {"name": f"r{i}", "description": "generated", "condition": draw(conditions), "delta": draw(amounts)}
        for i in range(draw(st.integers(0, 8)))
    ]
    multipliers = [
        {"name": f"m{i}", "description": "generated", "condition": draw(conditions), "factor": draw(factors)}
        for i in range(draw(st.integers(0, 3)))
    ]
    return {
        "version": "hypothesis",
        "settings": {
            "base": draw(st.floats(low - 30, high + 30).map(lambda x: round(x, 2))),
            "min": low,
            "max": high,
            "tiers": tiers,
            "qualify": draw(st.lists(st.sampled_from(list(tiers)), unique=True)),
        },
        "rules": rules,
        "multipliers": multipliers,
    }


def dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


# --- the oracle: a direct, uncompiled reading of the documented semantics ------------------
def _lower_tech(lead: Lead) -> dict[str, str | None] | None:
    if lead.enrichment is None:
        return None
    found: dict[str, str | None] = {}
    for t in lead.enrichment.tech:
        found.setdefault(t.name.lower(), t.version)
    return found


def _version(text: str | None) -> Version | None:
    if not text:
        return None
    import re

    try:
        return Version(text.lstrip("v"))
    except InvalidVersion:
        m = re.match(r"\d+(\.\d+)*", text.lstrip("v"))
        return Version(m.group(0)) if m else None


def _fact(lead: Lead, field: str) -> Any:
    perf = lead.enrichment.performance if lead.enrichment else None
    if field in NUMBER_FIELDS:
        return getattr(perf, NUMBER_FIELDS[field]) if perf else None
    if field in BOOL_FIELDS:
        return getattr(perf, BOOL_FIELDS[field]) if perf else None
    if field == "has_phone":
        return lead.phone is not None
    if field == "has_email":
        return lead.best_email() is not None
    if field == "vertical":
        return lead.vertical
    if field == "tech":
        tech = _lower_tech(lead)
        return None if tech is None else list(tech)
    raise AssertionError(field)


def oracle(cond: Any, lead: Lead) -> bool:
    if isinstance(cond, str):
        name, op, bound = cond.split(" ")
        detected = _version((_lower_tech(lead) or {}).get(name))
        if detected is None:
            return False
        bound_v = Version(bound)
        return {
            "<": detected < bound_v,
            "<=": detected <= bound_v,
            ">": detected > bound_v,
            ">=": detected >= bound_v,
            "==": detected == bound_v,
        }[op]
    ((key, spec),) = cond.items()
    if key == "all":
        return all(oracle(c, lead) for c in spec)
    if key == "any":
        return any(oracle(c, lead) for c in spec)
    if key == "not":
        return not oracle(spec, lead)
    value = _fact(lead, key)
    if not isinstance(spec, dict):
        return value == spec
    ((op, operand),) = spec.items()
    if op == "exists":
        return bool(value) if key == "tech" else value is not None
    if op == "missing":
        return not value if key == "tech" else value is None
    if value is None:
        return False
    return {
        "lt": lambda: value < operand,
        "le": lambda: value <= operand,
        "gt": lambda: value > operand,
        "ge": lambda: value >= operand,
        "equals": lambda: value == operand,
        "between": lambda: operand[0] <= value <= operand[1],
        "in": lambda: value in operand,
        "contains": lambda: operand in value,
        "contains_any": lambda: any(o in value for o in operand),
    }[op]()
