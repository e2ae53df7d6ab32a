"""What the enrich stage makes of a fetched page (the fetching itself is `providers.web.WebFetcher`).

The lead's website as a URL to fetch, whether a response is an HTML page,
whether that page is an empty single-page-app shell that needs Chromium, which
links on it lead to a contact page, what was cut of a page read in part, and
the `Enrichment` a failed visit gives.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from providers.web import FetchResult, domain_key
from schemas.lead import Enrichment
from stages.enrich.markup import TAG, without_elements

HTML_TYPES = ("text/html", "application/xhtml+xml")
_SPA_MARKERS = ('id="root"', "id='root'", 'id="app"', "id='app'", 'id="__nuxt"', "enable javascript")
_NON_TEXT = ("script", "style", "noscript", "template")
_CONTACT_HREF = re.compile(r"\shref\s*=\s*[\"']?([^\"'\s>]{0,300}contact[^\"'\s>]{0,300})", re.I)


def website_url(website: str) -> str:
    """The lead's website as an absolute URL (``example.com`` becomes ``http://example.com/``)."""
    website = website.strip()
    if "://" not in website:
        website = "http://" + website
    parts = urlsplit(website)
    return website if parts.path else website + "/"


def is_html(page: FetchResult) -> bool:
    if page.content_type:
        return page.content_type in HTML_TYPES
    return page.body.lstrip()[:1] == b"<"


def needs_javascript(html: str) -> bool:
    """A client-rendered shell: next to no visible text, and a mount point or a noscript plea."""
    lowered = html[:200_000].lower()
    if not any(marker in lowered for marker in _SPA_MARKERS):
        return False  # no mount point: the visible text (the costly part) is not needed
    text = TAG.sub(" ", without_elements(lowered, _NON_TEXT))  # linear: see stages.enrich.markup
    return len(" ".join(text.split())) < 200


def contact_page_urls(home: FetchResult, html: str, contact_paths: tuple[str, ...]) -> list[str]:
    """Contact pages to try: links on the home page first, then `contact_paths`; same site only."""
    site = domain_key(home.final_url)
    urls: list[str] = []
    for href in _CONTACT_HREF.findall(html[:300_000]):
        absolute = urljoin(home.final_url, href.strip()).split("#")[0]
        if absolute.startswith(("http://", "https://")) and domain_key(absolute) == site:
            urls.append(absolute)
    urls += [urljoin(home.final_url, path) for path in contact_paths]
    home_url = home.final_url.rstrip("/")
    # each URL once, in first-seen order, in linear time: a page of 20,000 contact links repeats one URL throughout
    return [u for u in dict.fromkeys(urls) if u.rstrip("/") != home_url]


def failed_enrichment(reason: str, result: FetchResult | None = None, **extra: Any) -> Enrichment:
    return Enrichment(
        status="failed",
        reason=reason,
        final_url=result.final_url if result else None,
        http_status=result.status if result else None,
        **extra,
    )


def page_cut(page: FetchResult, *, max_bytes: int, timeout_s: float) -> str | None:
    """What was cut of a home page read only in part, as `Enrichment.reason` says it; None for a whole page."""
    if page.truncated:
        return f"page over {max_bytes} bytes: its first {max_bytes} read"
    if page.unfinished:
        return f"page still loading after {timeout_s:g}s: the {len(page.body)} bytes before that read"
    return None
