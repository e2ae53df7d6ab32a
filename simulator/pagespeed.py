"""PageSpeed Insights v5 (``GET /pagespeedonline/v5/runPagespeed``) over the simulated websites.

Answers have the real API's shape: a Lighthouse result with lab audits and the
performance category, and CrUX field data in ``loadingExperience`` for some
sites (URL-level, or the origin's with ``origin_fallback``). Lab values follow
each site's look: legacy WordPress and Joomla are slow, static Bootstrap and
hosted builders medium, Next.js, Wix and Squarespace fast; ``strategy=desktop``
is faster than mobile for the same site. The ``viewport`` audit passes exactly
when the page the website simulator serves has a viewport meta. Sites that
fail to load (500s, resets, hangs, redirect loops, binary bodies, names that
do not resolve) get Lighthouse's own error text with HTTP 500, as PSI does.
PSI ignores robots.txt, so robots-restricted sites are measured normally.
A missing API key, or one starting with ``invalid``, is refused with 400.
"""

from __future__ import annotations

import base64
import ipaddress
import math
import random
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from urllib.parse import urlsplit

from aiohttp import web

from simulator.core import Simulator
from simulator.websites import SiteSpec, render_page, site_spec

FAMILY = "pagespeed"
LIGHTHOUSE_VERSION = "12.2.1"
STRATEGIES = ("desktop", "mobile")
UNRESOLVABLE_TLDS = frozenset({"test", "example", "invalid", "localhost", "local", "onion"})
HOSTILE_PAGES = frozenset({"huge", "deep_nest", "malformed"})  # served by websites._hostile_page: no viewport


@dataclass(frozen=True)
class LabRanges:
    """Mobile lab ranges of one site look."""

    lcp_ms: tuple[float, float]
    tbt_ms: tuple[float, float]
    cls: tuple[float, float]
    ttfb_ms: tuple[float, float]
    resource_kib: tuple[float, float]  # everything the page loads besides its HTML


LAB_RANGES: dict[str, LabRanges] = {
    "wordpress_legacy": LabRanges((3000, 7000), (300, 1200), (0.08, 0.35), (600, 1800), (1800, 4500)),
    "joomla": LabRanges((2800, 5500), (250, 900), (0.05, 0.30), (500, 1500), (1200, 3000)),
    "static_bootstrap": LabRanges((2000, 3800), (100, 450), (0.02, 0.15), (300, 900), (600, 1500)),
    "godaddy": LabRanges((2000, 3600), (150, 500), (0.02, 0.12), (300, 800), (900, 2000)),
    "weebly": LabRanges((2000, 3500), (120, 400), (0.02, 0.12), (250, 700), (700, 1600)),
    "wordpress_modern": LabRanges((1800, 3400), (80, 350), (0.00, 0.10), (200, 700), (900, 2200)),
    "shopify": LabRanges((1200, 2600), (60, 300), (0.00, 0.08), (150, 450), (800, 1800)),
    "nextjs": LabRanges((800, 1900), (0, 150), (0.00, 0.05), (80, 350), (250, 800)),
    "wix": LabRanges((900, 2000), (20, 180), (0.00, 0.05), (100, 400), (600, 1400)),
    "squarespace": LabRanges((900, 2000), (20, 180), (0.00, 0.05), (100, 400), (600, 1400)),
    # the browser-only profiles of simulator.websites_js, with the outcomes that module documents
    "spa_react": LabRanges((1800, 3200), (150, 450), (0.00, 0.05), (100, 400), (400, 1100)),
    "heavy_js": LabRanges((3300, 6000), (900, 1500), (0.00, 0.05), (150, 500), (1100, 2000)),
    "layout_shift": LabRanges((1200, 2400), (50, 200), (0.40, 0.55), (100, 400), (300, 900)),
    "fast_modern": LabRanges((400, 1000), (0, 30), (0.00, 0.01), (50, 200), (20, 80)),
    "ssrf_assets": LabRanges((1500, 3000), (50, 250), (0.00, 0.08), (150, 500), (200, 700)),
    "endless_stream": LabRanges((6000, 12000), (200, 600), (0.05, 0.25), (100, 400), (2000, 5000)),
}
DEFAULT_RANGES = LAB_RANGES["static_bootstrap"]  # a look added to the website simulator later: a middling site
DESKTOP_TIME_FACTOR, DESKTOP_TBT_FACTOR = 0.4, 0.3

