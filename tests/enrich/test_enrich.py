"""The Enricher end to end through the simulator proxy, on several site profiles."""

from __future__ import annotations

import pytest

from providers.http import TransientProviderError
from providers.web import WebFetcher
from schemas.lead import Lead
from simulator.websites import site_spec
from stages.enrich.detect import TechDetector
from stages.enrich.enricher import Enricher, website_url
from stages.enrich.performance import ModernThresholds
from tests.enrich.sites import domain

# Technologies each well-behaved look must show (names and versions from simulator/websites.py's signatures).
LOOK_TECH = {
    "wordpress_legacy": {"WordPress", "jQuery", "PHP", "Apache HTTP Server", "Google Analytics", "Font Awesome"},
    "wordpress_modern": {
        "WordPress",
        "Elementor",
        "Yoast SEO",
        "jQuery",
        "Cloudflare",
        "Google Tag Manager",
        "reCAPTCHA",
    },
    "wix": {"Wix", "React"},
    "squarespace": {"Squarespace"},
    "shopify": {"Shopify", "Cloudflare", "Stripe", "Facebook Pixel"},
    "godaddy": {"GoDaddy Website Builder"},
    "static_bootstrap": {"Bootstrap", "jQuery", "Modernizr"},
    "nextjs": {"Next.js", "React", "Nginx", "Google Tag Manager"},
    "joomla": {"Joomla", "PHP"},
    "weebly": {"Weebly"},
}


@pytest.fixture
async def enricher(web_sim):
    proxy, _ = web_sim
    fetcher = WebFetcher(
        proxy,
        timeout_s=1.5,
        max_bytes=1_000_000,
        user_agent=None,
        per_domain_concurrency=2,
        allowlist=[],
        resolver_nameservers=None,
    )
    yield Enricher(fetcher, TechDetector.from_file())
    await fetcher.aclose()


def _lead(website: str | None) -> Lead:
    return Lead(lead_id="ld_1", geo_key="98901", source="test", name="Valley Heating", zip="98901", website=website)


@pytest.mark.parametrize("profile", sorted(LOOK_TECH))
async def test_profiles_enrich_ok(enricher: Enricher, web_sim, profile: str) -> None:
    _, sim = web_sim
    host = domain(sim, profile)
    spec = site_spec(sim.config.seed, host)
    result = await enricher.enrich(_lead(host))
    assert result.status == "ok", result.reason
    assert result.http_status == 200 and result.final_url == f"http://{host}/"
    assert LOOK_TECH[profile] <= {t.name for t in result.tech}
    assert {(c.email, c.kind) for c in result.contacts} == {(e.address, e.kind) for e in spec.emails}
    perf = result.performance
    assert perf.source == "http" and perf.page_bytes > 0 and perf.https is False and perf.ttfb_ms <= perf.load_ms
    # fast, small and responsive on a modern framework/platform; the rest lack a viewport, are slow or run old libraries
    assert result.modern_site is (profile in {"nextjs", "wix", "squarespace", "shopify"})


async def test_versions_and_outdated_libraries(enricher: Enricher, web_sim) -> None:
    _, sim = web_sim
    result = await enricher.enrich(_lead(f"http://{domain(sim, 'static_bootstrap')}"))
    versions = {t.name: t.version for t in result.tech}
    assert versions["jQuery"] == "1.11.3" and versions["Bootstrap"] == "3.3.7"
    assert ModernThresholds().outdated(result.tech) == ["Bootstrap 3.3.7", "jQuery 1.11.3"]
    assert result.performance.mobile_responsive is True and result.modern_site is False


async def test_contacts_come_from_the_contact_page(enricher: Enricher, web_sim) -> None:
    _, sim = web_sim
    n = 0
    while True:  # a site whose contact page holds an address the home page does not
        host = f"contactcheck{n}.com"
        spec = site_spec(sim.config.seed, host)
        if spec.profile == "wordpress_modern" and any(e.page != "/" for e in spec.emails):
            break
        n += 1
    result = await enricher.enrich(_lead(host))
    from_contact = {c.email for c in result.contacts if c.source.endswith(":" + spec.contact_path)}
    assert from_contact == {e.address for e in spec.emails if e.page == spec.contact_path}
    assert [r["path"] for r in sim.records["web"] if r["domain"] == host] == ["/robots.txt", "/", spec.contact_path]


