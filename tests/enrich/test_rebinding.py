"""DNS rebinding against the SSRF guard, with the simulator's fixture DNS as the attacker's name server.

The attacked name is this machine's host name: the system resolver (/etc/hosts)
maps it to a local address, where an "internal service" listens. The scripted
DNS (`SimConfig.dns_answers`) answers it with an acceptable address first and
with that internal address afterwards. Before connections were pinned, the
guard checked the first answer and httpx connected by name, through the system
resolver, to the internal service: ``200 INTERNAL-ONLY /secret``.

Nothing here reaches the internet, so 127.0.0.2 (allowlisted as a CIDR) plays
the public address: a decoy server listens there on the same port.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from providers.browser import PageRenderer
from providers.chromium import DEFAULT_EXECUTABLE
from providers.http import make_client
from providers.netguard import FetchRefused, NetGuard, address_problem
from providers.sitehttp import SiteClient
from providers.web import RobotsDisallowed, WebFetcher

CHROMIUM = DEFAULT_EXECUTABLE  # what workers run: the headless shell when installed
DECOY = "127.0.0.2"  # stands in for the public address the attacker's DNS gives the check


def _internal_ip() -> str:
    """Where the system resolver sends this machine's host name: an internal address."""
    infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET, socket.SOCK_STREAM)
    ip = infos[0][4][0]
    assert address_problem(ipaddress.ip_address(ip)), f"{socket.gethostname()} resolves to {ip}, not internal"
    assert ip != DECOY
    return ip


@dataclass
class Servers:
    host: str  # the attacked name
    port: int  # the same port on the internal address and on the decoy
    internal_hits: list[str] = field(default_factory=list)
    decoy_hosts: list[str] = field(default_factory=list)  # Host headers the decoy saw


def _page(port: int, host: str) -> str:
    """A page whose own script POSTs to the internal service and writes the answer into the DOM."""
    return f"""<!doctype html><html><body><h1>Plumbing</h1><div id="out"></div><script>
    fetch('http://{host}:{port}/secret', {{method: 'POST', body: 'x'}})
      .then((r) => r.text()).then((t) => {{ document.getElementById('out').textContent = t; }})
      .catch((e) => {{ document.getElementById('out').textContent = 'failed'; }});
    </script></body></html>"""


@pytest_asyncio.fixture
async def servers() -> AsyncIterator[Servers]:
    internal_ip = _internal_ip()
    state = Servers(host=socket.gethostname().lower(), port=0)

    async def internal(request: web.Request) -> web.Response:
        state.internal_hits.append(f"{request.method} {request.path}")
        return web.Response(text=f"INTERNAL-ONLY {request.path}", headers={"Access-Control-Allow-Origin": "*"})

    async def decoy(request: web.Request) -> web.Response:
        state.decoy_hosts.append(request.host)
        if request.path == "/robots.txt":
            return web.Response(status=404)
        if request.path == "/":
            return web.Response(text=_page(state.port, state.host), content_type="text/html")
        return web.Response(text="PUBLIC", headers={"Access-Control-Allow-Origin": "*"})

    runners = []
    for handler in (internal, decoy):
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
    await web.TCPSite(runners[0], internal_ip, 0).start()
    state.port = runners[0].addresses[0][1]
    await web.TCPSite(runners[1], DECOY, state.port).start()
    try:
        yield state
    finally:
        for runner in runners:
            await runner.cleanup()


def _rebinding(sim, servers: Servers) -> None:
    sim.config.dns_answers = {servers.host: [DECOY, _internal_ip()]}


def _queries(sim, host: str) -> int:
    return sim.counters[f"dns.scripted.{host}.4"]


@pytest.mark.parametrize("rebinds", [True, False], ids=["rebinding", "other-resolver"])
async def test_httpx_connects_to_the_checked_address_only(fresh_sim, sim_dns, servers, rebinds) -> None:
    """Rebinding: the second answer is internal. Other resolver: the configured one always answers the decoy,
    while the system's (which httpx used to connect with) gives the internal address."""
    _, sim = fresh_sim
    if rebinds:
        _rebinding(sim, servers)
    else:
        sim.config.dns_answers = {servers.host: [DECOY]}
    fetcher = WebFetcher(None, timeout_s=5.0, allowlist=[f"{DECOY}/32"], resolver_nameservers=[sim_dns])
    try:
        page = await fetcher.fetch(f"http://{servers.host}:{servers.port}/secret")
    finally:
        await fetcher.aclose()
    assert servers.internal_hits == []
    assert (page.status, page.body) == (200, b"PUBLIC")
    assert _queries(sim, servers.host) == 1  # one resolution for the check, robots.txt and the page


async def test_a_new_resolution_at_connect_is_checked_again(fresh_sim, sim_dns, servers) -> None:
    """With no reuse (TTL 0) the connection resolves anew: the internal answer is refused, not connected to."""
    _, sim = fresh_sim
    _rebinding(sim, servers)
    guard = NetGuard([f"{DECOY}/32"], resolver_nameservers=[sim_dns], pin_ttl_s=0)
    client = make_client(timeout_s=5.0, guard=guard)
    url = f"http://{servers.host}:{servers.port}/secret"
    try:
        await guard.check(url)  # the first answer: acceptable
        with pytest.raises(FetchRefused) as refused:
            await client.get(url)
    finally:
        await client.aclose()
    assert refused.value.reason == f"{servers.host} resolves to {_internal_ip()} (loopback)"
    assert servers.internal_hits == [] and _queries(sim, servers.host) == 2