# Lighthouse 10+ performance scoring: metric weights and log-normal curves (p10, median) per form factor.
WEIGHTS = {
    "first-contentful-paint": 0.10,
    "speed-index": 0.10,
    "largest-contentful-paint": 0.25,
    "total-blocking-time": 0.30,
    "cumulative-layout-shift": 0.25,
}
CURVES = {
    "mobile": {
        "first-contentful-paint": (1800, 3000),
        "speed-index": (3387, 5800),
        "largest-contentful-paint": (2500, 4000),
        "total-blocking-time": (200, 600),
        "cumulative-layout-shift": (0.1, 0.25),
    },
    "desktop": {
        "first-contentful-paint": (934, 1600),
        "speed-index": (1311, 2300),
        "largest-contentful-paint": (1200, 2400),
        "total-blocking-time": (150, 350),
        "cumulative-layout-shift": (0.1, 0.25),
    },
}
# CrUX metric: (key in lab values, good threshold, poor threshold, scale of the reported percentile)
FIELD_METRICS = {
    "LARGEST_CONTENTFUL_PAINT_MS": ("lcp_ms", 2500, 4000, 1),
    "FIRST_CONTENTFUL_PAINT_MS": ("fcp_ms", 1800, 3000, 1),
    "CUMULATIVE_LAYOUT_SHIFT_SCORE": ("cls", 0.1, 0.25, 100),  # CrUX reports CLS x 100
    "INTERACTION_TO_NEXT_PAINT": ("inp_ms", 200, 500, 1),
    "EXPERIMENTAL_TIME_TO_FIRST_BYTE": ("ttfb_ms", 800, 1800, 1),
}
CORE_WEB_VITALS = ("LARGEST_CONTENTFUL_PAINT_MS", "CUMULATIVE_LAYOUT_SHIFT_SCORE", "INTERACTION_TO_NEXT_PAINT")
_UNLOADABLE = (
    "Lighthouse was unable to reliably load the page you requested. Make sure you are testing "
    "the correct URL and that the server is properly responding to all requests."
)
# website profile (or a kind of URL) -> (Lighthouse error code, its text)
LOAD_FAILURES = {
    "error500": ("ERRORED_DOCUMENT_REQUEST", f"{_UNLOADABLE} (Status code: 500)"),
    "reset": ("FAILED_DOCUMENT_REQUEST", f"{_UNLOADABLE} (Details: net::ERR_CONNECTION_RESET)"),
    "hang": ("FAILED_DOCUMENT_REQUEST", f"{_UNLOADABLE} (Details: net::ERR_TIMED_OUT)"),
    "redirect_loop": ("FAILED_DOCUMENT_REQUEST", f"{_UNLOADABLE} (Details: net::ERR_TOO_MANY_REDIRECTS)"),
    "redirect_private": ("FAILED_DOCUMENT_REQUEST", f"{_UNLOADABLE} (Details: net::ERR_ADDRESS_UNREACHABLE)"),
    "ip_literal": ("FAILED_DOCUMENT_REQUEST", f"{_UNLOADABLE} (Details: net::ERR_ADDRESS_UNREACHABLE)"),
    "binary": ("NOT_HTML", "The page provided is not HTML (served as MIME type image/png)."),
    "unresolvable": ("DNS_FAILURE", "DNS servers could not resolve the provided domain."),
}


@dataclass(frozen=True)
class SiteMeasure:
    """What PSI measures for one site and strategy (the simulator's ground truth)."""

    final_url: str
    fcp_ms: float
    lcp_ms: float
    si_ms: float
    tbt_ms: float
    cls: float
    ttfb_ms: float
    page_bytes: int
    responsive: bool
    score: float
    field: dict[str, float] | None  # CrUX p75 per lab key, or None without field data
    origin_fallback: bool


