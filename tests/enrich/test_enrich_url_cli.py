"""`leadstream enrich-url`: the operator's tool runs the stage's enrichment on one site and says why not."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from simulator.websites import domain_for_profile


async def _enrich_url(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "leadstream",
        "enrich-url",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode, out.decode()


async def test_enrich_url_prints_what_it_found_and_every_provider_tried(fresh_sim, sim_dns, tmp_path, unique):
    base_url, sim = fresh_sim
    env = {
        "LEADSTREAM_WEB_PROXY": base_url,
        "LEADSTREAM_FETCH_ALLOWLIST": base_url.split("://", 1)[1],
        "LEADSTREAM_PAGESPEED_BASE_URL": base_url,
        "LEADSTREAM_PAGESPEED_API_KEY": "sim-key",
        "LEADSTREAM_HUNTER_BASE_URL": base_url,
        "LEADSTREAM_HUNTER_API_KEY": "sim-hunter-key-0123456789",
        "LEADSTREAM_DNS_NAMESERVERS": sim_dns,
        "LEADSTREAM_BLOB_DIR": str(tmp_path),
    }
    site = domain_for_profile(sim.config.seed, "static_bootstrap", prefix=f"cli{unique}x")
    code, out = await _enrich_url([site, "--json"], env)
    assert code == 0, out
    found = json.loads(out[out.index("{") :])
    assert found["status"] == "ok" and found["tier"] == 3
    assert {"Bootstrap", "jQuery"} <= {t["name"] for t in found["tech"]}
    assert found["sources"]["performance"] == "pagespeed" and found["performance"]["lcp_ms"] > 0
    assert sim.counters["pagespeed.requests"] == 1

    code, out = await _enrich_url(["http://10.0.0.1/", "--tier", "1"], env)
    assert code == 0, out
    assert "status: failed — refused:" in out and "10.0.0.1" in out
