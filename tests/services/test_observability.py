"""Prometheus scrapes the exporters and file_sd targets; Alertmanager is wired; Jaeger stores an OTLP span."""

from __future__ import annotations

import asyncio
import os
import secrets
import time

import httpx
import pytest
from aiohttp import web

pytestmark = [pytest.mark.services, pytest.mark.timeout(120)]


async def _until(check, timeout: float, what: str):
    """Poll an async check until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        await asyncio.sleep(0.2)


async def _query(client: httpx.AsyncClient, prometheus_url: str, promql: str) -> list[dict]:
    answer = (await client.get(f"{prometheus_url}/api/v1/query", params={"query": promql})).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


async def test_prometheus_scrapes_the_postgres_and_redis_exporters(prometheus_url):
    async with httpx.AsyncClient(timeout=5) as client:
        for job, metric in (("postgres", "pg_up"), ("redis", "redis_up")):

            async def scraped(job=job, metric=metric):
                up = await _query(client, prometheus_url, f'up{{job="{job}"}} == 1')
                value = await _query(client, prometheus_url, f'{metric}{{job="{job}"}} == 1')
                return up and value

            await _until(scraped, 30, f"up == 1 and {metric} == 1 for job {job}")


async def test_registered_target_is_scraped_without_restart_and_dropped_when_unregistered(svc, prometheus_url, unique):
    """register_scrape_target writes file_sd JSON; the running Prometheus picks it up and lets it go."""
    from svclib import prometheus

    assert prometheus.prometheus_url() == prometheus_url
    value = secrets.randbelow(10**6)

    async def metrics(_request):
        return web.Response(text=f'# TYPE svc_probe gauge\nsvc_probe{{token="{unique}"}} {value}\n')

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host_port = f"127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    try:
        prometheus.register_scrape_target("leadstream-main", host_port, {"worker": unique})
        async with httpx.AsyncClient(timeout=5) as client:
            series = await _until(
                lambda: _query(client, prometheus_url, f'svc_probe{{token="{unique}"}}'),
                30,
                "the probe's metric to be scraped",
            )
            labels = series[0]["metric"]
            assert (labels["job"], labels["instance"], labels["worker"]) == ("leadstream-main", host_port, unique)
            assert float(series[0]["value"][1]) == value

            prometheus.unregister_scrape_target("leadstream-main", host_port)

            async def dropped():
                targets = (await client.get(f"{prometheus_url}/api/v1/targets")).json()["data"]["activeTargets"]
                return all(t["labels"].get("instance") != host_port for t in targets)

            await _until(dropped, 30, "the unregistered target to leave the active targets")
    finally:
        prometheus.unregister_scrape_target("leadstream-main", host_port)
        await runner.cleanup()


async def test_prometheus_knows_the_alertmanager(prometheus_url):
    alertmanager = os.environ.get("LEADSTREAM_ALERTMANAGER_URL")
    assert alertmanager, "LEADSTREAM_ALERTMANAGER_URL is not set: scripts/services up alertmanager"
    async with httpx.AsyncClient(timeout=5) as client:
        status = (await client.get(f"{alertmanager}/api/v2/status")).json()
        assert status["cluster"]["status"] == "disabled"  # no gossip port

        async def discovered():
            data = (await client.get(f"{prometheus_url}/api/v1/alertmanagers")).json()["data"]
            return any(alertmanager in a["url"] for a in data["activeAlertmanagers"])

        await _until(discovered, 30, "Prometheus to discover the Alertmanager")


async def test_jaeger_stores_an_otlp_span_and_finds_it_by_service(jaeger_urls, unique):
    otlp, query = jaeger_urls
    service, trace_id, span_id = f"svc-probe-{unique}", secrets.token_hex(16), secrets.token_hex(8)
    now = time.time_ns()
    payload = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "test_observability"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "name": "probe-span",
                                "kind": 1,
                                "startTimeUnixNano": str(now - 5_000_000),
                                "endTimeUnixNano": str(now),
                                "attributes": [{"key": "lead.id", "value": {"stringValue": unique}}],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.post(f"{otlp}/v1/traces", json=payload)
        assert answer.status_code == 200, answer.text

        async def found():
            body = (await client.get(f"{query}/api/traces", params={"service": service})).json()
            return body.get("data")

        [trace] = await _until(found, 30, f"Jaeger to return a trace for service {service}")
    assert trace["traceID"] == trace_id
    [span] = trace["spans"]
    assert (span["spanID"], span["operationName"]) == (span_id, "probe-span")
    assert {"key": "lead.id", "type": "string", "value": unique} in span["tags"]
