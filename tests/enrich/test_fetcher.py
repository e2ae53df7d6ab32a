"""WebFetcher through the simulator acting as the websites' proxy."""

from __future__ import annotations

import asyncio

import pytest

from providers.http import TransientProviderError
from providers.netguard import FetchRefused
from providers.web import RobotsDisallowed, SiteError, WebFetcher
from simulator.websites import site_spec
from tests.enrich.sites import domain


def _fetcher(proxy: str | None, **kwargs) -> WebFetcher:
    options = {"timeout_s": 3.0, "max_bytes": 1_000_000, "per_domain_concurrency": 2}
    options.update(kwargs)
    return WebFetcher(proxy, user_agent="leadstream-test/1.0", **options)


async def test_fetches_page_with_headers_timings_and_robots(web_sim) -> None:
    proxy, sim = web_sim
    host = domain(sim, "wordpress_modern")
    fetcher = _fetcher(proxy)
    try:
        result = await fetcher.fetch(f"http://{host}/")
        again = await fetcher.fetch(f"http://{host}/")
    finally:
        await fetcher.aclose()
    assert result.status == again.status == 200 and result.final_url == f"http://{host}/" and not result.truncated
    assert result.headers["x-powered-by"] == "PHP/8.2.13" and result.content_type == "text/html"
    assert b"WordPress 6." in result.body and 0 < result.ttfb_ms <= result.total_ms
    paths = [r["path"] for r in sim.records["web"] if r["domain"] == host]
    assert paths == ["/robots.txt", "/", "/"]  # robots.txt fetched once, then cached
    assert {r["user_agent"] for r in sim.records["web"]} == {"leadstream-test/1.0"}


async def test_robots_disallow_all_and_partial(web_sim) -> None:
    proxy, sim = web_sim
    fetcher = _fetcher(proxy)
    try:
        with pytest.raises(RobotsDisallowed, match=r"robots.txt disallows /$"):
            await fetcher.fetch(f"http://{domain(sim, 'robots_disallow_all')}/")
        partial = domain(sim, "robots_partial")
        assert (await fetcher.fetch(f"http://{partial}/")).status == 200
        with pytest.raises(RobotsDisallowed, match="robots.txt disallows /contact"):
            await fetcher.fetch(f"http://{partial}/contact")
    finally:
        await fetcher.aclose()
    assert not [r for r in sim.records["web"] if r["path"] == "/contact"]


async def test_robots_5xx_means_disallow_all(web_sim) -> None:
    proxy, sim = web_sim
    sim.config.family("web").error_rate = 1.0
    fetcher = _fetcher(proxy)
    try:
        with pytest.raises(RobotsDisallowed, match=r"robots.txt answered HTTP 500: treated as disallow all"):
            await fetcher.fetch(f"http://{domain(sim, 'wix')}/")
    finally:
        await fetcher.aclose()


async def test_per_domain_concurrency_is_held(web_sim) -> None:
    proxy, sim = web_sim
    sim.config.family("web").latency_median_ms = 80
    sim.config.family("web").latency_p95_ms = 120
    one, other = domain(sim, "wix"), domain(sim, "squarespace")
    fetcher = _fetcher(proxy, per_domain_concurrency=3)
    try:
        urls = [f"http://{one}/"] * 12 + [f"http://{other}/"] * 12
        results = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    finally:
        await fetcher.aclose()
    assert {r.status for r in results} == {200}
    assert sim.max_inflight[f"web:{one}"] == 3 and sim.max_inflight[f"web:{other}"] == 3


async def test_redirect_chain_is_followed_and_recorded(web_sim) -> None:
    proxy, sim = web_sim
    host = domain(sim, "redirect_chain")
    fetcher = _fetcher(proxy)
    try:
        result = await fetcher.fetch(f"http://{host}/")
    finally:
        await fetcher.aclose()
    assert result.redirects == [f"http://www.{host}/", f"http://www.{host}/home", f"http://www.{host}/home/"]
    assert result.final_url == f"http://www.{host}/home/" and result.status == 200


@pytest.mark.parametrize(
    ("profile", "error", "reason"),
    [
        ("redirect_loop", SiteError, "more than 5 redirects"),
        ("redirect_private", FetchRefused, "address 169.254.169.254 is link-local"),
        ("reset", SiteError, "connection reset by the site"),
        ("hang", SiteError, "timeout after 1s"),
        ("slow", SiteError, "timeout after 1s"),
    ],
)
async def test_site_failures_raise_with_reasons(web_sim, profile: str, error: type, reason: str) -> None:
    proxy, sim = web_sim
    fetcher = _fetcher(proxy, timeout_s=1.0)
    try:
        with pytest.raises(error) as info:
            await fetcher.fetch(f"http://{domain(sim, profile)}/")
    finally:
        await fetcher.aclose()
    assert info.value.reason.startswith(reason)


