"""The enrich stage: fetch a lead's website, detect its technology, measure it, find contacts.

`Enricher.enrich(lead)` always returns an `Enrichment`: a site that refuses,
fails, times out or is not HTML gives ``status="failed"`` with a readable
reason, a lead without a website gives ``status="skipped"``. Only a problem a
retry can fix (our proxy unreachable, a site's 429) raises
`TransientProviderError` for the stage runner to retry.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from providers.web import FetchResult, RobotsDisallowed, SiteError, WebFetcher, domain_key
from schemas.lead import Contact, Enrichment, Lead, Performance, Tech
from stages.contacts import extract_contacts, merge_contacts
from stages.netguard import FetchRefused
from stages.techdetect import TechDetector, page_facts, version_key

HTML_TYPES = ("text/html", "application/xhtml+xml")
_CONTACT_HREF = re.compile(r"\shref\s*=\s*[\"']?([^\"'\s>]{0,300}contact[^\"'\s>]{0,300})", re.I)


@dataclass(frozen=True)
class ModernThresholds:
    """When a site counts as modern (``Enrichment.modern_site``).

    Modern = fast (TTFB and full load under the limits) AND small (HTML bytes)
    AND responsive (a viewport meta) AND (served over https OR built on a
    modern framework/platform) AND no outdated library (a detected version
    below `min_versions`, or any version of an end-of-life library).
    """

    max_ttfb_ms: float = 800.0
    max_load_ms: float = 2500.0
    max_page_bytes: int = 400_000
    modern_stacks: frozenset[str] = frozenset(
        {"Next.js", "React", "Vue.js", "Angular", "Nuxt.js", "Gatsby", "Svelte", "Wix", "Squarespace", "Shopify"}
    )
    min_versions: dict[str, str] = field(
        default_factory=lambda: {"jQuery": "3.0", "Bootstrap": "4.0", "WordPress": "6.0", "PHP": "8.0",
                                 "jQuery UI": "1.13", "Font Awesome": "5.0", "Drupal": "9.0", "Joomla": "4.0"}
    )
    end_of_life: frozenset[str] = frozenset({"AngularJS", "Moment.js"})

    def outdated(self, tech: list[Tech]) -> list[str]:
        """Names (with version) of the outdated technologies on the page."""
        out = []
        for item in tech:
            minimum = self.min_versions.get(item.name)
            if item.name in self.end_of_life:
                out.append(f"{item.name} {item.version or ''}".strip())
            elif minimum and item.version and version_key(item.version) < version_key(minimum):
                out.append(f"{item.name} {item.version}")
        return out

    def is_modern(self, performance: Performance, tech: list[Tech]) -> bool:
        fast = (performance.ttfb_ms or 0) <= self.max_ttfb_ms and (performance.load_ms or 0) <= self.max_load_ms
        small = (performance.page_bytes or 0) <= self.max_page_bytes
        stack = bool(performance.https) or any(t.name in self.modern_stacks for t in tech)
        return fast and small and bool(performance.mobile_responsive) and stack and not self.outdated(tech)


def website_url(website: str) -> str:
    """The lead's website as an absolute URL (``example.com`` becomes ``http://example.com/``)."""
    website = website.strip()
    if "://" not in website:
        website = "http://" + website
    parts = urlsplit(website)
    return website if parts.path else website + "/"


def is_responsive(html: str) -> bool:
    viewports = page_facts(html).metas.get("viewport", [])
    return any("width=device-width" in v.replace(" ", "").lower() or "initial-scale" in v.lower() for v in viewports)


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
    ) -> None:
        self.fetcher = fetcher
        self.detector = detector
        self.contact_paths = contact_paths
        self.modern = modern_thresholds or ModernThresholds()

    async def enrich(self, lead: Lead) -> Enrichment:
        if not lead.website:
            return Enrichment(status="skipped", reason="no website")
        return await self._enrich_page(website_url(lead.website))

    async def _enrich_page(self, url: str) -> Enrichment:
        try:
            home = await self.fetcher.fetch(url)
        except RobotsDisallowed as exc:
            return _failed(f"robots: {exc.reason}")
        except FetchRefused as exc:
            return _failed(f"refused: {exc.reason}")
        except SiteError as exc:
            return _failed(exc.reason)
        if home.status == 404 and urlsplit(url).path not in ("", "/"):
            return await self._enrich_page(urljoin(url, "/"))  # a stale deep link: the site root will do
        if home.status >= 400:
            return _failed(f"HTTP {home.status}", home)
        if not self._is_html(home):
            return _failed(f"not HTML ({home.content_type or 'no content type'})", home)
        html = home.text()
        tech, contacts, responsive = await asyncio.to_thread(self._analyse, home, html)
        performance = Performance(
            source="http", ttfb_ms=round(home.ttfb_ms, 1), load_ms=round(home.total_ms, 1), page_bytes=len(home.body),
            https=home.final_url.startswith("https://"), mobile_responsive=responsive,
        )
        if home.truncated:
            return _failed(f"page too large (over {self.fetcher.max_bytes} bytes)", home, tech=tech, performance=performance)
        contacts = merge_contacts(contacts, await self._contact_page_contacts(home, html))
        return Enrichment(
            status="ok", final_url=home.final_url, http_status=home.status, tech=tech, performance=performance,
            contacts=contacts, modern_site=self.modern.is_modern(performance, tech),
        )

    def _analyse(self, page: FetchResult, html: str) -> tuple[list[Tech], list[Contact], bool]:
        """The CPU part (regex scans), run in a worker thread so the event loop stays responsive."""
        tech = self.detector.detect(page.final_url, page.headers, html, page.cookies)
        return tech, extract_contacts(html, urlsplit(page.final_url).path or "/"), is_responsive(html)

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
