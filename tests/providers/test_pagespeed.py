"""PageSpeed Insights adapter against the simulator's runPagespeed: lab/field parsing, site failures, faults."""

from __future__ import annotations

import pytest

from providers.http import PermanentProviderError, TransientProviderError
from providers.pagespeed import LighthouseError, PageSpeedClient, parse_result
from simulator.pagespeed import LAB_RANGES, measure
from simulator.websites import domain_for_profile, render_page, site_profile, site_spec


def _legacy_site(seed: int, with_viewport: bool) -> str:
    """A wordpress_legacy site whose served home page has (or lacks) the viewport meta."""
    for n in range(5000):
        domain = f"legacy{n}.com"
        if site_profile(seed, domain) == "wordpress_legacy":
            served = render_page(site_spec(seed, domain), "/")[1]
            if ('name="viewport"' in served) == with_viewport:
                return domain
    raise AssertionError("no such legacy site")


def _site_with_field_data(seed: int, sim, origin_fallback: bool) -> str:
    for n in range(5000):
        domain = f"field{n}.com"
        if site_spec(seed, domain).profile in ("nextjs", "wordpress_legacy", "static_bootstrap"):
            truth = measure(sim, f"http://{domain}/", "mobile")
            if truth.field is not None and truth.origin_fallback == origin_fallback:
                return domain
    raise AssertionError("no site with field data")


@pytest.fixture
async def psi(fresh_sim):
    base_url, sim = fresh_sim
    client = PageSpeedClient(base_url, api_key="test-key", timeout_s=5)
    yield client, sim
    await client.aclose()


def _within(value: float, bounds: tuple[float, float], factor: float = 1.0) -> bool:
    return bounds[0] * factor <= value <= bounds[1] * factor


async def test_legacy_wordpress_is_slow_and_nextjs_fast(psi):
    client, sim = psi
    seed = sim.config.seed
    legacy, nextjs = _legacy_site(seed, with_viewport=False), domain_for_profile(seed, "nextjs")
    slow = await client.run(f"http://{legacy}/")
    fast = await client.run(f"http://{nextjs}/")

    legacy_lab, nextjs_lab = LAB_RANGES["wordpress_legacy"], LAB_RANGES["nextjs"]
    assert _within(slow.lcp_ms, legacy_lab.lcp_ms) and _within(slow.tbt_ms, legacy_lab.tbt_ms)
    assert _within(fast.lcp_ms, nextjs_lab.lcp_ms) and _within(fast.tbt_ms, nextjs_lab.tbt_ms)
    assert _within(slow.ttfb_ms, legacy_lab.ttfb_ms) and _within(fast.cls, nextjs_lab.cls)
    assert 0 < slow.fcp_ms <= slow.lcp_ms and 0 < fast.fcp_ms <= fast.lcp_ms
    assert slow.page_bytes > fast.page_bytes > len(render_page(site_spec(seed, nextjs), "/")[1])
    assert slow.performance_score < 0.9 <= fast.performance_score <= 1.0
    assert (slow.mobile_responsive, fast.mobile_responsive) == (False, True)
    assert slow.final_url == f"http://{legacy}/" and slow.strategy == "mobile"
    calls = sim.records["pagespeed"]
    assert [(c["url"], c["strategy"], c["category"]) for c in calls] == [
        (f"http://{legacy}/", "mobile", ["performance"]),
        (f"http://{nextjs}/", "mobile", ["performance"]),
    ]


async def test_viewport_audit_follows_the_served_page(psi):
    client, sim = psi
    with_meta, without_meta = _legacy_site(sim.config.seed, True), _legacy_site(sim.config.seed, False)
    assert (await client.run(f"http://{with_meta}/")).mobile_responsive is True
    assert (await client.run(f"http://{without_meta}/")).mobile_responsive is False


async def test_desktop_strategy_is_sent_and_faster(psi):
    client, sim = psi
    domain = domain_for_profile(sim.config.seed, "static_bootstrap")
    mobile = await client.run(f"http://{domain}/", "mobile")
    desktop = await client.run(f"http://{domain}/", strategy="desktop")
    assert [c["strategy"] for c in sim.records["pagespeed"]] == ["mobile", "desktop"]
    assert desktop.strategy == "desktop"
    assert desktop.lcp_ms < mobile.lcp_ms and desktop.tbt_ms < mobile.tbt_ms and desktop.ttfb_ms < mobile.ttfb_ms
    assert desktop.page_bytes == mobile.page_bytes


async def test_lab_values_round_trip_exactly(psi):
    client, sim = psi
    domain = domain_for_profile(sim.config.seed, "redirect_chain")
    result = await client.run(f"http://{domain}/", "mobile")
    truth = measure(sim, f"http://{domain}/", "mobile")
    assert result.final_url == f"http://www.{domain}/home/" == truth.final_url
    assert (result.lcp_ms, result.fcp_ms, result.tbt_ms, result.cls, result.ttfb_ms) == pytest.approx(
        (truth.lcp_ms, truth.fcp_ms, truth.tbt_ms, truth.cls, truth.ttfb_ms)
    )
    assert (result.page_bytes, result.performance_score) == (truth.page_bytes, truth.score)


