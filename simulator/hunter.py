"""Hunter v2 Domain Search (``GET /v2/domain-search``) over the simulated websites.

What Hunter knows about a domain is derived from the seed and the domain, like
the site itself (`simulator.websites.site_spec`): about one domain in five is
unknown (no emails: a miss, which Hunter does not bill); otherwise Hunter has
found each of the site's own addresses with probability 0.7, and for about
half of the domains also a ``firstname.lastname@`` address that is NOT on the
website, found elsewhere on the web (so the API adds something a crawl cannot).

Errors have Hunter's shape, ``{"errors": [{"id", "code", "details"}]}``: 401
for a missing key or one that is not 8-64 letters, digits, ``-`` or ``_`` (or
starts with ``invalid``, the simulator's revoked key), 400 for a missing
domain or a bad limit/offset. Injected faults (family ``hunter``) come back as
429 with Retry-After (Hunter's "usage limit reached"), 500 or 503.
"""

from __future__ import annotations

import re
from functools import partial

from aiohttp import web

from simulator.core import Simulator
from simulator.websites import FIRST_NAMES, normalize_domain, site_spec

FAMILY = "hunter"
MAX_LIMIT = 100
LAST_NAMES = ("smith", "johnson", "garcia", "nguyen", "patel", "miller", "lopez", "brown", "kim", "walker")
POSITIONS = ("Owner", "Office Manager", "General Manager", "Operations Manager", "Service Manager")
OTHER_SOURCES = ("bbb.org", "linkedin.com", "chamberofcommerce.com", "facebook.com")
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_FAULT_ERRORS = {
    429: ("too_many_requests", "You have reached your usage limit. Upgrade your plan if necessary."),
    500: ("internal_error", "An internal error occurred. Please try again later."),
    503: ("service_unavailable", "The service is temporarily unavailable. Please try again later."),
}


def setup(app: web.Application, sim: Simulator) -> None:
    app.router.add_get("/v2/domain-search", partial(domain_search, sim=sim))


def hunter_error(status: int, error_id: str, details: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"errors": [{"id": error_id, "code": status, "details": details}]}, status=status, headers=headers
    )


def _api_key(request: web.Request) -> str:
    """Hunter takes the key as ``api_key``, an ``X-API-KEY`` header or a Bearer token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else ""
    return (request.query.get("api_key") or request.headers.get("X-API-KEY") or bearer).strip()


def key_is_valid(key: str) -> bool:
    return bool(_KEY_RE.match(key)) and not key.lower().startswith("invalid")


def known_emails(sim: Simulator, domain: str) -> list[dict]:
    """Every email Hunter "has" for `domain`, best first, in the API's item shape."""
    domain = normalize_domain(domain)
    rng = sim.rng(FAMILY, domain)
    if rng.random() < 0.2:
        return []
    spec = site_spec(sim.config.seed, domain)
    found = []
    for email in spec.emails:
        if rng.random() >= 0.7:
            continue
        personal = email.kind == "personal"
        found.append(
            _item(
                email.address,
                "personal" if personal else "generic",
                rng.randint(82, 99),
                email.address.split("@")[0].title() if personal else None,
                None,
                rng.choice(POSITIONS) if personal and rng.random() < 0.5 else None,
                [_source(domain, f"http://{domain}{email.page}", rng.randint(1, 28))],
            )
        )
    if rng.random() < 0.5:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        other = rng.choice(OTHER_SOURCES)
        found.append(
            _item(
                f"{first}.{last}@{domain}",
                "personal",
                rng.randint(35, 94),
                first.title(),
                last.title(),
                rng.choice(POSITIONS),
                [_source(other, f"https://www.{other}/profile/{first}-{last}", rng.randint(1, 28))],
            )
        )
    return sorted(found, key=lambda item: -item["confidence"])


def _item(
    value: str,
    kind: str,
    confidence: int,
    first: str | None,
    last: str | None,
    position: str | None,
    sources: list[dict],
) -> dict:
    return {
        "value": value,
        "type": kind,
        "confidence": confidence,
        "sources": sources,
        "first_name": first,
        "last_name": last,
        "position": position,
        "seniority": None,
        "department": None,
        "linkedin": None,
        "twitter": None,
        "phone_number": None,
        "verification": {"date": None, "status": None},
    }


def _source(domain: str, uri: str, day: int) -> dict:
    return {
        "domain": domain,
        "uri": uri,
        "extracted_on": f"2024-03-{day:02d}",
        "last_seen_on": f"2024-11-{day:02d}",
        "still_on_page": True,
    }


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None


async def domain_search(request: web.Request, sim: Simulator) -> web.Response:
    key = _api_key(request)
    fault = await sim.fault(FAMILY, key)
    if fault is not None:
        error_id, details = _FAULT_ERRORS.get(fault.status, ("internal_error", "Simulated error."))
        retry = {"Retry-After": fault.headers["Retry-After"]} if "Retry-After" in fault.headers else None
        return hunter_error(fault.status, error_id, details, retry)
    if not key:
        return hunter_error(401, "authentication_failed", "No API key was provided (api_key parameter).")
    if not key_is_valid(key):
        return hunter_error(401, "authentication_failed", "No user found for the API key supplied")
    domain = normalize_domain(request.query.get("domain", "").strip())
    if not domain or "." not in domain:
        return hunter_error(400, "wrong_params", "You are missing the domain parameter")
    limit = _int_param(request, "limit", 10, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, 10_000)
    if limit is None or offset is None:
        return hunter_error(400, "pagination_error", f"limit must be 1-{MAX_LIMIT} and offset 0-10000")
    wanted_type = request.query.get("type")
    emails = [e for e in known_emails(sim, domain) if wanted_type in (None, "", e["type"])]
    page = emails[offset : offset + limit]
    sim.record(FAMILY, domain=domain, limit=limit, offset=offset, results=len(page))
    title = domain.split(".")[0].replace("-", " ").title()
    return web.json_response(
        {
            "data": {
                "domain": domain,
                "disposable": False,
                "webmail": False,
                "accept_all": False,
                "pattern": "{first}.{last}" if any("." in e["value"].split("@")[0] for e in emails) else None,
                "organization": title if emails else None,
                "emails": page,
            },
            "meta": {
                "results": len(emails),
                "limit": limit,
                "offset": offset,
                "params": {
                    "domain": domain,
                    "company": None,
                    "type": wanted_type or None,
                    "seniority": None,
                    "department": None,
                },
            },
        }
    )
