"""Business-search adapters: Yelp Fusion and Google Places API (New) -> `RawLead`.

Both page until the source has nothing more or `max_results` is reached, and
map each business to the producer contract. Retries are the stage runner's
job: errors surface as `TransientProviderError` / `PermanentProviderError`.
Yelp's API does not return a business's website, so Yelp leads have none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import phonenumbers
from pydantic import ValidationError

from providers.http import PermanentProviderError, make_client, request
from schemas.lead import RawLead

log = logging.getLogger(__name__)

YELP_PAGE, YELP_MAX_DEPTH = 50, 240  # per request; limit+offset cap of the Yelp API
GOOGLE_PAGE, GOOGLE_MAX_RESULTS = 20, 60  # per request; results per query of the Places API
GOOGLE_FIELDS = ",".join(
    [
        *(
            f"places.{f}"
            for f in (
                "id",
                "displayName",
                "formattedAddress",
                "addressComponents",
                "location",
                "nationalPhoneNumber",
                "internationalPhoneNumber",
                "websiteUri",
                "primaryType",
                "primaryTypeDisplayName",
                "types",
            )
        ),
        "nextPageToken",
    ]
)


@dataclass(frozen=True)
class VerticalQuery:
    """How one vertical is searched in each source."""

    yelp_categories: str | None  # Yelp category alias(es); None -> search by term
    yelp_term: str | None
    google_text: str  # text before " in <zip>"


VERTICAL_QUERIES: dict[str, VerticalQuery] = {
    "hvac": VerticalQuery("hvac", None, "hvac contractor"),
    "plumber": VerticalQuery("plumbing", None, "plumber"),
    "vet": VerticalQuery("vet", None, "veterinarian"),
    "electrician": VerticalQuery("electricians", None, "electrician"),
    "roofer": VerticalQuery("roofing", None, "roofing contractor"),
    "dentist": VerticalQuery("generaldentistry", None, "dentist"),
}


def vertical_query(vertical: str) -> VerticalQuery:
    """The query for a vertical; unknown ones are searched by their name as free text."""
    known = VERTICAL_QUERIES.get(vertical.strip().lower())
    if known:
        return known
    words = vertical.strip().lower().replace("_", " ")
    return VerticalQuery(None, words, words)


def _e164(phone: str | None) -> str | None:
    if not phone:
        return None
    try:
        return phonenumbers.format_number(phonenumbers.parse(phone, "US"), phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        return phone


def _coordinates(point: object) -> dict[str, float | None]:
    """``latitude`` / ``longitude`` from a source's point (Yelp's ``coordinates``, Google's ``location``):
    both numbers, or neither (Yelp sends nulls for a business it has not placed)."""
    if isinstance(point, dict):
        lat, lng = point.get("latitude"), point.get("longitude")
        if isinstance(lat, int | float) and isinstance(lng, int | float) and not isinstance(lat, bool):
            placed = -90 <= lat <= 90 and -180 <= lng <= 180 and (lat, lng) != (0, 0)  # (0, 0): a placeholder
            if placed:
                return {"latitude": float(lat), "longitude": float(lng)}
    return {"latitude": None, "longitude": None}


def _lead(provider: str, data: dict) -> RawLead | None:
    """A RawLead, or None (logged) when the source's record breaks the contract."""
    try:
        return RawLead.model_validate(data)
    except ValidationError as exc:
        log.warning("%s: skipping unusable business %s: %s", provider, data.get("source_ids"), exc.errors()[:2])
        return None