async def test_field_data_is_kept_apart_from_lab(psi):
    client, sim = psi
    seed = sim.config.seed
    url_level, origin_only = _site_with_field_data(seed, sim, False), _site_with_field_data(seed, sim, True)
    with_field = await client.run(f"http://{url_level}/")
    truth = measure(sim, f"http://{url_level}/", "mobile")
    assert with_field.field["lcp_ms"] == round(truth.field["lcp_ms"])
    assert with_field.field["cls"] == pytest.approx(truth.field["cls"], abs=0.006)  # CrUX sends CLS x 100
    assert with_field.field["origin_fallback"] is False
    assert with_field.field["overall_category"] in ("FAST", "AVERAGE", "SLOW")
    assert with_field.lcp_ms == pytest.approx(truth.lcp_ms) != with_field.field["lcp_ms"]
    assert (await client.run(f"http://{origin_only}/")).field["origin_fallback"] is True


async def test_no_field_data_gives_none(psi):
    client, sim = psi
    for n in range(2000):
        domain = f"quiet{n}.com"
        if (
            site_spec(sim.config.seed, domain).profile == "nextjs"
            and measure(sim, f"http://{domain}/", "mobile").field is None
        ):
            break
    else:
        raise AssertionError("no site without field data")
    assert (await client.run(f"http://{domain}/")).field is None


@pytest.mark.parametrize(
    "profile, code, detail",
    [
        ("error500", "ERRORED_DOCUMENT_REQUEST", "Status code: 500"),
        ("hang", "FAILED_DOCUMENT_REQUEST", "net::ERR_TIMED_OUT"),
        ("reset", "FAILED_DOCUMENT_REQUEST", "net::ERR_CONNECTION_RESET"),
        ("binary", "NOT_HTML", "image/png"),
    ],
)
async def test_site_failure_is_a_permanent_lighthouse_error(psi, profile, code, detail):
    client, sim = psi
    with pytest.raises(LighthouseError) as caught:
        await client.run(f"http://{domain_for_profile(sim.config.seed, profile)}/")
    assert isinstance(caught.value, PermanentProviderError) and not isinstance(caught.value, TransientProviderError)
    assert caught.value.code == code
    assert f"Lighthouse returned error: {code}" in str(caught.value) and detail in str(caught.value)


async def test_unresolvable_name_is_a_dns_failure(psi):
    client, _ = psi
    with pytest.raises(LighthouseError) as caught:
        await client.run("http://nothing-here.invalid/")
    assert caught.value.code == "DNS_FAILURE"


async def test_missing_or_revoked_key_is_permanent(fresh_sim):
    base_url, _ = fresh_sim
    for key in ("", "invalid-key"):
        client = PageSpeedClient(base_url, api_key=key, timeout_s=5)
        try:
            with pytest.raises(PermanentProviderError) as caught:
                await client.run("http://example-plumbing.com/")
        finally:
            await client.aclose()
        assert not isinstance(caught.value, LighthouseError) and "API key not valid" in str(caught.value)


async def test_provider_down_or_failing_is_transient(psi):
    client, sim = psi
    domain = domain_for_profile(sim.config.seed, "nextjs")
    sim.config.update({"pagespeed": {"down": True}})
    with pytest.raises(TransientProviderError, match="503"):
        await client.run(f"http://{domain}/")
    sim.config.update({"pagespeed": {"down": False, "error_rate": 1.0}})
    with pytest.raises(TransientProviderError, match="500") as caught:
        await client.run(f"http://{domain}/")
    assert not isinstance(caught.value, LighthouseError)
    assert sim.counters["pagespeed.503"] == 1 and sim.counters["pagespeed.500"] == 1


async def test_rate_limit_surfaces_retry_after(psi):
    client, sim = psi
    domain = domain_for_profile(sim.config.seed, "nextjs")
    sim.config.update({"pagespeed": {"rate_limit_per_s": 1}})
    await client.run(f"http://{domain}/")
    with pytest.raises(TransientProviderError) as caught:
        await client.run(f"http://{domain}/")
    assert caught.value.retry_after_s == 1.0 and "429" in str(caught.value)


def test_runtime_error_or_missing_lab_audits_is_permanent():
    failed_run = {
        "lighthouseResult": {
            "finalUrl": "http://a.com/",
            "runtimeError": {"code": "NO_FCP", "message": "The page did not paint any content."},
            "audits": {
                "largest-contentful-paint": {
                    "id": "largest-contentful-paint",
                    "score": None,
                    "scoreDisplayMode": "error",
                }
            },
        }
    }
    with pytest.raises(LighthouseError, match="NO_FCP") as caught:
        parse_result(failed_run)
    assert caught.value.code == "NO_FCP"
    with pytest.raises(LighthouseError, match="lab metrics"):
        parse_result({"lighthouseResult": {"finalUrl": "http://a.com/", "audits": {}}})
    with pytest.raises(PermanentProviderError, match="no lighthouseResult"):
        parse_result({"kind": "pagespeedonline#result"})


def test_optional_audits_missing_give_none():
    minimal = {
        "lighthouseResult": {
            "finalUrl": "http://a.com/",
            "audits": {
                "largest-contentful-paint": {"numericValue": 2100.5},
                "first-contentful-paint": {"numericValue": 900},
                "viewport": {"score": None, "scoreDisplayMode": "notApplicable"},
            },
        }
    }
    result = parse_result(minimal, "desktop")
    assert (result.lcp_ms, result.fcp_ms, result.final_url, result.strategy) == (
        2100.5,
        900.0,
        "http://a.com/",
        "desktop",
    )
    assert (result.cls, result.tbt_ms, result.ttfb_ms, result.page_bytes) == (None, None, None, None)
    assert (result.mobile_responsive, result.performance_score, result.field) == (None, None, None)
