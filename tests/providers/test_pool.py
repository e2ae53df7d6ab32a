"""The clients' connection pools use the linear bookkeeping pass (providers.pool) and still pool correctly."""

from __future__ import annotations

import asyncio

import httpcore
from aiohttp import web

from providers import pool as linear
from providers.http import make_client


async def _server(handler, port: int = 0) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]


def _pool(client) -> httpcore.AsyncConnectionPool:
    return client._transport._pool


async def test_every_client_pool_is_linear_and_proxy_pools_too():
    for client in (make_client("http://api.example"), make_client(keep_cookies=False)):
        assert isinstance(_pool(client), linear._LinearAssignment)
        await client.aclose()
    proxied = make_client(proxy="http://127.0.0.1:9")
    assert isinstance(proxied._transport._plain._pool, linear._LinearAssignment)
    assert isinstance(proxied._transport._tunnel._pool, httpcore.AsyncHTTPProxy)
    assert isinstance(proxied._transport._tunnel._pool, linear._LinearAssignment)
    await proxied.aclose()


async def test_a_burst_is_served_within_the_limits_and_keeps_at_most_max_keepalive_idle():
    gate = asyncio.Event()
    in_flight = peak = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await gate.wait()
        in_flight -= 1
        return web.Response(text=request.path)

    runner, url = await _server(handler)
    client = make_client(url, max_connections=4, max_keepalive=2)
    try:
        calls = [asyncio.ensure_future(client.get(f"/{n}")) for n in range(10)]
        for _ in range(50):
            await asyncio.sleep(0.01)
            if in_flight == 4:
                break
        assert in_flight == 4  # max_connections: the rest wait in the pool's queue
        gate.set()
        answers = await asyncio.gather(*calls)
        assert [r.text for r in answers] == [f"/{n}" for n in range(10)]
        assert peak == 4
        connections = _pool(client).connections
        assert len(connections) <= 2 and all(c.is_idle() for c in connections)  # max_keepalive, not fewer
        assert len(connections) == 2
    finally:
        await client.aclose()
        await runner.cleanup()


async def test_idle_connections_are_reused_and_one_the_server_closed_is_not_handed_out():
    peers: list[int] = []

    async def handler(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername")[1])  # type: ignore[union-attr]
        return web.Response(text="ok")

    runner, url = await _server(handler)
    client = make_client(url)
    try:
        for _ in range(3):
            assert (await client.get("/")).text == "ok"
        assert len(set(peers)) == 1  # one keep-alive connection, reused
        await runner.cleanup()  # the server goes away and closes the idle connection
        runner, _ = await _server(handler, port=int(url.rsplit(":", 1)[1]))  # and comes back on the same port
        await asyncio.sleep(0.05)
        assert (await client.get("/")).text == "ok"  # not sent on the dead connection: a new one
        assert len(set(peers)) == 2
        assert all(not c.is_closed() for c in _pool(client).connections)
    finally:
        await client.aclose()
        await runner.cleanup()
