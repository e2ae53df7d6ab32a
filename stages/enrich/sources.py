"""Where each enrichment field can come from, and the check a value must pass.

`EnrichSources` holds the optional adapters (Chromium, a PageSpeed-style API,
an email finder, the MX checker, the blob store); `SiteVisit` is one lead's
visit: it remembers the fetched page and makes at most one Chromium render and
one PageSpeed call however many fields ask for them. The lookups below are the
waterfall's providers (`stages.enrich.waterfall`); each raises `ProviderSkipped` when
it cannot answer for this lead, so the waterfall records why and moves on.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from providers.http import PermanentProviderError
from providers.netguard import FetchRefused
from providers.web import FetchResult, SiteError, domain_key
from schemas.lead import Contact, Lead, Performance
from stages.enrich.contacts import merge_contacts
from stages.enrich.waterfall import Lookup, ProviderSkipped

if TYPE_CHECKING:
    from providers.browser import PageRenderer
    from providers.emailfinder import FoundEmail
    from providers.mx import MxChecker
    from providers.pagespeed import PageSpeedResult
    from storage.blobs import BlobStore

AUDIT_TIER, SCREENSHOT_TIER = 3, 2
MIN_FINDER_CONFIDENCE = 50


@dataclass
class EnrichSources:
    """Optional adapters; a missing one is "not configured" for the waterfall.

    `pagespeed` and `hunter` are guarded calls (`providers.guarded.Guarded`):
    ``pagespeed(url, lead_id=…) -> PageSpeedResult``, ``hunter(domain, lead_id=…) -> [FoundEmail]``.
    """

    renderer: PageRenderer | None = None
    pagespeed: Callable[..., Awaitable[PageSpeedResult]] | None = None
    hunter: Callable[..., Awaitable[list[FoundEmail]]] | None = None
    mx: MxChecker | None = None
    blobs: BlobStore | None = None
    render_js: bool = True


@dataclass
class SiteVisit:
    """One lead's website as the enrich stage sees it."""

    lead: Lead
    tier: int
    home: FetchResult
    html: str
    sources: EnrichSources
    js_paths: list[str]
    contact_pages: Callable[[], Awaitable[list[Contact]]]
    check_robots: Callable[[str], Awaitable[None]]
    home_contacts: list[Contact] = field(default_factory=list)
    _render: _SharedCall | None = None
    _render_shot: bool = False  # whether the render above takes the screenshot
    _shot_render: _SharedCall | None = None  # a second render, only for a screenshot the first one skipped
    _audit: _SharedCall | None = None

    @property
    def url(self) -> str:
        return self.home.final_url

    # --- shared, memoized calls --------------------------------------------
    def render(self, *, screenshot: bool | None = None) -> Awaitable[Any]:
        """The Chromium render of the home page (once per visit, whoever asks first).

        It takes the screenshot at the screenshot tier unless told not to: a single-page app's render, made
        for its DOM before the waterfalls run, skips it when a configured API comes first in the screenshot
        order (PNG encoding is Chromium's work, wasted when the API answers); `_screenshot_lab` then renders
        again for one only if the API missed.
        """
        renderer = self.sources.renderer
        if renderer is None:
            raise ProviderSkipped("Chromium not configured")
        if self._render is None:
            self._render_shot = self.tier >= SCREENSHOT_TIER if screenshot is None else screenshot
            self._render = _SharedCall("chromium", self._render_call(renderer, self._render_shot))
        return self._render.get()

    def _render_call(self, renderer: PageRenderer, screenshot: bool) -> Callable[[], Awaitable[Any]]:
        async def render() -> Any:
            await self.check_robots(self.url)  # cached since the plain fetch; the renderer's requests skip robots
            return await renderer.render(self.url, js_paths=self.js_paths, screenshot=screenshot)

        return render

    def screenshot_api_first(self, order: list[str]) -> bool:
        """Whether a configured screenshot API comes before Chromium in `order` (the SPA render may skip its own)."""
        for name in order:
            if name == "pagespeed" and self.sources.pagespeed is not None:
                return True
            if name == "browser":
                return False
        return False

    @property
    def rendered(self) -> Any | None:
        return self._render.result if self._render is not None else None

    def audit(self) -> Awaitable[Any]:
        """The PageSpeed-style audit of the home page (once per visit)."""
        pagespeed = self.sources.pagespeed
        if pagespeed is None:
            raise ProviderSkipped("no PageSpeed API configured")
        if self._audit is None:
            self._audit = _SharedCall("pagespeed", lambda: pagespeed(self.url, lead_id=self.lead.lead_id))
        return self._audit.get()

    async def close(self) -> None:
        """Cancel shared calls nobody awaited, so no task outlives the lead."""
        for shared in (self._render, self._shot_render, self._audit):
            if shared is not None:
                await shared.cancel()

    async def _lab_render(self, render: Awaitable[Any] | None = None) -> Any:
        """The render (`render`, else the visit's) for lab values: a site that cannot be rendered is this
        provider's miss, not the lead's end."""
        try:
            return await (render if render is not None else self.render())
        except (FetchRefused, SiteError) as exc:
            raise PermanentProviderError("chromium", getattr(exc, "reason", str(exc))) from exc

    # --- email ---------------------------------------------------------------
    def email_lookups(self, order: list[str]) -> list[tuple[str, Lookup]]:
        known = {"website": self._website_emails, "hunter": self._finder_emails}
        return [(name, known[name]) for name in order if name in known]

    async def _website_emails(self) -> list[Contact]:
        return merge_contacts(self.home_contacts, await self.contact_pages())

    async def _finder_emails(self) -> list[Contact]:
        if self.sources.hunter is None:
            raise ProviderSkipped("no email finder configured")
        found = await self.sources.hunter(domain_key(self.url), lead_id=self.lead.lead_id)
        return [
            Contact(email=f.email.lower(), kind=f.kind, source="hunter")
            for f in found
            if (f.confidence or 0) >= MIN_FINDER_CONFIDENCE
        ]

    async def check_emails(self, contacts: list[Contact]) -> list[Contact] | None:
        """Keep addresses whose syntax is valid and whose domain takes mail; None when none is left."""
        if self.sources.mx is None:
            return contacts or None
        checks = await asyncio.gather(*(self.sources.mx.check(c.email) for c in contacts))
        kept = [c.model_copy(update={"mx_ok": check.ok}) for c, check in zip(contacts, checks) if check.ok is not False]
        return kept or None

    # --- performance -----------------------------------------------------------
    def performance_lookups(self, order: list[str]) -> list[tuple[str, Lookup]]:
        """Below the audit tier only what is already at hand: a render made anyway, and the fetch timings."""
        known = {"pagespeed": self._performance_api, "browser": self._performance_lab, "http": self.http_performance}
        if self.tier < AUDIT_TIER:
            known = (
                {"browser": self._performance_lab, "http": self.http_performance}
                if self._render is not None
                else {"http": self.http_performance}
            )
        return [(name, known[name]) for name in order if name in known]

    async def _performance_api(self) -> Performance:
        r = await self.audit()
        return Performance(
            source="api",
            ttfb_ms=_round(r.ttfb_ms),
            page_bytes=r.page_bytes,
            lcp_ms=_round(r.lcp_ms),
            fcp_ms=_round(r.fcp_ms),
            cls=None if r.cls is None else round(r.cls, 4),
            tbt_ms=_round(r.tbt_ms),
            https=self.url.startswith("https://"),
            mobile_responsive=r.mobile_responsive,
            score=r.performance_score,
        )

    async def _performance_lab(self) -> Performance:
        r = await self._lab_render()
        return Performance(
            source="browser",
            ttfb_ms=_round(r.ttfb_ms),
            load_ms=_round(r.load_ms),
            page_bytes=r.page_bytes,
            lcp_ms=_round(r.lcp_ms),
            fcp_ms=_round(r.fcp_ms),
            cls=None if r.cls is None else round(r.cls, 4),
            tbt_ms=_round(r.tbt_ms),
            https=r.final_url.startswith("https://"),
            mobile_responsive=r.mobile_responsive,
        )

    async def http_performance(self) -> Performance:
        from stages.enrich.performance import is_responsive

        home = self.home
        return Performance(
            source="http",
            ttfb_ms=round(home.ttfb_ms, 1),
            load_ms=round(home.total_ms, 1),
            page_bytes=len(home.body),
            https=home.final_url.startswith("https://"),
            mobile_responsive=is_responsive(self.html),
        )

    @staticmethod
    async def check_performance(p: Performance) -> Performance | None:
        """An audit must measure paint (LCP); the plain fetch's timings are the last resort."""
        return p if p.lcp_ms is not None or p.source == "http" else None

    # --- screenshot --------------------------------------------------------------
    def screenshot_lookups(self, order: list[str]) -> list[tuple[str, Lookup]]:
        if self.tier < SCREENSHOT_TIER:
            return []
        known = {"pagespeed": self._screenshot_api, "browser": self._screenshot_lab}
        return [(name, known[name]) for name in order if name in known]

    async def _screenshot_api(self) -> tuple[bytes, str] | None:
        shot = (await self.audit()).screenshot
        if not shot:
            return None
        mime, _, data = shot.partition(";base64,")  # PSI gives a data: URI
        return base64.b64decode(data), mime.removeprefix("data:") or "image/jpeg"

    async def _screenshot_lab(self) -> tuple[bytes, str] | None:
        png = (await self._lab_render()).screenshot_png
        if png is None and not self._render_shot and self.sources.renderer is not None:
            if self._shot_render is None:  # the SPA render skipped it for the API, and the API missed
                self._shot_render = _SharedCall("chromium", self._render_call(self.sources.renderer, True))
            png = (await self._lab_render(self._shot_render.get())).screenshot_png
        return (png, "image/png") if png else None

    async def store_screenshot(self, shot: tuple[bytes, str]) -> str | None:
        data, mime = shot
        if self.sources.blobs is None or not data:
            return None
        extension = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(mime, "bin")
        return await self.sources.blobs.put(f"screenshots/{self.lead.lead_id}.{extension}", data, mime)


class _SharedCall:
    """One provider call shared by every field of a visit: made once, whoever asks first.

    Every field gets the same answer or the same error. A transient error is not
    retried here: each field's waterfall takes it as this provider's miss for now
    (`stages.enrich.waterfall`), and retrying the lead is the runner's decision.
    """

    def __init__(self, provider: str, start: Callable[[], Awaitable[Any]]) -> None:
        self.provider, self._start = provider, start
        self._task: asyncio.Task | None = None

    def get(self) -> Awaitable[Any]:
        if self._task is None:
            self._task = asyncio.ensure_future(self._start())
        return asyncio.shield(self._task)

    @property
    def result(self) -> Any | None:
        task = self._task
        return (
            task.result()
            if task is not None and task.done() and not task.cancelled() and not task.exception()
            else None
        )

    async def cancel(self) -> None:
        if self._task is not None:
            if not self._task.done():
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
