"""The simulator's aiohttp app: API modules, the forward proxy to business websites, control routes.

Business websites are reached with the simulator as an HTTP proxy: a request
whose target host is not the simulator itself (absolute-form request line, or a
Host header naming a domain) goes to ``websites.serve``. The simulator's own
host is loopback, an IP literal, a single-label name (a k8s service) or one of
``own_hosts``; business domains always have a dot.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterable
from functools import partial

from aiohttp import web

from simulator import hunter, llm, pagespeed, search, sendgrid, websites
from simulator.core import Simulator
from simulator.sendgrid_eml import build_eml
from simulator.world import UnknownLocation, world_for

DOMAIN_PREFIX, ENDPOINT_PREFIX = "domain:", "endpoint:"


def is_own_host(host: str | None, own_hosts: Iterable[str] = ()) -> bool:
    if not host:
        return True
    host = host.lower().strip("[]")
    if host == "localhost" or "." not in host or host in own_hosts:
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _proxy_middleware(sim: Simulator, own_hosts: frozenset[str]):
    @web.middleware
    async def proxy(request: web.Request, handler):
        if request.method == "CONNECT":
            # HTTPS tunnels would need TLS interception; business sites are served over plain http.
            return web.Response(status=501, text="CONNECT is not supported by the simulator proxy; use http:// URLs")
        host = request.url.host
        if not is_own_host(host, own_hosts):
            domain = host.lower().rstrip(".")
            sim.counters[DOMAIN_PREFIX + domain] += 1
            return await websites.serve(request, sim, domain)
        route = request.match_info.route.resource
        sim.counters[f"{ENDPOINT_PREFIX}{request.method} {route.canonical if route else 'unmatched'}"] += 1
        return await handler(request)

    return proxy


def make_app(sim: Simulator, own_hosts: Iterable[str] = ()) -> web.Application:
    """The whole simulator as one app (search, SendGrid, LLMs, PageSpeed, websites via proxy, /_sim control)."""
    app = web.Application(
        middlewares=[_proxy_middleware(sim, frozenset(h.lower() for h in own_hosts))], client_max_size=64 * 1024 * 1024
    )
    initial_config = copy.deepcopy(sim.config)
    search.setup(app, sim)
    sendgrid.setup(app, sim)
    llm.setup(app, sim)
    hunter.setup(app, sim)
    pagespeed.setup(app, sim)
    app.router.add_get("/_sim/health", health)
    app.router.add_get("/_sim/stats", partial(stats, sim=sim))
    app.router.add_get("/_sim/config", partial(get_config, sim=sim))
    app.router.add_post("/_sim/config", partial(update_config, sim=sim))
    app.router.add_post("/_sim/reset", partial(reset, sim=sim, initial=initial_config))
    app.router.add_get("/_sim/emails", partial(list_emails, sim=sim))
    app.router.add_get("/_sim/emails/summary", partial(email_summary, sim=sim))
    app.router.add_get(r"/_sim/emails/{n:\d+}.eml", partial(email_eml, sim=sim))
    app.router.add_get("/_sim/world/{zip}/{vertical}", partial(world_cell, sim=sim))
    return app


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def stats(request: web.Request, sim: Simulator) -> web.Response:
    """sim.stats() plus requests per website domain and per endpoint."""
    base = sim.stats()
    counters, domains, endpoints = {}, {}, {}
    for key, count in sim.counters.items():
        if key.startswith(DOMAIN_PREFIX):
            domains[key[len(DOMAIN_PREFIX) :]] = count
        elif key.startswith(ENDPOINT_PREFIX):
            endpoints[key[len(ENDPOINT_PREFIX) :]] = count
        else:
            counters[key] = count
    return web.json_response({**base, "counters": counters, "domains": domains, "endpoints": endpoints})


def _config_dict(sim: Simulator) -> dict:
    return {"seed": sim.config.seed, **{name: vars(fam) for name, fam in sim.config.families.items()}}


async def get_config(request: web.Request, sim: Simulator) -> web.Response:
    return web.json_response(_config_dict(sim))


async def update_config(request: web.Request, sim: Simulator) -> web.Response:
    """Apply ``{"search": {"down": true}, "sendgrid": {"error_rate": 0.2}, ...}``."""
    try:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise ValueError("body must be a JSON object")
        sim.config.update(changes)
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(_config_dict(sim))


async def reset(request: web.Request, sim: Simulator, initial) -> web.Response:
    """Clear counters and records; with ``?config=1`` also restore the startup config."""
    sim.reset()
    if request.query.get("config") in ("1", "true", "yes"):
        sim.config = copy.deepcopy(initial)
    return web.json_response({"ok": True})


async def list_emails(request: web.Request, sim: Simulator) -> web.Response:
    """Accepted sends, optionally filtered by ``idempotency_key`` or ``to``."""
    key, to = request.query.get("idempotency_key"), (request.query.get("to") or "").lower()
    wanted = None
    if key or to:
        wanted = {
            row["message_id"]
            for row in sendgrid.deliveries(sim)
            if (not key or row["unique_args"].get("idempotency_key") == key)
            and (not to or row["to_email"].lower() == to)
        }
    emails = [
        {"n": n, **record}
        for n, record in enumerate(sendgrid.sent_messages(sim))
        if wanted is None or record["message_id"] in wanted
    ]
    return web.json_response({"emails": emails})


async def email_summary(request: web.Request, sim: Simulator) -> web.Response:
    return web.json_response(sendgrid.summary(sim))


async def email_eml(request: web.Request, sim: Simulator) -> web.Response:
    """The n-th accepted mail (0-based) as RFC 5322; ``?personalization=i`` picks the recipient block."""
    messages = sendgrid.sent_messages(sim)
    n = int(request.match_info["n"])
    if n >= len(messages):
        return web.json_response({"error": f"no email #{n}; {len(messages)} received"}, status=404)
    try:
        index = int(request.query.get("personalization", "0"))
        body = build_eml(messages[n], index)
    except (ValueError, IndexError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.Response(body=body, content_type="message/rfc822")


async def world_cell(request: web.Request, sim: Simulator) -> web.Response:
    """The world's businesses for one ZIP and vertical (for demos and debugging)."""
    try:
        found = world_for(sim).businesses(request.match_info["zip"], request.match_info["vertical"])
    except UnknownLocation as exc:
        return web.json_response({"error": str(exc)}, status=404)
    return web.json_response(
        {"businesses": [{**vars(b), "yelp_id": b.yelp_id, "google_place_id": b.google_place_id} for b in found]}
    )


async def start_simulator(
    sim: Simulator, host: str = "127.0.0.1", port: int = 0, own_hosts: Iterable[str] = ()
) -> tuple[web.AppRunner, str]:
    """Serve the simulator in this event loop; returns the runner (``await runner.cleanup()``) and base URL."""
    runner = web.AppRunner(make_app(sim, own_hosts=own_hosts), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = site._server.sockets[0].getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return runner, f"http://{shown}:{bound_port}"