@pytest.mark.parametrize(
    ("profile", "reason"),
    [
        ("error500", "HTTP 500"),
        ("robots_disallow_all", "robots: robots.txt disallows /"),
        ("redirect_private", "refused: address 169.254.169.254 is link-local"),
        ("redirect_loop", "more than 5 redirects"),
        ("binary", "not HTML (image/png)"),
        ("reset", "connection reset by the site"),
        ("hang", "timeout after 1.5s"),
    ],
)
async def test_failures_have_reasons(enricher: Enricher, web_sim, profile: str, reason: str) -> None:
    _, sim = web_sim
    result = await enricher.enrich(_lead(domain(sim, profile)))
    assert result.status == "failed" and result.reason.startswith(reason)


@pytest.mark.parametrize(
    ("profile", "reason"),
    [
        ("huge", "page over 1000000 bytes: its first 1000000 read"),
        ("endless_stream", "page still loading after 1.5s: the "),
    ],
)
async def test_a_cut_home_page_is_a_live_site(enricher: Enricher, web_sim, profile: str, reason: str) -> None:
    """A page that answered and was cut (too large, never finished) is read as far as it came, not "failed".

    The default rules read "failed" as a site that may belong to a closed business; these sites answered.
    """
    _, sim = web_sim
    n = 0
    while True:  # a site of the profile with an address on its contact page (the home page shows none)
        host = f"cutpage{n}.com"
        spec = site_spec(sim.config.seed, host)
        if spec.profile == profile and spec.contact_path and any(e.page == spec.contact_path for e in spec.emails):
            break
        n += 1
    result = await enricher.enrich(_lead(host))
    assert result.status == "ok" and result.reason is not None and result.reason.startswith(reason), result.reason
    assert {c.email for c in result.contacts} == {e.address for e in spec.emails if e.page == spec.contact_path}
    assert result.performance is not None and result.performance.page_bytes is not None
    if profile == "huge":
        assert result.performance.page_bytes == 1_000_000
        assert ("jQuery", "1.8.3") in {(t.name, t.version) for t in result.tech}
    else:  # what streamed in before the deadline
        assert result.performance.page_bytes > 0


async def test_hostile_but_readable_pages(enricher: Enricher, web_sim) -> None:
    _, sim = web_sim
    for profile in ("malformed", "deep_nest", "robots_partial"):
        host = domain(sim, profile)
        spec = site_spec(sim.config.seed, host)
        result = await enricher.enrich(_lead(host))
        assert result.status == "ok", (profile, result.reason)
        expected = {e.address for e in spec.emails if profile != "robots_partial" or e.page == "/"}
        assert {c.email for c in result.contacts} == expected, profile
    malformed = await enricher.enrich(_lead(domain(sim, "malformed")))
    assert {(t.name, t.version) for t in malformed.tech} >= {("jQuery", "1.8.3"), ("WordPress", "4.9.8")}


async def test_skip_refuse_and_transient(enricher: Enricher) -> None:
    assert (await enricher.enrich(_lead(None))).model_dump(include={"status", "reason"}) == {
        "status": "skipped",
        "reason": "no website",
    }
    refused = await enricher.enrich(_lead("http://10.0.0.8/admin"))
    assert (refused.status, refused.reason) == ("failed", "refused: address 10.0.0.8 is private")
    scheme = await enricher.enrich(_lead("ftp://files.plumber.com/"))
    assert scheme.reason == "refused: scheme 'ftp' is not allowed (only http and https)"
    down = Enricher(WebFetcher("http://127.0.0.1:9", timeout_s=1.0), enricher.detector)
    with pytest.raises(TransientProviderError):
        await down.enrich(_lead("plumber.com"))
    await down.fetcher.aclose()


def test_website_url() -> None:
    assert website_url(" yakimavalleyheating.com ") == "http://yakimavalleyheating.com/"
    assert website_url("https://a.com/about") == "https://a.com/about"


@pytest.mark.parametrize(
    "form",
    [
        "www.{d}",
        "http://www.{d}/locations/yakima-wa",
        "{d}/?utm_source=gmb",
        "http://{d}/index.html",
        "http://{d}/old-specials-page",
    ],
)
async def test_lead_url_forms_reach_the_site(enricher: Enricher, web_sim, form: str) -> None:
    _, sim = web_sim
    host = domain(sim, "wordpress_modern")
    result = await enricher.enrich(_lead(form.format(d=host)))
    assert result.status == "ok", result.reason
    assert "WordPress" in {t.name for t in result.tech}
    assert {c.email for c in result.contacts} == {e.address for e in site_spec(sim.config.seed, host).emails}


async def test_https_through_a_proxy_that_cannot_tunnel_is_a_site_failure(enricher: Enricher, web_sim) -> None:
    _, sim = web_sim
    result = await enricher.enrich(_lead(f"https://{domain(sim, 'wix')}/"))
    assert result.status == "failed" and result.reason.startswith(
        "robots: robots.txt unreachable (proxy could not reach"
    )
