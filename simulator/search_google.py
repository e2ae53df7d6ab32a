"""Google Places API (New) text search and place details, over the simulated world.

Pages of at most 20, at most 60 results per query, page tokens tied to the
query, the field mask honoured loosely, and the real auth errors (missing key
403, revoked key 400 API_KEY_INVALID).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

from aiohttp import web

from simulator.core import Simulator
from simulator.search import ZIP_RE, key_is_revoked, zip_from_location
from simulator.world import Business, UnknownLocation, World, world_for
from simulator.world_verticals import VERTICALS, normalize_vertical, vertical_for_text, vertical_spec

GOOGLE_MAX_PAGE, GOOGLE_MAX_RESULTS = 20, 60
_FILLER = {"in", "near", "around", "contractor", "contractors", "services", "service", "company", "companies", "best"}


def _google_error(status: int, message: str, state: str, reason: str | None = None) -> web.Response:
    error: dict = {"code": status, "message": message, "status": state}
    if reason:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}
        ]
    return web.json_response({"error": error}, status=status)


def _google_auth(request: web.Request) -> web.Response | None:
    key = request.headers.get("X-Goog-Api-Key") or request.query.get("key", "")
    if not key:
        return _google_error(403, "The request is missing a valid API key.", "PERMISSION_DENIED")
    if key_is_revoked(key):
        return _google_error(
            400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT", "API_KEY_INVALID"
        )
    if not (request.headers.get("X-Goog-FieldMask") or request.query.get("fields")):
        return _google_error(
            400,
            "FieldMask is a required parameter. Set the header 'X-Goog-FieldMask', e.g. to "
            "'places.displayName,places.id', or to '*' in manual testing.",
            "INVALID_ARGUMENT",
        )
    return None


def _field_mask(request: web.Request, prefix: str) -> set[str] | None:
    """Top-level place fields the mask asks for; None means all."""
    raw = request.headers.get("X-Goog-FieldMask") or request.query.get("fields", "")
    fields = {f.strip() for f in raw.split(",") if f.strip()}
    if "*" in fields or prefix.rstrip(".") in fields:
        return None
    wanted = set()
    for field in fields:
        if field.startswith(prefix) or not prefix:
            wanted.add(field[len(prefix) :].split(".")[0])
    return wanted


def google_place(business: Business) -> dict:
    spec = vertical_spec(business.vertical)
    number, _, route = business.street.partition(" ")
    components = [
        {"longText": number, "shortText": number, "types": ["street_number"], "languageCode": "en"},
        {"longText": route, "shortText": route, "types": ["route"], "languageCode": "en"},
    ]
    if business.unit:
        unit = business.unit.split(" ", 1)[-1]
        components.append({"longText": unit, "shortText": unit, "types": ["subpremise"], "languageCode": "en"})
    components += [
        {
            "longText": business.city,
            "shortText": business.city,
            "types": ["locality", "political"],
            "languageCode": "en",
        },
        {
            "longText": business.state,
            "shortText": business.state,
            "types": ["administrative_area_level_1", "political"],
            "languageCode": "en",
        },
        {"longText": "United States", "shortText": "US", "types": ["country", "political"], "languageCode": "en"},
        {"longText": business.zip, "shortText": business.zip, "types": ["postal_code"], "languageCode": "en"},
    ]
    street = f"{business.street} #{business.unit.split(' ', 1)[-1]}" if business.unit else business.street
    place = {
        "name": f"places/{business.google_place_id}",
        "id": business.google_place_id,
        "types": [spec.google_type, "point_of_interest", "establishment"],
        "nationalPhoneNumber": business.display_phone,
        "internationalPhoneNumber": business.international_phone,
        "formattedAddress": f"{street}, {business.city}, {business.state} {business.zip}, USA",
        "shortFormattedAddress": f"{street}, {business.city}",
        "addressComponents": components,
        "location": {"latitude": business.lat, "longitude": business.lng},
        "rating": business.rating,
        "userRatingCount": business.review_count,
        "googleMapsUri": f"https://maps.google.com/?cid={int(hashlib.md5(business.key.encode()).hexdigest()[:15], 16)}",
        "businessStatus": "OPERATIONAL",
        "displayName": {"text": business.google_name, "languageCode": "en"},
        "primaryType": spec.google_type,
        "primaryTypeDisplayName": {"text": spec.google_label, "languageCode": "en-US"},
    }
    if business.website:
        place["websiteUri"] = business.website
    return place


def _masked(place: dict, wanted: set[str] | None) -> dict:
    return place if wanted is None else {k: v for k, v in place.items() if k in wanted}


def _page_token(text: str, included_type: str, offset: int) -> str:
    raw = json.dumps({"q": text, "t": included_type, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_page_token(token: str) -> dict | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return data if isinstance(data, dict) and isinstance(data.get("o"), int) else None
    except ValueError:
        return None


def _google_vertical(text: str, included_type: str) -> str:
    if included_type:
        match = next((s.name for s in VERTICALS.values() if s.google_type == included_type), None)
        return match or normalize_vertical(included_type)
    found = vertical_for_text(text)
    if found:
        return found
    words = [w for w in re.findall(r"[a-z]+", ZIP_RE.sub(" ", text.lower())) if w not in _FILLER]
    return normalize_vertical(" ".join(words[:2]))


def _google_rank(world: World, business: Business) -> bytes:
    """Google's relevance order differs from Yelp's; stable under the seed."""
    return hashlib.blake2b(f"{world.seed}|{business.key}".encode(), digest_size=8).digest()


async def google_search_text(request: web.Request, sim: Simulator) -> web.Response:
    if (failure := await sim.fault("search", request.headers.get("X-Goog-Api-Key", ""))) is not None:
        return failure
    if (denied := _google_auth(request)) is not None:
        return denied
    try:
        body = await request.json()
    except ValueError:
        return _google_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
    text = body.get("textQuery") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return _google_error(400, "Empty text_query.", "INVALID_ARGUMENT")
    included_type = body.get("includedType", "") or ""
    size = body.get("pageSize", body.get("maxResultCount", GOOGLE_MAX_PAGE))
    if not isinstance(size, int) or size < 0:
        return _google_error(400, "page_size must be a non-negative integer.", "INVALID_ARGUMENT")
    size = min(size or GOOGLE_MAX_PAGE, GOOGLE_MAX_PAGE)
    offset = 0
    if body.get("pageToken"):
        token = _read_page_token(str(body["pageToken"]))
        if token is None or token.get("q") != text or token.get("t") != included_type:
            return _google_error(
                400, "The provided page token is invalid or does not match the request.", "INVALID_ARGUMENT"
            )
        offset = token["o"]
    world = world_for(sim)
    zip_code, vertical = zip_from_location(text), _google_vertical(text, included_type)
    try:
        found = [b for b in world.businesses(zip_code or "", vertical) if b.on_google]
    except UnknownLocation:
        found = []
    found = sorted(found, key=lambda b: _google_rank(world, b))[:GOOGLE_MAX_RESULTS]
    page = found[offset : offset + size]
    sim.record("search.google", zip=zip_code, vertical=vertical, page_size=size, offset=offset, returned=len(page))
    wanted = _field_mask(request, "places.")
    result: dict = {}
    if page:
        result["places"] = [_masked(google_place(b), wanted) for b in page]
    if offset + size < len(found):
        result["nextPageToken"] = _page_token(text, included_type, offset + size)
    return web.json_response(result)


async def google_details(request: web.Request, sim: Simulator) -> web.Response:
    place_id = request.match_info["id"]
    if (failure := await sim.fault("search", request.headers.get("X-Goog-Api-Key", ""))) is not None:
        return failure
    if (denied := _google_auth(request)) is not None:
        return denied
    if not place_id.startswith("ChIJ"):
        return _google_error(400, f"Not a valid Place ID: {place_id}", "INVALID_ARGUMENT")
    business = world_for(sim).by_place_id(place_id)
    sim.record("search.google_details", id=place_id, found=business is not None)
    if business is None:
        return _google_error(404, "Requested entity was not found.", "NOT_FOUND")
    return web.json_response(_masked(google_place(business), _field_mask(request, "")))
