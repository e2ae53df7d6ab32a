"""The plain website fetches' client (aiohttp, `providers.sitehttp`) against a real local site, direct mode.

What httpx did for `WebFetcher` and aiohttp must do the same way: no cookies kept
or sent, header blocks up to 16 KiB, and each failure mapped to the same reason.
"""

from __future__ import annotations

import gzip
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from providers.web import SiteError, WebFetcher


@pytest_asyncio.fixture
async def site() -> AsyncIterator[tuple[str, list[web.Request]]]:
    seen: list[web.Request] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        if request.path == "/robots.txt":
            return web.Response(status=404)
        if request.path == "/cookie":
            return web.Response(text="hi", headers={"Set-Cookie": "session=abc; Path=/; HttpOnly"})
        if request.path == "/big-header":
            return web.Response(text="big", headers={"X-Big": "b" * 12_000})
        if request.path == "/bad-gzip":
            return web.Response(body=b"this is not gzip at all", headers={"Content-Encoding": "gzip"})
        if request.path == "/gzip":
            return web.Response(body=gzip.compress(b"<html>" + b"x" * 5000), headers={"Content-Encoding": "gzip"})
        if request.path == "/cut":
            response = web.StreamResponse(headers={"Content-Length": "100000"})
            await response.prepare(request)
            await response.write(b"only the start")
            assert request.transport is not None
            request.transport.close()
            return response
        return web.Response(text="page")

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


def _fetcher(**kwargs) -> WebFetcher:
    return WebFetcher(None, timeout_s=3.0, allowlist=["127.0.0.1"], **kwargs)


async def test_cookies_are_read_from_the_headers_but_never_kept_or_sent(site) -> None:
    base, seen = site
    base = base.replace("127.0.0.1", "localhost")  # a name: a cookie jar would keep nothing for an IP address
    fetcher = _fetcher()
    try:
        first = await fetcher.fetch(f"{base}/cookie")
        await fetcher.fetch(f"{base}/cookie")
    finally:
        await fetcher.aclose()
    assert first.cookies == {"session": "abc"} and "set-cookie" not in first.headers
    assert [r.path for r in seen] == ["/robots.txt", "/cookie", "/cookie"]
    assert all("Cookie" not in r.headers for r in seen)


async def test_headers_body_and_decoding(site) -> None:
    base, seen = site
    fetcher = _fetcher(max_bytes=1000)
    try:
        big = await fetcher.fetch(f"{base}/big-header")
        zipped = await fetcher.fetch(f"{base}/gzip")
    finally:
        await fetcher.aclose()
    assert big.headers["x-big"] == "b" * 12_000 and big.body == b"big"
    assert zipped.truncated and zipped.body == (b"<html>" + b"x" * 5000)[:1000]  # the cap is on decoded bytes
    assert {r.headers["User-Agent"] for r in seen} == {fetcher.user_agent}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/bad-gzip", "undecodable response body"),
        ("/cut", "connection reset by the site (ClientPayloadError)"),
    ],
)
async def test_site_failures_keep_their_reasons(site, path: str, reason: str) -> None:
    base, _ = site
    fetcher = _fetcher()
    try:
        with pytest.raises(SiteError) as info:
            await fetcher.fetch(f"{base}{path}")
    finally:
        await fetcher.aclose()
    assert info.value.reason.startswith(reason)


async def test_a_closed_port_is_a_connection_failure_of_the_site() -> None:
    with socket.socket() as sock:  # a port nobody listens on (bound, never listening)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        fetcher = _fetcher()
        try:
            with pytest.raises(SiteError) as info:
                await fetcher._get_once(f"http://127.0.0.1:{port}/", 1000, read_body=True)
        finally:
            await fetcher.aclose()
    assert info.value.reason.startswith("connection failed: ")
