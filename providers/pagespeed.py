"""PageSpeed Insights v5: Lighthouse lab metrics (and CrUX field data) for a page.

When an API key is configured, the enrich stage can ask PSI for a site's
performance instead of (or before) measuring it locally. Lab values come from
``lighthouseResult.audits``; CrUX field data (``loadingExperience.metrics``,
real users' 75th percentiles) is kept apart in `PageSpeedResult.field`
because it measures something else and exists only for sites with traffic.

Errors: Lighthouse failing to load the page (``Lighthouse returned error:
FAILED_DOCUMENT_REQUEST …``, which PSI sends as HTTP 400 or 500) is the
site's problem, so it is a `LighthouseError` (permanent) whatever the status;
a 200 whose result carries a ``runtimeError`` or lacks the lab metrics is one
too. Everything else goes through `raise_for_provider`: 429/5xx are transient
(with Retry-After), a bad key or request is permanent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from providers.http import PermanentProviderError, make_client, raise_for_provider, send

PROVIDER = "pagespeed"
PATH = "/pagespeedonline/v5/runPagespeed"
LIGHTHOUSE_PREFIX = "Lighthouse returned error"
# CrUX metric name -> (our key, divisor of the reported percentile: CLS comes as an integer x 100)
FIELD_METRICS = {
    "LARGEST_CONTENTFUL_PAINT_MS": ("lcp_ms", 1),
    "FIRST_CONTENTFUL_PAINT_MS": ("fcp_ms", 1),
    "CUMULATIVE_LAYOUT_SHIFT_SCORE": ("cls", 100),
    "INTERACTION_TO_NEXT_PAINT": ("inp_ms", 1),
    "FIRST_INPUT_DELAY_MS": ("fid_ms", 1),
    "EXPERIMENTAL_TIME_TO_FIRST_BYTE": ("ttfb_ms", 1),
}


class LighthouseError(PermanentProviderError):
    """Lighthouse could not measure the page (the site failed, not PSI); `code` is e.g. FAILED_DOCUMENT_REQUEST."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(PROVIDER, message)
        self.code = code


@dataclass
class PageSpeedResult:
    lcp_ms: float
    fcp_ms: float
    cls: float | None
    tbt_ms: float | None
    ttfb_ms: float | None
    page_bytes: int | None
    mobile_responsive: bool | None  # the viewport audit; None when it did not run
    performance_score: float | None  # 0-1
    final_url: str
    field: dict[str, Any] | None  # CrUX p75 values (lcp_ms, cls, inp_ms, ...), overall_category, origin_fallback
    strategy: str = "mobile"
    screenshot: str | None = None  # the final-screenshot audit: a data: URI (JPEG from the real API)


def _lighthouse_code(message: str) -> str | None:
    """``FAILED_DOCUMENT_REQUEST`` from ``Lighthouse returned error: FAILED_DOCUMENT_REQUEST. …``."""
    rest = message.partition(":")[2].strip()
    code = rest.split(".")[0].strip()
    return code if code and code.replace("_", "").isalnum() and code.isupper() else None


def lighthouse_error(response: httpx.Response) -> LighthouseError | None:
    """The Lighthouse failure an error response reports, or None for any other error."""
    if response.status_code < 400:
        return None
    try:
        error = orjson.loads(response.content).get("error") or {}
    except ValueError:
        return None
    if not isinstance(error, dict):
        return None
    message = str(error.get("message") or "")
    from_lighthouse = any(isinstance(e, dict) and e.get("domain") == "lighthouse" for e in error.get("errors") or [])
    if not (from_lighthouse or message.startswith(LIGHTHOUSE_PREFIX)):
        return None
    return LighthouseError(message or f"HTTP {response.status_code} from Lighthouse", _lighthouse_code(message))


def _numeric(audits: dict[str, Any], audit_id: str) -> float | None:
    value = (audits.get(audit_id) or {}).get("numericValue")
    return float(value) if isinstance(value, (int, float)) else None


def _field(loading: dict[str, Any] | None) -> dict[str, Any] | None:
    metrics = (loading or {}).get("metrics") or {}
    field: dict[str, Any] = {}
    for name, (key, divisor) in FIELD_METRICS.items():
        percentile = (metrics.get(name) or {}).get("percentile")
        if isinstance(percentile, (int, float)):
            field[key] = percentile / divisor
    if not field or loading is None:
        return None
    field["overall_category"] = loading.get("overall_category")
    field["origin_fallback"] = bool(loading.get("origin_fallback"))
    return field


def parse_result(data: dict[str, Any], strategy: str = "mobile") -> PageSpeedResult:
    """A runPagespeed response body as a `PageSpeedResult`; `LighthouseError` when the run failed."""
    lhr = data.get("lighthouseResult")
    if not isinstance(lhr, dict):
        raise PermanentProviderError(PROVIDER, "response has no lighthouseResult")
    runtime = lhr.get("runtimeError") or {}
    if runtime.get("code") and runtime.get("code") != "NO_ERROR":
        raise LighthouseError(
            f"{LIGHTHOUSE_PREFIX}: {runtime.get('code')}. {runtime.get('message', '')}".strip(), runtime.get("code")
        )
    audits = lhr.get("audits") or {}
    lcp, fcp = _numeric(audits, "largest-contentful-paint"), _numeric(audits, "first-contentful-paint")
    if lcp is None or fcp is None:
        raise LighthouseError("Lighthouse result lacks the lab metrics (largest/first contentful paint)")
    viewport = (audits.get("viewport") or {}).get("score")
    score = ((lhr.get("categories") or {}).get("performance") or {}).get("score")
    page_bytes = _numeric(audits, "total-byte-weight")
    return PageSpeedResult(
        lcp_ms=lcp,
        fcp_ms=fcp,
        cls=_numeric(audits, "cumulative-layout-shift"),
        tbt_ms=_numeric(audits, "total-blocking-time"),
        ttfb_ms=_numeric(audits, "server-response-time"),
        page_bytes=int(page_bytes) if page_bytes is not None else None,
        mobile_responsive=None if viewport is None else viewport >= 1,
        performance_score=float(score) if isinstance(score, (int, float)) else None,
        final_url=lhr.get("finalDisplayedUrl") or lhr.get("finalUrl") or lhr.get("requestedUrl") or "",
        field=_field(data.get("loadingExperience")),
        strategy=strategy,
        screenshot=((audits.get("final-screenshot") or {}).get("details") or {}).get("data"),
    )


class PageSpeedClient:
    """``await run(url)`` → `PageSpeedResult`; see the module docstring for errors."""

    def __init__(
        self, base_url: str = "https://www.googleapis.com", api_key: str = "", timeout_s: float = 30.0
    ) -> None:
        self.api_key = api_key
        self._client = make_client(base_url, timeout_s=timeout_s, keep_cookies=False)  # a keyed API: no cookies

    async def aclose(self) -> None:
        await self._client.aclose()

    async def run(self, url: str, strategy: str = "mobile") -> PageSpeedResult:
        params = {"url": url, "strategy": strategy, "category": "performance"}
        if self.api_key:  # PSI also answers keyless callers, on a small shared quota
            params["key"] = self.api_key
        response = await send(self._client, PROVIDER, "GET", PATH, params=params)
        failure = lighthouse_error(response)
        if failure is not None:
            raise failure
        raise_for_provider(PROVIDER, response)
        try:
            data = orjson.loads(response.content)  # a full Lighthouse result is large: orjson, not json
        except ValueError as exc:
            raise PermanentProviderError(PROVIDER, f"unparseable response: {exc}") from None
        return parse_result(data, strategy)