def log_normal_score(value: float, p10: float, median: float) -> float:
    """Lighthouse's metric score: 0.9 at p10, 0.5 at the median, clamped into the matching band."""
    if value <= 0:
        return 1.0
    standardized = math.log(value / median) * 0.9061938024368232 / -math.log(p10 / median)
    score = (1 - math.erf(standardized)) / 2
    if value <= p10:
        return max(0.9, min(1.0, score))
    if value <= median:
        return max(0.5, min(0.8999999999999999, score))
    return max(0.0, min(0.49999999999999994, score))


def has_viewport(spec: SiteSpec) -> bool:
    """Whether the home page the website simulator serves for `spec` has a viewport meta."""
    if spec.profile in HOSTILE_PAGES:
        return False
    return 'name="viewport"' in render_page(spec, "/")[1]


def final_url(spec: SiteSpec, url: str) -> str:
    """Where Lighthouse ends up after the site's redirects."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if spec.profile == "redirect_chain":
        return f"http://www.{spec.domain}{'/home/' if path in ('/', '/home') else path}"
    return f"{parts.scheme}://{parts.netloc}{path}" + (f"?{parts.query}" if parts.query else "")


def measure(sim: Simulator, url: str, strategy: str) -> SiteMeasure:
    """Lab (and field) values for `url`: drawn from the site's look, scaled for desktop."""
    spec = site_spec(sim.config.seed, urlsplit(url).hostname or "")
    ranges = LAB_RANGES.get(spec.look, DEFAULT_RANGES)
    rng = sim.rng("pagespeed", spec.domain)
    lcp, tbt = rng.uniform(*ranges.lcp_ms), rng.uniform(*ranges.tbt_ms)
    cls, ttfb = rng.uniform(*ranges.cls), rng.uniform(*ranges.ttfb_ms)
    page_bytes = len(render_page(spec, "/")[1].encode()) + int(rng.uniform(*ranges.resource_kib) * 1024)
    if spec.profile == "slow":  # the same server delay websites.serve sleeps
        delay = random.Random(spec.rng_seed).uniform(2000.0, 4000.0)
        ttfb, lcp = ttfb + delay, lcp + delay
    if spec.profile == "huge":
        page_bytes, lcp = page_bytes + 6_000_000, lcp + 3000
    fcp = min(lcp, max(ttfb + 150, lcp * rng.uniform(0.45, 0.8)))
    si = rng.uniform(fcp, lcp * 1.1)
    field_roll, field_factor = rng.random(), rng.uniform(0.8, 1.3)
    if strategy == "desktop":
        lcp, fcp, si, ttfb = (v * DESKTOP_TIME_FACTOR for v in (lcp, fcp, si, ttfb))
        tbt *= DESKTOP_TBT_FACTOR
    lab = {
        "first-contentful-paint": fcp,
        "speed-index": si,
        "largest-contentful-paint": lcp,
        "total-blocking-time": tbt,
        "cumulative-layout-shift": cls,
    }
    score = round(sum(w * log_normal_score(lab[a], *CURVES[strategy][a]) for a, w in WEIGHTS.items()), 2)
    field = None
    if field_roll < 0.45:  # a quarter with URL-level data, a fifth with the origin's only
        field = {
            "lcp_ms": lcp * field_factor,
            "fcp_ms": fcp * field_factor,
            "cls": cls * field_factor,
            "inp_ms": 60 + tbt * 0.5 * field_factor,
            "ttfb_ms": ttfb * field_factor,
        }
    return SiteMeasure(
        final_url(spec, url),
        fcp,
        lcp,
        si,
        tbt,
        cls,
        ttfb,
        page_bytes,
        has_viewport(spec),
        score,
        field,
        origin_fallback=0.25 <= field_roll < 0.45,
    )


