"""When a site counts as modern (`Enrichment.modern_site`): such sites are not emailed."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.lead import Performance, Tech
from stages.enrich.detect import page_facts, version_key


def is_responsive(html: str) -> bool:
    """A viewport meta that adapts to the device (the static half of the mobile check)."""
    viewports = page_facts(html).metas.get("viewport", [])
    return any("width=device-width" in v.replace(" ", "").lower() or "initial-scale" in v.lower() for v in viewports)


@dataclass(frozen=True)
class ModernThresholds:
    """Modern = fast AND responsive AND (https OR a modern framework/platform) AND no outdated library.

    Fast uses lab Core Web Vitals when the site was audited (Chromium or a
    PageSpeed-style API): LCP, CLS and TBT within Google's "good" limits
    (TBT standing in for INP) and the whole page under `max_total_bytes`.
    Without an audit it falls back to the plain fetch: TTFB and download time
    under the limits and the HTML under `max_page_bytes`.
    """

    max_lcp_ms: float = 2500.0
    max_cls: float = 0.1
    max_tbt_ms: float = 200.0
    max_total_bytes: int = 3_000_000
    max_ttfb_ms: float = 800.0
    max_load_ms: float = 2500.0
    max_page_bytes: int = 400_000
    modern_stacks: frozenset[str] = frozenset(
        {"Next.js", "React", "Vue.js", "Angular", "Nuxt.js", "Gatsby", "Svelte", "Wix", "Squarespace", "Shopify"}
    )
    min_versions: dict[str, str] = field(
        default_factory=lambda: {
            "jQuery": "3.0",
            "Bootstrap": "4.0",
            "WordPress": "6.0",
            "PHP": "8.0",
            "jQuery UI": "1.13",
            "Font Awesome": "5.0",
            "Drupal": "9.0",
            "Joomla": "4.0",
        }
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

    def is_fast(self, p: Performance) -> bool:
        if p.lcp_ms is not None:
            return (
                p.lcp_ms <= self.max_lcp_ms
                and (p.cls or 0.0) <= self.max_cls
                and (p.tbt_ms or 0.0) <= self.max_tbt_ms
                and (p.page_bytes or 0) <= self.max_total_bytes
            )
        return (
            (p.ttfb_ms or 0) <= self.max_ttfb_ms
            and (p.load_ms or 0) <= self.max_load_ms
            and (p.page_bytes or 0) <= self.max_page_bytes
        )

    def is_modern(self, performance: Performance, tech: list[Tech]) -> bool:
        stack = bool(performance.https) or any(t.name in self.modern_stacks for t in tech)
        return self.is_fast(performance) and bool(performance.mobile_responsive) and stack and not self.outdated(tech)
