"""The Hunter Domain Search adapter against the simulated Hunter API over HTTP."""

from __future__ import annotations

import logging

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from providers.emailfinder import FoundEmail, HunterClient, raise_for_hunter
from providers.http import PermanentProviderError, TransientProviderError
from simulator import hunter
from simulator.core import SimConfig, Simulator
from simulator.websites import site_spec

API_KEY = "a" * 40  # Hunter keys are 40 hex characters


@pytest_asyncio.fixture
async def hunter_sim():
    """A simulator serving only the Hunter routes: (base_url, Simulator)."""
    sim = Simulator(SimConfig(seed=7))
    app = web.Application()
    hunter.setup(app, sim)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", sim
    await runner.cleanup()


def _domains(sim: Simulator, wanted, count: int = 200) -> list[str]:
    return [d for d in (f"hunted{n}.com" for n in range(count)) if wanted(hunter.known_emails(sim, d), d)]


async def _search(base_url: str, domain: str, key: str = API_KEY, **kwargs) -> list[FoundEmail]:
    client = HunterClient(base_url, key, timeout_s=5)
    try:
        return await client.domain_search(domain, **kwargs)
    finally:
        await client.aclose()


async def test_found_emails_match_the_simulated_answer(hunter_sim) -> None:
    base_url, sim = hunter_sim
    both = _domains(sim, lambda emails, d: {e["type"] for e in emails} == {"personal", "generic"})
    assert both, "some domain has personal and generic addresses"
    domain = both[0]
    found = await _search(base_url, f"www.{domain}")
    expected = hunter.known_emails(sim, domain)
    assert [(f.email, f.confidence) for f in found] == [(e["value"], e["confidence"]) for e in expected]
    assert {f.kind for f in found} == {"personal", "role"}
    for f, e in zip(found, expected):
        assert f.kind == ("role" if e["type"] == "generic" else "personal")
        assert (f.first_name, f.last_name, f.position) == (e["first_name"], e["last_name"], e["position"])
    assert [f.confidence for f in found] == sorted((f.confidence for f in found), reverse=True)
    assert sim.records["hunter"][-1]["domain"] == domain  # www. dropped before asking


async def test_api_adds_addresses_the_website_does_not_show(hunter_sim) -> None:
    base_url, sim = hunter_sim
    extra = _domains(sim, lambda emails, d: any("." in e["value"].split("@")[0] for e in emails))
    domain = extra[0]
    found = await _search(base_url, domain)
    on_site = {e.address for e in site_spec(sim.config.seed, domain).emails}
    off_site = [f for f in found if f.email not in on_site]
    assert off_site and all(f.kind == "personal" and f.first_name and f.last_name for f in off_site)
    assert all(f.email == f"{f.first_name}.{f.last_name}@{domain}".lower() for f in off_site)


async def test_simulated_coverage_is_partial() -> None:
    sim = Simulator(SimConfig(seed=7))
    domains = [f"coverage{n}.com" for n in range(400)]
    answers = {d: hunter.known_emails(sim, d) for d in domains}
    misses = sum(1 for emails in answers.values() if not emails)
    assert 0.12 * len(domains) < misses < 0.35 * len(domains)  # ~20% unknown, plus sites with no emails at all
    on_site = [
        (e["value"] in {s.address for s in site_spec(7, d).emails}) for d, emails in answers.items() for e in emails
    ]
    assert 0.4 < sum(on_site) / len(on_site) < 0.9


async def test_a_miss_is_an_empty_list_and_limit_is_sent(hunter_sim) -> None:
    base_url, sim = hunter_sim
    unknown = _domains(sim, lambda emails, d: not emails)[0]
    assert await _search(base_url, unknown) == []
    many = _domains(sim, lambda emails, d: len(emails) >= 2)[0]
    assert len(await _search(base_url, many, limit=1)) == 1
    assert [r["limit"] for r in sim.records["hunter"]] == [10, 1]


@pytest.mark.parametrize("key", ["", "short", "invalid-0123456789abcdef", "bad key with spaces!"])
async def test_missing_or_malformed_key_is_permanent(hunter_sim, key: str) -> None:
    base_url, _ = hunter_sim
    with pytest.raises(PermanentProviderError, match="HTTP 401 invalid API key: authentication_failed"):
        await _search(base_url, "hunted1.com", key=key)


async def test_down_is_transient(hunter_sim) -> None:
    base_url, sim = hunter_sim
    sim.config.family("hunter").down = True
    with pytest.raises(TransientProviderError, match="HTTP 503") as info:
        await _search(base_url, "hunted1.com")
    assert info.value.provider == "hunter"


async def test_429_carries_retry_after(hunter_sim) -> None:
    base_url, sim = hunter_sim
    sim.config.family("hunter").rate_limit_per_s = 1.0
    client = HunterClient(base_url, API_KEY, timeout_s=5)
    try:
        await client.domain_search("hunted1.com")  # takes the only token
        with pytest.raises(TransientProviderError, match="HTTP 429") as info:
            await client.domain_search("hunted2.com")
    finally:
        await client.aclose()
    assert info.value.retry_after_s == 1.0 and sim.counters["hunter.429"] == 1


def test_hunter_status_codes_map_to_errors() -> None:
    def answer(status: int, **headers: str) -> httpx.Response:
        body = {"errors": [{"id": "x", "code": status, "details": "d"}]}
        return httpx.Response(status, json=body, headers=headers, request=httpx.Request("GET", "http://h/"))

    with pytest.raises(TransientProviderError, match="HTTP 403 rate limit") as info:
        raise_for_hunter(answer(403, **{"Retry-After": "3"}))
    assert info.value.retry_after_s == 3.0
    assert raise_for_hunter(answer(451)) is None  # withheld for legal reasons: a miss
    with pytest.raises(PermanentProviderError, match="HTTP 400"):
        raise_for_hunter(answer(400))
    with pytest.raises(TransientProviderError, match="HTTP 502"):
        raise_for_hunter(answer(502))


async def test_api_key_is_masked_in_the_httpx_log(hunter_sim, caplog) -> None:
    base_url, _ = hunter_sim
    with caplog.at_level(logging.INFO, logger="httpx"):
        await _search(base_url, "hunted1.com")
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines and all(API_KEY not in line for line in lines)
    assert any("api_key=***" in line for line in lines)
