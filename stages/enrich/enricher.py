"""The enrich stage: fetch a lead's website, detect its technology, audit it, find contacts.

`Enricher.enrich(lead)` always returns an `Enrichment`: a site that refuses,
fails, times out or is not HTML gives ``status="failed"`` with a readable
reason, a lead without a website gives ``status="skipped"``. Only a problem a
retry can fix (our proxy unreachable, a site's 429) raises
`TransientProviderError` for the stage runner to retry.

The tier (1 basic, 2 + screenshot, 3 + site audit) picks what runs; each
field (email, performance, screenshot) comes from the first provider in its
configured order whose value passes the field's check (`stages.waterfall`,
`stages.enrich_sources`). A page that is empty without JavaScript is rendered
in Chromium so its contacts and JS-global technologies are seen.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urljoin, urlsplit

from providers.web import FetchResult, RobotsDisallowed, SiteError, WebFetcher, domain_key
from schemas.lead import Contact, Enrichment, Lead
from stages.contacts import extract_contacts
from stages.enrich_sources import EnrichSources, SiteVisit
from stages.modern import ModernThresholds
from providers.netguard import FetchRefused
from stages.techdetect import TechDetector
from config.settings import DEFAULT_WATERFALL, WATERFALL_PROVIDERS, parse_waterfall
from stages.waterfall import Waterfall

HTML_TYPES = ("text/html", "application/xhtml+xml")
_SPA_MARKERS = ('id="root"', "id='root'", 'id="app"', "id='app'", 'id="__nuxt"', "enable javascript")
_NON_TEXT = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.S | re.I)
_TAGS = re.compile(r"<[^>]*>")
_CONTACT_HREF = re.compile(r"\shref\s*=\s*[\"']?([^\"'\s>]{0,300}contact[^\"'\s>]{0,300})", re.I)


def website_url(website: str) -> str:
    """The lead's website as an absolute URL (``example.com`` becomes ``http://example.com/``)."""
    website = website.strip()
    if "://" not in website:
        website = "http://" + website
    parts = urlsplit(website)
    return website if parts.path else website + "/"


def needs_javascript(html: str) -> bool:
    """A client-rendered shell: next to no visible text, and a mount point or a noscript plea."""
    lowered = html[:200_000].lower()
    shell = any(marker in lowered for marker in _SPA_MARKERS)
    text = _TAGS.sub(" ", _NON_TEXT.sub(" ", lowered))
    return shell and len(" ".join(text.split())) < 200