def load_failure(sim: Simulator, url: str) -> tuple[str, str] | None:
    """(Lighthouse error code, message) when Lighthouse could not load `url`'s page, else None."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
        kind = "ip_literal"  # PSI runs on the public internet: private and loopback targets are unreachable
    except ValueError:
        unresolvable = "." not in host or host.rsplit(".", 1)[-1] in UNRESOLVABLE_TLDS
        kind = "unresolvable" if unresolvable else site_spec(sim.config.seed, host).profile
    if kind not in LOAD_FAILURES:
        return None
    code, text = LOAD_FAILURES[kind]
    return code, f"Lighthouse returned error: {code}. {text}"


def _google_error(status: int, message: str, domain: str = "global", reason: str = "badRequest") -> web.Response:
    return web.json_response(
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": domain, "reason": reason}],
            }
        },
        status=status,
    )


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f}\u00a0s"


# audit id -> (title, SiteMeasure field, unit, display text)
METRIC_AUDITS = {
    "first-contentful-paint": ("First Contentful Paint", "fcp_ms", "millisecond", _seconds),
    "largest-contentful-paint": ("Largest Contentful Paint", "lcp_ms", "millisecond", _seconds),
    "speed-index": ("Speed Index", "si_ms", "millisecond", _seconds),
    "total-blocking-time": ("Total Blocking Time", "tbt_ms", "millisecond", lambda v: f"{v:,.0f}\u00a0ms"),
    "cumulative-layout-shift": ("Cumulative Layout Shift", "cls", "unitless", lambda v: f"{v:.3f}"),
}


def _screenshot_png(m: SiteMeasure, strategy: str) -> bytes:
    """A small PNG standing in for the page's final screenshot: a header band over a plain body."""
    return _band_png(int(m.lcp_ms) % 200, strategy)


