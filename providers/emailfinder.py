"""Email-finder API adapter: Hunter's v2 Domain Search -> `FoundEmail`.

One provider for the lead's `email` field (the enrich waterfall decides the
order). A domain Hunter knows nothing about is an empty list, a miss that
Hunter does not bill, never an error.

Hunter's status codes (its API docs): 401 bad key and 400 bad parameters are
permanent; 403 is its per-second/per-minute rate limit and 429 its usage
(credits) limit, both transient, with Retry-After when sent; 451 means Hunter
withholds the data for legal reasons, which for us is a miss; 5xx transient.

The key travels as the ``api_key`` query parameter, as in Hunter's docs, so
httpx's request log line (INFO, logger ``httpx``) would print it: every log
record is redacted (`config.redact`, installed by `providers.http`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx
import orjson

from providers.http import (
    PermanentProviderError,
    TransientProviderError,
    make_client,
    raise_for_provider,
    retry_after_seconds,
    send,
)

PROVIDER = "hunter"
MAX_LIMIT = 100  # Hunter's cap per Domain Search request


@dataclass(frozen=True)
class FoundEmail:
    email: str
    kind: Literal["personal", "role"]
    confidence: int  # Hunter's 0-100 estimate that the address is right
    first_name: str | None = None
    last_name: str | None = None
    position: str | None = None


def _error_detail(response: httpx.Response) -> str:
    try:
        first = (orjson.loads(response.content).get("errors") or [{}])[0]
        return f"{first.get('id')}: {first.get('details')}"
    except (orjson.JSONDecodeError, AttributeError, IndexError, TypeError):
        return response.text[:200].replace("\n", " ")


def raise_for_hunter(response: httpx.Response) -> httpx.Response | None:
    """The response when it is a success, None for 451 (withheld: a miss), else the matching error."""
    status = response.status_code
    if status == 451:
        return None
    if status == 403:  # Hunter's rate limit, not an authorization problem
        raise TransientProviderError(
            PROVIDER,
            f"HTTP 403 rate limit: {_error_detail(response)}",
            retry_after_s=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if status == 401:
        raise PermanentProviderError(PROVIDER, f"HTTP 401 invalid API key: {_error_detail(response)}")
    return raise_for_provider(PROVIDER, response)


def _found(item: dict) -> FoundEmail | None:
    address = str(item.get("value") or "").strip().lower()
    if "@" not in address:
        return None
    kind = item.get("type")
    if kind not in ("personal", "generic"):  # untyped: a named person makes it personal
        kind = "personal" if item.get("first_name") or item.get("last_name") else "generic"
    try:
        confidence = max(0, min(100, int(item.get("confidence") or 0)))
    except (TypeError, ValueError):
        confidence = 0
    return FoundEmail(
        address,
        "personal" if kind == "personal" else "role",
        confidence,
        item.get("first_name") or None,
        item.get("last_name") or None,
        item.get("position") or None,
    )


class HunterClient:
    """Hunter's Domain Search; errors as `TransientProviderError` / `PermanentProviderError`."""

    provider = PROVIDER

    def __init__(self, base_url: str = "https://api.hunter.io", api_key: str = "", timeout_s: float = 10.0) -> None:
        self.api_key = api_key
        self._client = make_client(  # a keyed API: no cookies to keep (nor to parse on every answer)
            base_url, timeout_s=timeout_s, headers={"Accept": "application/json"}, keep_cookies=False
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def domain_search(self, domain: str, limit: int = 10) -> list[FoundEmail]:
        """Up to `limit` addresses Hunter has for `domain`, most confident first; [] on a miss."""
        domain = domain.strip().lower().removeprefix("www.")
        if not domain:
            raise ValueError("domain_search needs a domain")
        params = {"domain": domain, "api_key": self.api_key, "limit": max(1, min(limit, MAX_LIMIT))}
        response = await send(self._client, PROVIDER, "GET", "/v2/domain-search", params=params)
        if raise_for_hunter(response) is None:
            return []
        try:
            emails = (orjson.loads(response.content).get("data") or {}).get("emails") or []
        except (orjson.JSONDecodeError, AttributeError) as exc:
            raise PermanentProviderError(PROVIDER, f"unparseable Domain Search answer: {exc}") from exc
        found = [f for f in (_found(item) for item in emails if isinstance(item, dict)) if f is not None]
        return sorted(found, key=lambda f: -f.confidence)[:limit]
