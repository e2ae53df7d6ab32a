"""The simulator as the websites' HTTP proxy.

Uses the project's simulator app (`fresh_sim`) when `simulator.app.make_app`
exists; until then, a minimal app that sends every proxied request to
`simulator.websites.serve` the way the simulator's middleware does.
"""

from __future__ import annotations

import importlib.util

import pytest
import pytest_asyncio
from aiohttp import web

from simulator import websites
from simulator.core import SimConfig, Simulator


def _has_make_app() -> bool:
    if importlib.util.find_spec("simulator.app") is None:
        return False
    import simulator.app

    return hasattr(simulator.app, "make_app")


@pytest.fixture
def web_sim(request: pytest.FixtureRequest):
    """(proxy_url, Simulator) with fresh counters and faults."""
    return request.getfixturevalue("fresh_sim" if _has_make_app() else "local_web_sim")


@pytest_asyncio.fixture
async def local_web_sim():
    """Stand-in for the simulator app while it is being written: routes every request to `serve`."""
    sim = Simulator(SimConfig(seed=7))

    async def proxied(req: web.Request) -> web.StreamResponse:
        return await websites.serve(req, sim, req.host.split(":")[0])

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxied)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", sim
    await runner.cleanup()
