"""Yelp Fusion search and details over the simulated world (Google Places: `search_google`).

Only what the adapters use, with the real APIs' shapes, limits and errors:
Yelp's 50-per-page and limit+offset <= 240 caps, Google's 20-per-page and
60-result caps with page tokens tied to the query, their auth failures.
An API key starting with ``invalid`` is treated as revoked.
"""

from __future__ import annotations

import hashlib
import math
import re
from functools import partial

from aiohttp import web

from simulator.core import Simulator
from simulator.world import Business, UnknownLocation, world_for
from simulator.world_places import KNOWN_ZIPS
from simulator.world_verticals import normalize_vertical, vertical_for_text, vertical_for_yelp_category, vertical_spec

YELP_MAX_LIMIT, YELP_MAX_DEPTH = 50, 240
ZIP_RE = re.compile(r"\b(\d{5})(?:-\d{4})?\b")


def setup(app: web.Application, sim: Simulator) -> None:
    app.router.add_get("/v3/businesses/search", partial(yelp_search, sim=sim))
    app.router.add_get("/v3/businesses/{id}", partial(yelp_details, sim=sim))
    from simulator import search_google  # imports this module's helpers

    app.router.add_post("/v1/places:searchText", partial(search_google.google_search_text, sim=sim))
    app.router.add_get("/v1/places/{id}", partial(search_google.google_details, sim=sim))


def key_is_revoked(key: str) -> bool:
    return key.lower().startswith("invalid")


def zip_from_location(text: str) -> str | None:
    """A ZIP in the text, else the known ZIP of a "City, ST" mentioned in it."""
    match = ZIP_RE.search(text or "")
    if match:
        return match.group(1)
    lowered = (text or "").lower()
    for zip_code, place in KNOWN_ZIPS.items():
        if place.city.lower() in lowered and (place.state.lower() in lowered.split() or "," not in lowered):
            return zip_code
    return None


# -- Yelp Fusion ---------------------------------------------------------------


def _yelp_error(status: int, code: str, description: str) -> web.Response:
    return web.json_response({"error": {"code": code, "description": description}}, status=status)


def _yelp_auth(request: web.Request) -> web.Response | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return _yelp_error(401, "TOKEN_MISSING", "An access token must be supplied in order to use this endpoint.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or key_is_revoked(token.strip()):
        return _yelp_error(401, "TOKEN_INVALID", "Invalid access token or authorization header.")
    return None


def yelp_business(business: Business, distance_from: tuple[float, float] | None = None) -> dict:
    spec = vertical_spec(business.vertical)
    categories = spec.yelp_categories[: 1 + int(hashlib.md5(business.key.encode()).digest()[0] % 3 == 0)]
    out = {
        "id": business.yelp_id,
        "alias": business.yelp_alias,
        "name": business.name,
        "image_url": f"https://s3-media1.fl.yelpcdn.com/bphoto/{business.yelp_id}/o.jpg",
        "is_closed": False,
        "url": f"https://www.yelp.com/biz/{business.yelp_alias}",
        "review_count": business.review_count,
        "categories": [{"alias": alias, "title": title} for alias, title in categories],
        "rating": round(business.rating * 2) / 2,
        "coordinates": {"latitude": business.lat, "longitude": business.lng},
        "transactions": [],
        "location": {
            "address1": business.street,
            "address2": business.unit or "",
            "address3": "",
            "city": business.city,
            "zip_code": business.zip,
            "country": "US",
            "state": business.state,
            "display_address": [business.street_line, f"{business.city}, {business.state} {business.zip}"],
        },
        "phone": business.phone,
        "display_phone": business.display_phone,
    }
    if distance_from:
        lat0, lng0 = distance_from
        dx = (business.lng - lng0) * 111_320 * math.cos(math.radians(lat0))
        out["distance"] = round(math.hypot(dx, (business.lat - lat0) * 110_540), 3)
    return out


def _int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    return int(raw)


async def yelp_search(request: web.Request, sim: Simulator) -> web.Response:
    key = request.headers.get("Authorization", "")
    if (failure := await sim.fault("search", key)) is not None:
        return failure
    if (denied := _yelp_auth(request)) is not None:
        return denied
    query = request.query
    try:
        limit, offset = _int_param(request, "limit", 20), _int_param(request, "offset", 0)
    except ValueError:
        return _yelp_error(400, "VALIDATION_ERROR", "limit and offset must be integers")
    if limit > YELP_MAX_LIMIT or limit < 0 or offset < 0:
        return _yelp_error(
            400,
            "VALIDATION_ERROR",
            f"{limit} is greater than the maximum of {YELP_MAX_LIMIT}"
            if limit > YELP_MAX_LIMIT
            else "limit and offset must not be negative",
        )
    if limit + offset > YELP_MAX_DEPTH:
        return _yelp_error(
            400, "VALIDATION_ERROR", f"Too many results requested, limit+offset must be <= {YELP_MAX_DEPTH}."
        )
    location = query.get("location", "")
    if not location:
        return _yelp_error(400, "VALIDATION_ERROR", "Please specify a location or a latitude and longitude")
    if query.get("categories"):
        vertical = vertical_for_yelp_category(query["categories"].split(",")[0])
    elif query.get("term"):
        vertical = vertical_for_text(query["term"]) or normalize_vertical(query["term"])
    else:
        vertical = "business"
    world = world_for(sim)
    zip_code = zip_from_location(location)
    try:
        found = [b for b in world.businesses(zip_code or "", vertical) if b.on_yelp]
        place = world.place(zip_code or "")
    except UnknownLocation:
        return _yelp_error(400, "LOCATION_NOT_FOUND", "Could not execute search, try specifying a more exact location.")
    page = found[offset : offset + limit]
    sim.record("search.yelp", zip=zip_code, vertical=vertical, limit=limit, offset=offset, returned=len(page))
    center = (place.lat, place.lng)
    return web.json_response(
        {
            "businesses": [yelp_business(b, center) for b in page],
            "total": len(found),
            "region": {"center": {"latitude": place.lat, "longitude": place.lng}},
        }
    )


async def yelp_details(request: web.Request, sim: Simulator) -> web.Response:
    business_id = request.match_info["id"]
    if (failure := await sim.fault("search", request.headers.get("Authorization", ""))) is not None:
        return failure
    if (denied := _yelp_auth(request)) is not None:
        return denied
    business = world_for(sim).by_yelp_id(business_id)
    sim.record("search.yelp_details", id=business_id, found=business is not None)
    if business is None:
        return _yelp_error(404, "BUSINESS_NOT_FOUND", "The requested business could not be found.")
    body = yelp_business(business)
    body.update({"is_claimed": business.review_count % 2 == 0, "photos": [body["image_url"]]})
    return web.json_response(body)
