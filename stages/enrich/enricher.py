"""The enrich stage: fetch a lead's website, detect its technology, audit it, find contacts.

`Enricher.enrich(lead)` returns an `Enrichment`: a site that refuses, fails,
times out or is not HTML gives ``status="failed"`` with a readable reason, a
lead without a website gives ``status="skipped"``. A home page that answered
but was cut (over the size cap, or still loading at the deadline) is read as
far as it came like any page, ``status="ok"`` with ``reason`` saying what was
cut: the default rules read "failed" as a site that may belong to a closed
business, and this one answered. Only a problem a retry can fix raises
`TransientProviderError` for the stage runner to retry: our proxy unreachable,
a site's 429, or a field none of whose providers could answer because one
failed transiently (`stages.enrich.waterfall`).

The tier (1 basic, 2 + screenshot, 3 + site audit) picks what runs; each
field (email, performance, screenshot) comes from the first provider in its
configured order whose value passes the field's check (`stages.enrich.waterfall`,
`stages.enrich.sources`). A page that is empty without JavaScript is rendered
in Chromium so its contacts and JS-global technologies are seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from config.settings import DEFAULT_WATERFALL, WATERFALL_PROVIDERS, parse_waterfall
from providers.netguard import FetchRefused
from providers.web import FetchResult, RobotsDisallowed, SiteError, WebFetcher
from schemas.lead import Contact, Enrichment, Lead
from stages.enrich.contacts import extract_contacts
from stages.enrich.detect import TechDetector
from stages.enrich.fetch import (
    contact_page_urls,
    failed_enrichment,
    is_html,
    needs_javascript,
    page_cut,
    website_url,
)
from stages.enrich.performance import ModernThresholds
from stages.enrich.sources import EnrichSources, SiteVisit
from stages.enrich.waterfall import Waterfall

# Pages up to this many characters are scanned (tech detection, contacts) on the event loop: both run on
# linear-time matchers and cost well under a millisecond for a typical page, less than a hop to a thread.
# A larger page goes to a thread so it cannot hold up the loop.
INLINE_SCAN_CHARS = 150_000
T = TypeVar("T")


async def scan(fn: Callable[..., T], *args: Any, size: str, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)`: inline for a page of `size` up to `INLINE_SCAN_CHARS`, else in a thread."""
    if len(size) <= INLINE_SCAN_CHARS:
        return fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)


__all__ = ["Enricher", "website_url"]