async def test_rendered_page_script_cannot_reach_the_internal_service(fresh_sim, sim_dns, servers) -> None:
    _, sim = fresh_sim
    _rebinding(sim, servers)
    guard = NetGuard([f"{DECOY}/32"], resolver_nameservers=[sim_dns], pin_ttl_s=0)
    async with PageRenderer(CHROMIUM, guard=guard, timeout_s=10.0) as pages:
        result = await pages.render(f"http://{DECOY}:{servers.port}/")
    secret = f"http://{servers.host}:{servers.port}/secret"
    assert result.status == 200 and "Plumbing" in result.html
    assert servers.internal_hits == []
    assert "INTERNAL-ONLY" not in result.html and '<div id="out">failed</div>' in result.html
    assert result.blocked == [(secret, f"{servers.host} resolves to {_internal_ip()} (loopback)")]


async def test_host_header_keeps_the_name(fresh_sim, sim_dns, servers) -> None:
    _, sim = fresh_sim
    sim.config.dns_answers = {"shop.rebind.test": [DECOY]}
    fetcher = WebFetcher(None, timeout_s=5.0, allowlist=[f"{DECOY}/32"], resolver_nameservers=[sim_dns])
    try:
        page = await fetcher.fetch(f"http://shop.rebind.test:{servers.port}/about")
    finally:
        await fetcher.aclose()
    assert page.body == b"PUBLIC" and servers.decoy_hosts == [f"shop.rebind.test:{servers.port}"] * 2


def _self_signed(tmp_path, name: str) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


async def test_tls_sni_keeps_the_name(fresh_sim, sim_dns, tmp_path) -> None:
    """The TLS handshake names the site (SNI), not the pinned IP; the certificate check then fails on trust."""
    _, sim = fresh_sim
    sim.config.dns_answers = {"tls.rebind.test": [DECOY]}
    context = _self_signed(tmp_path, "tls.rebind.test")
    server_names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, DECOY, 0, ssl_context=context).start()
    port = runner.addresses[0][1]
    guard = NetGuard([f"{DECOY}/32"], resolver_nameservers=[sim_dns])
    client = make_client(timeout_s=5.0, guard=guard)
    try:
        with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
            await client.get(f"https://tls.rebind.test:{port}/")
    finally:
        await client.aclose()
        await runner.cleanup()
    assert server_names and set(server_names) == {"tls.rebind.test"}


@pytest.mark.parametrize(
    "url", ["http://2130706433/", "http://[2002:7f00:1::1]/", "http://[::ffff:10.0.0.1]/", "http://localhost/"]
)
async def test_proxied_mode_still_refuses_internal_literals(web_sim, url) -> None:
    """Through a proxy names are the proxy's to resolve (and refuse); literals are still refused here."""
    proxy, sim = web_sim
    fetcher = WebFetcher(proxy, timeout_s=5.0)
    try:
        with pytest.raises(FetchRefused):
            await fetcher.fetch(url)
    finally:
        await fetcher.aclose()
    assert sim.counters["web.requests"] == 0 and not sim.records["web"]


async def test_the_site_client_checks_a_new_resolution_at_connect_too(fresh_sim, sim_dns, servers) -> None:
    """The plain fetches' client (aiohttp, `providers.sitehttp`) resolves through the guard as httpx's does."""
    _, sim = fresh_sim
    _rebinding(sim, servers)
    guard = NetGuard([f"{DECOY}/32"], resolver_nameservers=[sim_dns], pin_ttl_s=0)
    client = SiteClient(proxy=None, guard=guard, timeout_s=5.0, headers={})
    url = f"http://{servers.host}:{servers.port}/secret"
    try:
        await guard.check(url)  # the first answer: acceptable
        with pytest.raises(FetchRefused) as refused:
            async with client.get(url):
                pass
    finally:
        await client.aclose()
    assert refused.value.reason == f"{servers.host} resolves to {_internal_ip()} (loopback)"
    assert servers.internal_hits == [] and _queries(sim, servers.host) == 2


async def test_the_site_client_names_the_site_in_tls(fresh_sim, sim_dns, tmp_path) -> None:
    """A plain fetch of an https site connects to the pinned IP but hands TLS the name (SNI, certificate)."""
    _, sim = fresh_sim
    sim.config.dns_answers = {"tls.rebind.test": [DECOY]}
    context = _self_signed(tmp_path, "tls.rebind.test")
    server_names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    app = web.Application()
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, DECOY, 0, ssl_context=context).start()
    port = runner.addresses[0][1]
    fetcher = WebFetcher(None, timeout_s=5.0, allowlist=[f"{DECOY}/32"], resolver_nameservers=[sim_dns])
    try:
        # robots.txt is the first request: its failure, mapped as a connection failure, refuses the page
        with pytest.raises(
            RobotsDisallowed, match=r"robots.txt unreachable \(connection failed: .*certificate verify failed"
        ):
            await fetcher.fetch(f"https://tls.rebind.test:{port}/")
    finally:
        await fetcher.aclose()
        await runner.cleanup()
    assert server_names and set(server_names) == {"tls.rebind.test"}