class YelpSearch:
    """Yelp Fusion business search (``GET /v3/businesses/search``), Bearer-key auth."""

    provider = "yelp"

    def __init__(self, base_url: str, api_key: str, timeout_s: float = 10.0) -> None:
        self._client = make_client(base_url, timeout_s=timeout_s, headers={"Authorization": f"Bearer {api_key}"})

    async def search(self, zip: str, vertical: str, max_results: int) -> list[RawLead]:
        query = vertical_query(vertical)
        params: dict[str, str | int] = {"location": zip, "sort_by": "best_match"}
        if query.yelp_categories:
            params["categories"] = query.yelp_categories
        else:
            params["term"] = query.yelp_term or vertical
        leads: dict[str, RawLead] = {}
        offset, want = 0, min(max_results, YELP_MAX_DEPTH)
        while offset < want:
            limit = min(YELP_PAGE, want - offset)
            response = await request(
                self._client,
                self.provider,
                "GET",
                "/v3/businesses/search",
                params={**params, "limit": limit, "offset": offset},
            )
            body = _json(self.provider, response)
            businesses = body.get("businesses") or []
            for business in businesses:
                lead = _lead(self.provider, self._map(business, vertical))
                if lead and business["id"] not in leads:
                    leads[business["id"]] = lead
            offset += limit
            if len(businesses) < limit or offset >= int(body.get("total") or 0):
                break
        return list(leads.values())[:max_results]

    @staticmethod
    def _map(business: dict, vertical: str) -> dict:
        location = business.get("location") or {}
        street = " ".join(filter(None, (location.get("address1"), location.get("address2"), location.get("address3"))))
        categories = business.get("categories") or []
        return {
            "source": "yelp",
            "source_ids": {"yelp": business["id"]},
            "name": business.get("name") or "",
            "street": street or None,
            "city": location.get("city"),
            "state": location.get("state"),
            "zip": location.get("zip_code"),
            "phone": business.get("phone") or None,
            "website": None,
            "vertical": vertical,
            "category": categories[0].get("title") if categories else None,
            **_coordinates(business.get("coordinates")),
        }

    async def aclose(self) -> None:
        await self._client.aclose()


class GooglePlacesSearch:
    """Google Places API (New) text search (``POST /v1/places:searchText``), API-key auth."""

    provider = "google"

    def __init__(self, base_url: str, api_key: str, timeout_s: float = 10.0) -> None:
        self._client = make_client(
            base_url, timeout_s=timeout_s, headers={"X-Goog-Api-Key": api_key, "X-Goog-FieldMask": GOOGLE_FIELDS}
        )

    async def search(self, zip: str, vertical: str, max_results: int) -> list[RawLead]:
        text = f"{vertical_query(vertical).google_text} in {zip}"
        leads: dict[str, RawLead] = {}
        token: str | None = None
        want = min(max_results, GOOGLE_MAX_RESULTS)
        while len(leads) < want:
            body: dict = {"textQuery": text, "pageSize": min(GOOGLE_PAGE, want - len(leads))}
            if token:
                body["pageToken"] = token
            data = _json(
                self.provider, await request(self._client, self.provider, "POST", "/v1/places:searchText", json=body)
            )
            for place in data.get("places") or []:
                lead = _lead(self.provider, self._map(place, vertical))
                if lead and place["id"] not in leads:
                    leads[place["id"]] = lead
            token = data.get("nextPageToken")
            if not token or not data.get("places"):
                break
        return list(leads.values())[:max_results]

    @staticmethod
    def _map(place: dict, vertical: str) -> dict:
        parts: dict[str, dict] = {}
        for component in place.get("addressComponents") or []:
            for kind in component.get("types") or []:
                parts.setdefault(kind, component)

        def text(kind: str, short: bool = False) -> str | None:
            component = parts.get(kind)
            return (component.get("shortText" if short else "longText") or None) if component else None

        street = " ".join(filter(None, (text("street_number"), text("route", short=True))))
        if street and text("subpremise"):
            street += f" #{text('subpremise')}"
        label = (place.get("primaryTypeDisplayName") or {}).get("text") or place.get("primaryType")
        return {
            "source": "google",
            "source_ids": {"google": place["id"]},
            "name": (place.get("displayName") or {}).get("text") or "",
            "street": street or None,
            "city": text("locality") or text("postal_town") or text("sublocality"),
            "state": text("administrative_area_level_1", short=True),
            "zip": text("postal_code"),
            "phone": _e164(place.get("internationalPhoneNumber") or place.get("nationalPhoneNumber")),
            "website": place.get("websiteUri"),
            "vertical": vertical,
            "category": label,
            **_coordinates(place.get("location")),
        }

    async def aclose(self) -> None:
        await self._client.aclose()


def _json(provider: str, response) -> dict:
    try:
        data = response.json()
    except ValueError as exc:
        raise PermanentProviderError(provider, f"unparseable response: {response.text[:120]!r}") from exc
    if not isinstance(data, dict):
        raise PermanentProviderError(provider, f"unexpected response shape: {type(data).__name__}")
    return data