def _failed(reason: str, result: FetchResult | None = None, **extra) -> Enrichment:
    return Enrichment(
        status="failed", reason=reason, final_url=result.final_url if result else None,
        http_status=result.status if result else None, **extra,
    )


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
        self.orders = parse_waterfall(waterfall) if isinstance(waterfall, str) else {k: list(v) for k, v in waterfall.items()}
        unknown = sorted(set(self.orders) - set(WATERFALL_PROVIDERS))
        if unknown:
            raise ValueError(f"enrich waterfall names unknown fields {unknown}; known: {', '.join(WATERFALL_PROVIDERS)}")
        self.js_paths = sorted(detector.js_paths)

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
            return _failed(f"robots: {exc.reason}")
        except FetchRefused as exc:
            return _failed(f"refused: {exc.reason}")
        except SiteError as exc:
            return _failed(exc.reason)
        if home.status == 404 and urlsplit(url).path not in ("", "/"):
            return await self._enrich_page(lead, urljoin(url, "/"), tier)  # a stale deep link: the site root will do
        if home.status >= 400:
            return _failed(f"HTTP {home.status}", home)
        if not self._is_html(home):
            return _failed(f"not HTML ({home.content_type or 'no content type'})", home)
        visit = SiteVisit(lead, tier, home, home.text(), self.sources, self.js_paths,
                          contact_pages=lambda: self._contact_page_contacts(home, visit.html),
                          check_robots=self.fetcher.check_robots)
        if home.truncated:  # what the first bytes show is kept; the rest of the page is not ours to read
            tech = await asyncio.to_thread(self.detector.detect, home.final_url, home.headers, visit.html, home.cookies)
            return _failed(f"page too large (over {self.fetcher.max_bytes} bytes)", home, tech=tech,
                           performance=await visit.http_performance())
        try:
            return await self._enrich_visit(visit)
        finally:
            await visit.close()

    async def _enrich_visit(self, visit: SiteVisit) -> Enrichment:
        if self.sources.render_js and self.sources.renderer is not None and needs_javascript(visit.html):
            try:  # a single-page app: only the rendered DOM has its contacts and content
                visit.html = (await visit.render()).html
            except (FetchRefused, SiteError) as exc:
                return _failed(f"page needs JavaScript and could not be rendered: {getattr(exc, 'reason', exc)}", visit.home)
        visit.home_contacts = await asyncio.to_thread(extract_contacts, visit.html, urlsplit(visit.url).path or "/")
        emails, (shot, performance) = await asyncio.gather(
            Waterfall("email").run(visit.email_lookups(self.orders.get("email", ["website"])), visit.check_emails),
            self._screenshot_then_performance(visit),
        )
        rendered = visit.rendered
        tech = await asyncio.to_thread(
            self.detector.detect, visit.url, visit.home.headers, visit.html,
            {**visit.home.cookies, **(rendered.cookies if rendered else {})}, js=rendered.js if rendered else None)
        sources = {name: r.provider for name, r in (("email", emails), ("screenshot", shot), ("performance", performance))
                   if r.provider}
        perf = performance.value
        return Enrichment(
            status="ok", final_url=visit.url, http_status=visit.home.status, tech=tech, performance=perf,
            contacts=emails.value or [], modern_site=perf is not None and self.modern.is_modern(perf, tech),
            rendered=rendered is not None, screenshot_uri=shot.value, sources=sources,
            attempts=emails.attempts + shot.attempts + performance.attempts,
        )

    async def _screenshot_then_performance(self, visit: SiteVisit):
        """In this order, so a lower tier whose screenshot needed a render also gets that render's lab values."""
        shot = await Waterfall("screenshot").run(
            visit.screenshot_lookups(self.orders.get("screenshot", [])), visit.store_screenshot)
        performance = await Waterfall("performance").run(
            visit.performance_lookups(self.orders.get("performance", ["http"])), visit.check_performance)
        return shot, performance

    @staticmethod
    def _is_html(page: FetchResult) -> bool:
        if page.content_type:
            return page.content_type in HTML_TYPES
        return page.body.lstrip()[:1] == b"<"

    def contact_urls(self, home: FetchResult, html: str) -> list[str]:
        """Contact pages to try: links on the home page first, then the configured paths."""
        site = domain_key(home.final_url)
        urls: list[str] = []
        for href in _CONTACT_HREF.findall(html[:300_000]):
            absolute = urljoin(home.final_url, href.strip()).split("#")[0]
            if absolute.startswith(("http://", "https://")) and domain_key(absolute) == site:
                urls.append(absolute)
        urls += [urljoin(home.final_url, path) for path in self.contact_paths]
        home_url = home.final_url.rstrip("/")
        return [u for i, u in enumerate(urls) if u not in urls[:i] and u.rstrip("/") != home_url]

    async def _contact_page_contacts(self, home: FetchResult, html: str) -> list[Contact]:
        """Contacts from the first contact page that answers with HTML; its failures are not the lead's."""
        for url in self.contact_urls(home, html):
            try:
                page = await self.fetcher.fetch(url)
            except (FetchRefused, SiteError):
                continue
            if page.status >= 400 or not self._is_html(page):
                continue
            text = page.text()
            path = urlsplit(page.final_url).path or "/"
            return await asyncio.to_thread(extract_contacts, text, path)
        return []