async def test_error_status_huge_and_binary_are_results(web_sim) -> None:
    proxy, sim = web_sim
    fetcher = _fetcher(proxy, max_bytes=300_000)
    try:
        failing = await fetcher.fetch(f"http://{domain(sim, 'error500')}/")
        huge = await fetcher.fetch(f"http://{domain(sim, 'huge')}/")
        binary = await fetcher.fetch(f"http://{domain(sim, 'binary')}/")
    finally:
        await fetcher.aclose()
    assert failing.status == 500
    assert huge.truncated and not huge.unfinished and len(huge.body) == 300_000
    assert binary.content_type == "image/png" and binary.body.startswith(b"\x89PNG")


async def test_a_page_still_loading_at_the_deadline_is_what_came_before_it(web_sim) -> None:
    proxy, sim = web_sim
    fetcher = _fetcher(proxy, timeout_s=1.0)
    try:
        endless = await fetcher.fetch(f"http://{domain(sim, 'endless_stream')}/")
        with pytest.raises(SiteError) as hang:  # no answer at all is still a timeout
            await fetcher.fetch(f"http://{domain(sim, 'hang')}/")
    finally:
        await fetcher.aclose()
    assert endless.status == 200 and endless.unfinished and not endless.truncated
    assert endless.body.startswith(b"<!DOCTYPE html>") and b"Live update #0" in endless.body
    assert hang.value.reason == "timeout after 1s"


async def test_site_429_is_transient(web_sim) -> None:
    proxy, sim = web_sim
    sim.config.family("web").rate_limit_per_s = 1.0
    host = domain(sim, "nextjs")
    fetcher = _fetcher(proxy)
    try:
        await fetcher.fetch(f"http://{host}/")  # robots.txt takes the only token
    except TransientProviderError:
        pass
    try:
        with pytest.raises(TransientProviderError, match="HTTP 429") as info:
            await fetcher.fetch(f"http://{host}/")
    finally:
        await fetcher.aclose()
    assert info.value.retry_after_s == 1.0


async def test_proxy_unreachable_is_transient() -> None:
    fetcher = _fetcher("http://127.0.0.1:9")
    try:
        with pytest.raises(TransientProviderError, match="proxy unreachable"):
            await fetcher.fetch("http://plumber-example.com/")
    finally:
        await fetcher.aclose()


async def test_ssrf_guard_without_proxy_and_allowlist(web_sim) -> None:
    proxy, _ = web_sim
    port = int(proxy.rsplit(":", 1)[1])
    refusing = _fetcher(None)
    allowing = _fetcher(None, allowlist=[f"127.0.0.1:{port}"])
    try:
        with pytest.raises(FetchRefused, match="address 127.0.0.1 is loopback"):
            await refusing.fetch(f"http://127.0.0.1:{port}/")
        with pytest.raises(FetchRefused, match=r"localhost resolves to 127.0.0.1 \(loopback\)"):
            await refusing.fetch(f"http://localhost:{port}/")
        result = await allowing.fetch(f"http://127.0.0.1:{port}/")
    finally:
        await refusing.aclose()
        await allowing.aclose()
    assert result.status > 0


def test_site_specs_are_deterministic() -> None:
    assert site_spec(7, "bakery.com") == site_spec(7, "www.bakery.com")
    profiles = {site_spec(7, f"biz{n}.com").profile for n in range(400)}
    assert {"wordpress_legacy", "wix", "nextjs", "error500", "robots_disallow_all"} <= profiles


async def test_plain_http_through_the_proxy_shares_one_keepalive_connection(web_sim) -> None:
    """Every site's plain-HTTP request rides the same pooled connection to the proxy (not one per site),
    in absolute form with the site's Host header, so the proxy still knows which site is meant."""
    from providers.http import make_client

    proxy, sim = web_sim
    hosts = [domain(sim, profile) for profile in ("wordpress_modern", "wix", "robots_partial")]
    client = make_client(proxy=proxy, max_keepalive=16, keep_cookies=False)
    local_ports, statuses = set(), []
    try:
        for host in hosts:
            async with client.stream("GET", f"http://{host}/") as response:
                await response.aread()
                local_ports.add(response.extensions["network_stream"].get_extra_info("client_addr")[1])
                statuses.append((str(response.url), response.status_code))
    finally:
        await client.aclose()
    assert statuses == [(f"http://{host}/", 200) for host in hosts]
    assert len(local_ports) == 1
    assert [r["domain"] for r in sim.records["web"]] == hosts