class Enricher:
    """Turns a lead's website into an `Enrichment`; see the module docstring."""

    def __init__(
        self,
        fetcher: WebFetcher,
        detector: TechDetector,
        contact_paths: tuple[str, ...] = ("/contact", "/contact-us"),
        modern_thresholds: ModernThresholds | None = None,
        *,
        sources: EnrichSources | None = None,
        default_tier: int = 3,
        waterfall: str | dict[str, list[str]] = DEFAULT_WATERFALL,
    ) -> None:
        self.fetcher = fetcher
        self.detector = detector
        self.contact_paths = contact_paths
        self.modern = modern_thresholds or ModernThresholds()
        self.sources = sources or EnrichSources()
        self.default_tier = default_tier
        self.orders = (
            parse_waterfall(waterfall) if isinstance(waterfall, str) else {k: list(v) for k, v in waterfall.items()}
        )
        unknown = sorted(set(self.orders) - set(WATERFALL_PROVIDERS))
        if unknown:
            raise ValueError(
                f"enrich waterfall names unknown fields {unknown}; known: {', '.join(WATERFALL_PROVIDERS)}"
            )
        self.js_paths = sorted(detector.js_paths)

    async def warm_up(self) -> None:
        """Start what a first lead would otherwise wait for: the renderer's Chromium and a tab (if rendering is on)."""
        if self.sources.render_js and self.sources.renderer is not None:
            await self.sources.renderer.warm_up()

    async def enrich(self, lead: Lead) -> Enrichment:
        tier = lead.enrich_tier or self.default_tier
        if not lead.website:
            return Enrichment(status="skipped", reason="no website", tier=tier)
        enrichment = await self._enrich_page(lead, website_url(lead.website), tier)
        return enrichment.model_copy(update={"tier": tier})

    async def _enrich_page(self, lead: Lead, url: str, tier: int) -> Enrichment:
        try:
            home = await self.fetcher.fetch(url)
        except RobotsDisallowed as exc:
            return failed_enrichment(f"robots: {exc.reason}")
        except FetchRefused as exc:
            return failed_enrichment(f"refused: {exc.reason}")
        except SiteError as exc:
            return failed_enrichment(exc.reason)
        if home.status == 404 and urlsplit(url).path not in ("", "/"):
            return await self._enrich_page(lead, urljoin(url, "/"), tier)  # a stale deep link: the site root will do
        if home.status >= 400:
            return failed_enrichment(f"HTTP {home.status}", home)
        if not is_html(home):
            return failed_enrichment(f"not HTML ({home.content_type or 'no content type'})", home)
        visit = SiteVisit(
            lead,
            tier,
            home,
            home.text(),
            self.sources,
            self.js_paths,
            contact_pages=lambda: self._contact_page_contacts(home, visit.html),
            check_robots=self.fetcher.check_robots,
        )
        try:
            enrichment = await self._enrich_visit(visit)
        finally:
            await visit.close()
        cut = page_cut(home, max_bytes=self.fetcher.max_bytes, timeout_s=self.fetcher.timeout_s)
        return enrichment.model_copy(update={"reason": cut}) if cut and enrichment.status == "ok" else enrichment

    async def _enrich_visit(self, visit: SiteVisit) -> Enrichment:
        if self.sources.render_js and self.sources.renderer is not None and needs_javascript(visit.html):
            try:  # a single-page app: only the rendered DOM has its contacts and content
                api_first = visit.screenshot_api_first(self.orders.get("screenshot", []))
                visit.html = (await visit.render(screenshot=False if api_first else None)).html
            except (FetchRefused, SiteError) as exc:
                return failed_enrichment(
                    f"page needs JavaScript and could not be rendered: {getattr(exc, 'reason', exc)}", visit.home
                )
        visit.home_contacts = await scan(extract_contacts, visit.html, urlsplit(visit.url).path or "/", size=visit.html)
        emails, (shot, performance) = await asyncio.gather(
            Waterfall("email").run(visit.email_lookups(self.orders.get("email", ["website"])), visit.check_emails),
            self._screenshot_then_performance(visit),
        )
        rendered = visit.rendered
        tech = await scan(
            self.detector.detect,
            visit.url,
            visit.home.headers,
            visit.html,
            {**visit.home.cookies, **(rendered.cookies if rendered else {})},
            js=rendered.js if rendered else None,
            size=visit.html,
        )
        sources = {
            name: r.provider
            for name, r in (("email", emails), ("screenshot", shot), ("performance", performance))
            if r.provider
        }
        perf = performance.value
        return Enrichment(
            status="ok",
            final_url=visit.url,
            http_status=visit.home.status,
            tech=tech,
            performance=perf,
            contacts=emails.value or [],
            modern_site=perf is not None and self.modern.is_modern(perf, tech),
            rendered=rendered is not None,
            screenshot_uri=shot.value,
            sources=sources,
            attempts=emails.attempts + shot.attempts + performance.attempts,
        )

    async def _screenshot_then_performance(self, visit: SiteVisit):
        """In this order, so a lower tier whose screenshot needed a render also gets that render's lab values."""
        shot = await Waterfall("screenshot").run(
            visit.screenshot_lookups(self.orders.get("screenshot", [])), visit.store_screenshot
        )
        performance = await Waterfall("performance").run(
            visit.performance_lookups(self.orders.get("performance", ["http"])), visit.check_performance
        )
        return shot, performance

    def contact_urls(self, home: FetchResult, html: str) -> list[str]:
        """Contact pages to try: links on the home page first, then the configured paths."""
        return contact_page_urls(home, html, self.contact_paths)

    async def _contact_page_contacts(self, home: FetchResult, html: str) -> list[Contact]:
        """Contacts from the first contact page that answers with HTML; its failures are not the lead's."""
        for url in self.contact_urls(home, html):
            try:
                page = await self.fetcher.fetch(url)
            except (FetchRefused, SiteError):
                continue
            if page.status >= 400 or not is_html(page):
                continue
            text = page.text()
            path = urlsplit(page.final_url).path or "/"
            return await scan(extract_contacts, text, path, size=text)
        return []
