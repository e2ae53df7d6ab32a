"""The simulator app: forward-proxy dispatch to websites, control routes, the CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import httpx

from simulator import websites
from simulator.app import is_own_host
from simulator.world import world_for


async def test_absolute_form_requests_reach_the_business_website(fresh_sim):
    base_url, sim = fresh_sim
    domain = websites.domain_for_profile(sim.config.seed, "static_bootstrap")
    async with httpx.AsyncClient(proxy=base_url, trust_env=False) as client:
        page = await client.get(f"http://{domain.upper()}:80/")
        not_the_api = await client.get(f"http://www.{domain}/_sim/health")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert not_the_api.text != '{"ok": true}'
    async with httpx.AsyncClient(trust_env=False) as client:
        stats = (await client.get(f"{base_url}/_sim/stats")).json()
    assert stats["domains"] == {domain: 1, f"www.{domain}": 1}
    assert not any("_sim/health" in endpoint for endpoint in stats["endpoints"])


async def test_host_header_routes_and_own_hosts_reach_the_api(fresh_sim):
    base_url, sim = fresh_sim
    business = next(b for b in world_for(sim).businesses("98908", "hvac") if b.domain)
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        await client.get("/contact", headers={"Host": f"{business.domain}:8080"})
        own = await client.get("/_sim/health", headers={"Host": "localhost:1234"})
        tunnel = await client.request("CONNECT", "/", headers={"Host": f"{business.domain}:443"})
    assert own.json() == {"ok": True} and tunnel.status_code == 501
    assert sim.counters[f"domain:{business.domain}"] == 1
    assert [is_own_host(h) for h in ("127.0.0.1", "::1", "simulator", "localhost", "joes.com")] == [True] * 4 + [False]
    assert is_own_host("sim.internal", own_hosts={"sim.internal"})


async def test_config_reset_and_stats_routes(fresh_sim):
    base_url, sim = fresh_sim
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        changed = await client.post("/_sim/config", json={"search": {"down": True}, "sendgrid": {"error_rate": 0.5}})
        assert changed.json()["search"]["down"] is True and sim.config.family("sendgrid").error_rate == 0.5
        down = await client.get(
            "/v3/businesses/search", params={"location": "98908"}, headers={"Authorization": "Bearer k"}
        )
        assert down.status_code == 503
        assert (await client.post("/_sim/config", json={"search": {"nonsense": 1}})).status_code == 400
        stats = (await client.get("/_sim/stats")).json()
        assert stats["counters"]["search.503"] == 1 and stats["endpoints"]["GET /v3/businesses/search"] == 1
        assert (await client.post("/_sim/reset")).json() == {"ok": True}
        assert (await client.get("/_sim/stats")).json()["counters"] == {}
        assert sim.config.family("search").down is True
        await client.post("/_sim/reset?config=1")
        assert sim.config.family("search").down is False
        cell = (await client.get("/_sim/world/46032/vet")).json()["businesses"]
        assert cell[0]["city"] == "Carmel" and len(cell) == len(world_for(sim).businesses("46032", "vet"))


async def test_cli_prints_url_and_stops_on_sigterm(tmp_path):
    config = tmp_path / "sim.yaml"
    config.write_text("seed: 3\nsearch:\n  latency_median_ms: 0\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--port",
        "0",
        "--seed",
        "11",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        assert line.startswith("SIMULATOR_URL=http://127.0.0.1:")
        async with httpx.AsyncClient(trust_env=False) as client:
            config_now = (await client.get(line.split("=", 1)[1] + "/_sim/config")).json()
        assert config_now["seed"] == 11 and config_now["search"]["latency_median_ms"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
