"""The enrich stage's providers as wired for a worker (`stages.enrich.build.build_enricher`): tiers,
the per-field waterfall, MX checks, and the guards (breaker, budget, cache, ledger) — against the
simulator (PageSpeed, Hunter, websites, DNS), real Redis and real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from config import Settings
from providers.clock import ManualClock
from providers.http import TransientProviderError
from schemas.lead import Lead
from simulator.dns import mail_setup
from simulator.hunter import known_emails
from simulator.pagespeed import measure
from simulator.websites import PROFILES, domain_for_profile, site_spec
from stages.enrich.build import build_enricher
from stages.enrich.stage import EnrichStage
from streams.failures import RetryPolicy
from streams.runner import StageRunner
from streams.topology import LEADS_ENRICHED
from tests.core.test_runner import FakeRecords, FakeSender, event

WELL_BEHAVED = ("wordpress_legacy", "wordpress_modern", "wix", "static_bootstrap", "nextjs", "joomla")


@pytest.fixture
def settings_for(fresh_sim, sim_dns, redis_url, tmp_path):
    base_url, _ = fresh_sim

    def make(**overrides) -> Settings:
        values = dict(
            web_proxy=base_url,
            fetch_allowlist=base_url.split("://", 1)[1],
            http_timeout_s=3.0,
            redis_url=redis_url,
            dns_nameservers=sim_dns,
            blob_dir=tmp_path / "blobs",
            pagespeed_base_url=base_url,
            pagespeed_api_key="sim-key",
            hunter_base_url=base_url,
            hunter_api_key="sim-hunter-key-0123456789",
            enrich_waterfall="email=website,hunter;performance=pagespeed,http;screenshot=pagespeed",
            per_domain_rate="50/second",
            breaker_failures=3,
            breaker_open_s=60,
        )
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def enrich_with(pool):
    built = []

    async def make(settings: Settings):
        enricher, closers = await build_enricher(settings, pool)
        built.append(closers)
        return enricher

    yield make
    for closers in built:
        for close in closers:
            await close()


def _site(seed: int, profile: str, unique: str, n: int = 0) -> str:
    return domain_for_profile(seed, profile, prefix=f"t{unique}x{n}site")


def _lead(website: str, tier: int | None = None, n: int = 0) -> Lead:
    return Lead(
        lead_id=f"ld_{n}_{website}",
        geo_key="98901",
        source="test",
        name="Valley Heating",
        website=website,
        enrich_tier=tier,
    )


async def _ledger(pool, provider: str) -> list[tuple[bool, float]]:
    rows = await pool.fetch("SELECT hit, cost_usd FROM provider_calls WHERE provider = $1 ORDER BY at", provider)
    return [(r["hit"], float(r["cost_usd"])) for r in rows]


async def test_tier_3_audits_with_pagespeed_and_stores_its_screenshot(
    settings_for, enrich_with, fresh_sim, pool, unique
):
    _, sim = fresh_sim
    site = _site(sim.config.seed, "wordpress_legacy", unique)
    enricher = await enrich_with(settings_for())
    result = await enricher.enrich(_lead(site, tier=3))
    assert result.status == "ok" and result.tier == 3
    expected = measure(sim, f"http://{site}/", "mobile")
    perf = result.performance
    assert perf.source == "api" and result.sources["performance"] == "pagespeed"
    assert perf.lcp_ms == pytest.approx(expected.lcp_ms, abs=0.1) and perf.tbt_ms == pytest.approx(
        expected.tbt_ms, abs=0.1
    )
    assert perf.mobile_responsive is expected.responsive
    assert result.sources["screenshot"] == "pagespeed"
    shot = Path(result.screenshot_uri.removeprefix("file://"))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sim.counters["pagespeed.requests"] == 1  # one audit serves both fields
    await enricher.sources.pagespeed.ledger.flush()
    assert await _ledger(pool, "pagespeed") == [(False, 0.0)]


async def test_tier_1_runs_no_audit_and_no_screenshot(settings_for, enrich_with, fresh_sim, unique):
    _, sim = fresh_sim
    enricher = await enrich_with(settings_for())
    result = await enricher.enrich(_lead(_site(sim.config.seed, "nextjs", unique), tier=1))
    assert result.status == "ok" and result.tier == 1
    assert result.performance.source == "http" and result.screenshot_uri is None
    assert sim.counters["pagespeed.requests"] == 0
    assert [a.provider for a in result.attempts if a.field == "performance"] == ["http"]  # pagespeed: not at tier 1


async def test_default_tier_comes_from_the_settings(settings_for, enrich_with, fresh_sim, unique):
    _, sim = fresh_sim
    enricher = await enrich_with(settings_for(enrich_tier=2))
    result = await enricher.enrich(_lead(_site(sim.config.seed, "wix", unique)))
    assert result.tier == 2 and result.screenshot_uri and result.performance.source == "http"


async def test_pagespeed_outage_opens_its_breaker_and_leads_complete_with_the_next_provider(
    settings_for, enrich_with, fresh_sim, unique
):
    _, sim = fresh_sim
    sim.config.update({"pagespeed": {"down": True}})
    enricher = await enrich_with(settings_for(enrich_waterfall="email=website;performance=pagespeed,http;screenshot="))
    results = [
        await enricher.enrich(_lead(_site(sim.config.seed, WELL_BEHAVED[n % 6], unique, n), tier=3, n=n))
        for n in range(8)
    ]
    assert all(r.status == "ok" and r.performance.source == "http" for r in results)
    audit = [[a.outcome for a in r.attempts if a.field == "performance"] for r in results]
    # No retry in place: each lead's one failure is pagespeed's miss, the plain fetch's timings answer.
    assert audit[:3] == [["failed", "accepted"]] * 3
    assert all(outcomes == ["circuit_open", "accepted"] for outcomes in audit[3:])
    assert sim.counters["pagespeed.503"] == 3  # the third failure opened the circuit: nothing more was sent


async def test_a_field_only_an_unavailable_provider_can_fill_makes_the_lead_retry_later(
    settings_for, enrich_with, fresh_sim, unique
):
    _, sim = fresh_sim
    enricher = await enrich_with(settings_for(enrich_waterfall="email=website;performance=http;screenshot=pagespeed"))
    site = _site(sim.config.seed, "wix", unique)
    sim.config.update({"pagespeed": {"down": True}})
    with pytest.raises(TransientProviderError, match="pagespeed: HTTP 503"):  # the runner retries the lead
        await enricher.enrich(_lead(site, tier=3))
    sim.config.update({"pagespeed": {"down": False}})
    result = await enricher.enrich(_lead(site, tier=3))  # the retry, once the outage is over
    assert result.sources["screenshot"] == "pagespeed" and result.screenshot_uri


async def test_a_lead_that_needs_a_provider_whose_circuit_opened_waits_for_it_instead_of_being_dead_lettered(
    settings_for, enrich_with, fresh_sim, unique
):
    """The real enricher under the runner's policy, the breaker and the runner on one hand-moved clock.

    PageSpeed alone can fill the screenshot. It fails three times (the lead's first three attempts), which opens
    its circuit; the fourth try is refused without a request. That refusal is not an attempt: the lead waits
    until the circuit half-opens (PageSpeed is back meanwhile), its trial call answers, and the lead goes on."""
    _, sim = fresh_sim
    enricher = await enrich_with(settings_for(enrich_waterfall="email=website;performance=http;screenshot=pagespeed"))
    clock = ManualClock()
    enricher.sources.pagespeed.breaker.clock = clock
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # the runner's waits move the breaker's clock
        waits.append(seconds)
        clock.advance(seconds)
        if sim.counters["pagespeed.503"] >= 3:
            sim.config.update({"pagespeed": {"down": False}})  # the outage ends while the circuit is open

    sim.config.update({"pagespeed": {"down": True}})
    records, sender = FakeRecords(), FakeSender()
    retry = RetryPolicy(max_attempts=4, sleep=sleep, random=lambda: 0.5)
    runner = StageRunner(EnrichStage(enricher), records, sender, retry=retry, sinks=(LEADS_ENRICHED,))
    site = _site(sim.config.seed, "wix", unique)
    raw = orjson.dumps(
        {
            "lead_id": "ld_circuit",
            "source": "csv",
            "name": "Valley Heating",
            "zip": "98901",
            "website": f"http://{site}/",
            "enrich_tier": 3,
        }
    )
    await runner.process_batch([event(payload=raw, lead_id="ld_circuit")])
    assert records.letters == []
    [lead] = sender.to(LEADS_ENRICHED)
    assert lead["enrichment"]["sources"]["screenshot"] == "pagespeed"
    assert sim.counters["pagespeed.503"] == 3 and sim.counters["pagespeed.requests"] == 4  # the trial answered
    assert waits[3] >= 60  # after three backoffs, the wait for the circuit (open 60 s here) to half-open


async def test_a_spent_budget_pauses_the_provider_and_leads_carry_on(
    settings_for, enrich_with, fresh_sim, pool, unique
):
    _, sim = fresh_sim
    settings = settings_for(
        enrich_waterfall="email=hunter,website;performance=http",
        providers={"hunter": {"cost_usd": 0.01, "daily_budget_usd": 0.03}},
    )
    enricher = await enrich_with(settings)
    enricher.sources.hunter.budget.refresh_s = 0.0
    results = [
        await enricher.enrich(_lead(_site(sim.config.seed, WELL_BEHAVED[n % 6], unique, n), tier=1, n=n))
        for n in range(6)
    ]
    hunter = [next(a for a in r.attempts if a.provider == "hunter") for r in results]
    assert [a.outcome != "paused" for a in hunter] == [True] * 3 + [False] * 3
    assert "daily budget of $0.03 spent" in hunter[-1].detail
    assert len(sim.records["hunter"]) == 3
    assert all(r.status == "ok" for r in results)
    for result in results[3:]:  # paused: the website's addresses are used instead
        website = [a for a in result.attempts if a.provider == "website"]
        assert website and website[0].outcome in ("accepted", "rejected", "empty")
    await enricher.sources.hunter.ledger.flush()
    assert await _ledger(pool, "hunter") == [(False, 0.01)] * 3


async def test_finder_answers_are_cached_and_cache_hits_cost_nothing(
    settings_for, enrich_with, fresh_sim, pool, unique
):
    _, sim = fresh_sim
    site = next(
        d
        for n in range(500)
        if mail_setup(sim.config.seed, d := _site(sim.config.seed, "wix", unique, n)) == "mx"
        and any(item["confidence"] >= 50 for item in known_emails(sim, d))
    )
    enricher = await enrich_with(settings_for(enrich_waterfall="email=hunter;performance=http"))
    first = await enricher.enrich(_lead(site, tier=1, n=1))
    second = await enricher.enrich(_lead(site, tier=1, n=2))
    assert first.contacts == second.contacts and first.sources["email"] == "hunter"
    assert {c.source for c in first.contacts} == {"hunter"}
    assert len(sim.records["hunter"]) == 1
    await enricher.sources.hunter.ledger.flush()
    assert await _ledger(pool, "hunter") == [(False, 0.01), (True, 0.0)]


async def test_addresses_at_domains_that_take_no_mail_are_dropped(settings_for, enrich_with, fresh_sim, unique):
    _, sim = fresh_sim
    seed = sim.config.seed

    def site_with(setup: str) -> str:
        for n in range(5000):
            domain = _site(seed, "wordpress_modern", unique, n)
            if mail_setup(seed, domain) == setup and site_spec(seed, domain).emails:
                return domain
        raise LookupError(setup)

    enricher = await enrich_with(settings_for(enrich_waterfall="email=website;performance=http"))
    good = await enricher.enrich(_lead(site_with("mx"), tier=1))
    assert good.contacts and all(c.mx_ok is True for c in good.contacts)
    for setup in ("null_mx", "nxdomain"):
        bad = await enricher.enrich(_lead(site_with(setup), tier=1))
        assert bad.status == "ok" and bad.contacts == []
        assert [(a.provider, a.outcome) for a in bad.attempts if a.field == "email"] == [("website", "rejected")]


def test_the_simulator_still_has_the_profiles_these_tests_use() -> None:
    assert set(WELL_BEHAVED) <= set(PROFILES)


async def test_a_single_page_app_is_rendered_for_its_contacts_and_js_technologies(
    settings_for, enrich_with, fresh_sim, unique
):
    _, sim = fresh_sim
    seed = sim.config.seed
    site = next(
        d
        for n in range(2000)
        if mail_setup(seed, d := _site(seed, "spa_react", unique, n)) == "mx"
        and any(e.page == "/" for e in site_spec(seed, d).emails)
    )
    enricher = await enrich_with(settings_for(enrich_waterfall="email=website;performance=pagespeed,browser,http"))
    result = await enricher.enrich(_lead(site, tier=1))
    assert result.status == "ok" and result.rendered
    expected = {e.address for e in site_spec(seed, site).emails if e.page == "/"}
    assert expected <= {c.email for c in result.contacts}
    assert {(t.name, t.version) for t in result.tech} >= {("React", "18.2.0"), ("jQuery", "3.6.0")}
    assert result.performance.source == "browser"  # the render was made anyway: its lab values are kept


async def test_without_a_pagespeed_api_the_audit_and_screenshot_come_from_chromium(
    settings_for, enrich_with, fresh_sim, unique
):
    _, sim = fresh_sim
    enricher = await enrich_with(
        settings_for(
            pagespeed_api_key="", enrich_waterfall="performance=pagespeed,browser,http;screenshot=pagespeed,browser"
        )
    )
    result = await enricher.enrich(_lead(_site(sim.config.seed, "heavy_js", unique), tier=3))
    assert result.sources["performance"] == result.sources["screenshot"] == "browser"
    perf = result.performance
    assert perf.source == "browser" and perf.lcp_ms > 2500 and perf.tbt_ms > 600 and perf.mobile_responsive is False
    assert [(a.provider, a.outcome) for a in result.attempts if a.field == "performance"] == [
        ("pagespeed", "unavailable"),
        ("browser", "accepted"),
    ]
    assert Path(result.screenshot_uri.removeprefix("file://")).read_bytes()[:4] == b"\x89PNG"
    assert result.modern_site is False


@pytest.mark.parametrize("pagespeed_down", [False, True])
async def test_a_single_page_apps_render_leaves_the_screenshot_to_the_api_that_comes_first(
    settings_for, enrich_with, fresh_sim, unique, pagespeed_down
):
    """The SPA render (for the DOM) takes no screenshot when PageSpeed comes first; if PageSpeed misses,
    Chromium renders once more for it, so the lead still gets one."""
    _, sim = fresh_sim
    sim.config.update({"pagespeed": {"down": pagespeed_down}})
    enricher = await enrich_with(
        settings_for(enrich_waterfall="email=website;performance=pagespeed,browser,http;screenshot=pagespeed,browser")
    )
    result = await enricher.enrich(_lead(_site(sim.config.seed, "spa_react", unique), tier=3))
    renderer = enricher.sources.renderer
    assert result.status == "ok" and result.rendered and result.screenshot_uri
    if pagespeed_down:
        assert result.sources["screenshot"] == result.sources["performance"] == "browser"
        assert Path(result.screenshot_uri.removeprefix("file://")).read_bytes()[:4] == b"\x89PNG"
        assert (renderer.renders, renderer.screenshots) == (2, 1)
    else:
        assert result.sources["screenshot"] == result.sources["performance"] == "pagespeed"
        assert (renderer.renders, renderer.screenshots) == (1, 0)


async def test_runs_under_two_topic_prefixes_share_no_cached_verdicts(settings_for, enrich_with, fresh_sim, unique):
    """Two runs on one Redis (two demos, two tests, each its own simulated world) keep their MX verdicts, robots.txt
    verdicts and provider answers under their own topic prefix (`Settings.redis_prefix`): run B asks the world
    again what run A had cached. A second enricher of run A reads run A's (the guard: the cache works)."""
    _, sim = fresh_sim
    seed = sim.config.seed
    # a site that shows an address at its own domain, which takes mail: its check asks the DNS
    site = next(
        site
        for site in (_site(seed, "wordpress_legacy", unique, n) for n in range(50))
        if site_spec(seed, site).emails and mail_setup(seed, site) == "mx"
    )
    asked: list[tuple[int, int]] = []
    for run in ("a", "a", "b"):
        enricher = await enrich_with(settings_for(topic_prefix=f"t{unique}{run}."))
        dns, robots = sim.counters["dns.queries"], len([r for r in sim.records["web"] if r["path"] == "/robots.txt"])
        result = await enricher.enrich(_lead(site, tier=3))
        assert result.status == "ok" and result.contacts, result
        asked.append(
            (
                sim.counters["dns.queries"] - dns,
                len([r for r in sim.records["web"] if r["path"] == "/robots.txt"]) - robots,
            )
        )
    first, same_run, other_run = asked
    assert first[0] > 0 and first[1] == 1, asked
    assert same_run == (0, 0) and other_run == first, asked