@lru_cache(maxsize=512)
def _band_png(shade: int, strategy: str) -> bytes:
    width, height = (412, 823) if strategy == "mobile" else (1350, 940)
    header = bytes([0]) + bytes((40, shade, 120)) * width
    body = bytes([0]) + bytes((245, 245, 240)) * width
    raw = header * (height // 8) + body * (height - height // 8)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def _audits(m: SiteMeasure, strategy: str) -> dict[str, dict]:
    """The lab audits of a run: the scored metrics, server response, payload and viewport."""
    audits = {}
    for audit_id, (title, attr, unit, display) in METRIC_AUDITS.items():
        value = getattr(m, attr)
        audits[audit_id] = {
            "id": audit_id,
            "title": title,
            "score": log_normal_score(value, *CURVES[strategy][audit_id]),
            "scoreDisplayMode": "numeric",
            "numericValue": value,
            "numericUnit": unit,
            "displayValue": display(value),
        }
    audits["server-response-time"] = {
        "id": "server-response-time",
        "title": "Initial server response time was short",
        "score": 1.0 if m.ttfb_ms <= 600 else 0.0,
        "scoreDisplayMode": "metricSavings",
        "numericValue": m.ttfb_ms,
        "numericUnit": "millisecond",
        "displayValue": f"Root document took {m.ttfb_ms:,.0f}\u00a0ms",
    }
    audits["total-byte-weight"] = {
        "id": "total-byte-weight",
        "title": "Avoids enormous network payloads",
        "score": log_normal_score(m.page_bytes, 2_667_733, 4_000_000),
        "scoreDisplayMode": "numeric",
        "numericValue": m.page_bytes,
        "numericUnit": "byte",
        "displayValue": f"Total size was {m.page_bytes / 1024:,.0f}\u00a0KiB",
    }
    audits["final-screenshot"] = {
        "id": "final-screenshot",
        "title": "Final Screenshot",
        "score": None,
        "scoreDisplayMode": "informative",
        "details": {
            "type": "screenshot",
            "timing": round(m.lcp_ms),
            "timestamp": 0,
            "data": "data:image/png;base64," + base64.b64encode(_screenshot_png(m, strategy)).decode(),
        },
    }
    audits["viewport"] = {
        "id": "viewport",
        "title": 'Has a `<meta name="viewport">` tag with `width` or `initial-scale`',
        "score": 1.0 if m.responsive else 0.0,
        "scoreDisplayMode": "metricSavings",
        **({} if m.responsive else {"explanation": 'No `<meta name="viewport">` tag found'}),
    }
    return audits


def _crux(m: SiteMeasure, url: str) -> dict:
    """``loadingExperience`` as CrUX reports it: p75 per metric, a category, three buckets."""
    if m.field is None:
        return {"initial_url": url}
    metrics, ranks = {}, {"FAST": 0, "AVERAGE": 1, "SLOW": 2}
    for name, (key, good, poor, scale) in FIELD_METRICS.items():
        value = m.field[key]
        category = "FAST" if value <= good else "AVERAGE" if value <= poor else "SLOW"
        shares = {"FAST": (0.8, 0.15, 0.05), "AVERAGE": (0.55, 0.3, 0.15), "SLOW": (0.3, 0.3, 0.4)}[category]
        bounds = [(0, good * scale), (good * scale, poor * scale), (poor * scale, None)]
        metrics[name] = {
            "percentile": round(value * scale),
            "category": category,
            "distributions": [
                {"min": int(lo), **({"max": int(hi)} if hi is not None else {}), "proportion": share}
                for (lo, hi), share in zip(bounds, shares)
            ],
        }
    overall = max((metrics[name]["category"] for name in CORE_WEB_VITALS), key=ranks.__getitem__)
    origin = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    return {
        "id": origin if m.origin_fallback else url,
        "metrics": metrics,
        "overall_category": overall,
        "initial_url": url,
        **({"origin_fallback": True} if m.origin_fallback else {}),
    }


def result_json(url: str, strategy: str, m: SiteMeasure) -> dict:
    """The runPagespeed response body for a page Lighthouse could load."""
    refs = [{"id": audit_id, "weight": weight * 100, "group": "metrics"} for audit_id, weight in WEIGHTS.items()]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "captchaResult": "CAPTCHA_NOT_NEEDED",
        "kind": "pagespeedonline#result",
        "id": m.final_url,
        "loadingExperience": _crux(m, url),
        "lighthouseResult": {
            "requestedUrl": url,
            "finalUrl": m.final_url,
            "mainDocumentUrl": m.final_url,
            "finalDisplayedUrl": m.final_url,
            "lighthouseVersion": LIGHTHOUSE_VERSION,
            "fetchTime": now,
            "configSettings": {
                "emulatedFormFactor": strategy,
                "formFactor": strategy,
                "locale": "en-US",
                "onlyCategories": ["performance"],
                "channel": "lr",
            },
            "audits": _audits(m, strategy),
            "categories": {
                "performance": {"id": "performance", "title": "Performance", "score": m.score, "auditRefs": refs}
            },
            "runWarnings": [],
        },
        "analysisUTCTimestamp": now,
    }


async def run_pagespeed(request: web.Request, sim: Simulator) -> web.Response:
    query = request.query
    key = query.get("key", "")
    fault = await sim.fault(FAMILY, key)
    if fault is not None:
        return fault
    url, strategy = query.get("url", ""), query.get("strategy", "desktop").lower()  # desktop is PSI's default
    sim.record(FAMILY, url=url, strategy=strategy, category=query.getall("category", []))
    if not key or key.lower().startswith("invalid"):
        return _google_error(400, "API key not valid. Please pass a valid API key.")
    if not url:
        return _google_error(400, "Missing required parameters: url", reason="required")
    if strategy not in STRATEGIES:
        return _google_error(
            400, f"Invalid value at 'strategy' (type.googleapis.com/lighthouse.Strategy), \"{strategy}\""
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _google_error(400, f"Invalid value at 'url' ({url!r}): an absolute http(s) URL is required")
    failure = load_failure(sim, url)
    if failure is not None:
        sim.counters[f"{FAMILY}.lighthouse_error"] += 1
        return _google_error(500, failure[1], domain="lighthouse", reason="lighthouseUserError")
    return web.json_response(result_json(url, strategy, measure(sim, url, strategy)))


def setup(app: web.Application, sim: Simulator) -> None:
    app.router.add_get("/pagespeedonline/v5/runPagespeed", partial(run_pagespeed, sim=sim))
