"""SSRF guard: refusals with clear reasons, allowlist, resolver modes."""

from __future__ import annotations

import asyncio

import dns.message
import dns.rcode
import dns.rrset
import pytest

from providers.netguard import FetchRefused, NetGuard


async def _refused(guard: NetGuard, url: str) -> str:
    with pytest.raises(FetchRefused) as info:
        await guard.check(url)
    return info.value.reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "address 127.0.0.1 is loopback"),
        ("http://10.20.30.40:8080/admin", "address 10.20.30.40 is private"),
        ("http://169.254.169.254/latest/meta-data/", "address 169.254.169.254 is link-local"),
        ("http://[::1]/", "address ::1 is loopback"),
        ("http://[::ffff:127.0.0.1]/", "address ::ffff:7f00:1 is loopback"),
        ("http://[fd00::1]/", "address fd00::1 is private"),
        ("http://[fe80::1]/", "address fe80::1 is link-local"),
        ("http://0.0.0.0/", "address 0.0.0.0 is unspecified"),
        ("http://224.0.0.1/", "address 224.0.0.1 is multicast"),
        ("http://240.0.0.1/", "address 240.0.0.1 is reserved"),
        ("http://100.64.0.1/", "address 100.64.0.1 is not globally routable"),
        ("http://[2002:7f00:1::1]/", "address 2002:7f00:1::1 is loopback (6to4 for 127.0.0.1)"),
        ("http://[2002:a9fe:a9fe::]/", "address 2002:a9fe:a9fe:: is link-local (6to4 for 169.254.169.254)"),
        ("http://[fec0::1]/", "address fec0::1 is site-local"),
        ("http://[64:ff9b::a00:7]/", "address 64:ff9b::a00:7 is private (NAT64 for 10.0.0.7)"),
        ("http://[64:ff9b:1::7f00:1]/", "address 64:ff9b:1::7f00:1 is loopback (NAT64 for 127.0.0.1)"),
        (
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
            "address 2001:0:4136:e378:8000:63bf:80ff:fffe is loopback (Teredo for 127.0.0.1)",
        ),
        (
            "http://[2001:0:4136:e378:8000:63bf:a246:9e97]/",
            "address 2001:0:4136:e378:8000:63bf:a246:9e97 is a Teredo tunnel address",
        ),
        ("http://[::ffff:10.1.2.3]/", "address ::ffff:a01:203 is private"),
        ("http://2130706433/", "address 127.0.0.1 is loopback"),
        ("http://0x7f.1/", "address 127.0.0.1 is loopback"),
        ("http://localhost:8000/", "localhost resolves to 127.0.0.1 (loopback)"),
        ("http://api.localhost/", "api.localhost resolves to 127.0.0.1 (loopback)"),
        ("ftp://example.com/file", "scheme 'ftp' is not allowed (only http and https)"),
        ("file:///etc/passwd", "scheme 'file' is not allowed (only http and https)"),
        ("http:///nohost", "URL 'http:///nohost' has no host"),
    ],
)
@pytest.mark.parametrize("proxied", [False, True])
async def test_refusals(url: str, reason: str, proxied: bool) -> None:
    assert await _refused(NetGuard(resolve_names=not proxied), url) == reason


@pytest.mark.parametrize("host", ["[2002:5db8:d822::1]", "[64:ff9b::5db8:d822]", "[2606:4700::1111]", "93.184.216.34"])
async def test_public_addresses_pass_even_when_wrapped(host: str) -> None:
    """6to4 and NAT64 of a public IPv4 address reach that address: allowed (IPv6-only clusters need NAT64)."""
    for proxied in (False, True):
        await NetGuard(resolve_names=not proxied).check(f"http://{host}/")


async def test_system_resolver_names() -> None:
    # "localhost." (trailing dot) is normalized, then refused before any lookup.
    assert await _refused(NetGuard(), "http://localhost./") == "localhost resolves to 127.0.0.1 (loopback)"
    assert "does not resolve" in await _refused(NetGuard(), "http://no-such-host.invalid/")


async def test_allowlist() -> None:
    guard = NetGuard(["localhost:8080", "10.1.0.0/16", "[::1]:9000"])
    for url in ("http://localhost:8080/x", "http://10.1.2.3/", "http://[::1]:9000/"):
        await guard.check(url)
    assert await _refused(guard, "http://127.0.0.1/") == "address 127.0.0.1 is loopback"
    by_address = NetGuard(["127.0.0.1"])  # a CIDR entry permits the address, however it is named
    for url in ("http://127.0.0.1:5000/", "http://localhost/", "http://2130706433/"):
        await by_address.check(url)
    assert await _refused(guard, "http://localhost:8081/") == "localhost resolves to 127.0.0.1 (loopback)"
    assert await _refused(guard, "http://10.2.0.1/") == "address 10.2.0.1 is private"
    assert await _refused(guard, "http://[::1]:9001/") == "address ::1 is loopback"
    with pytest.raises(ValueError):
        NetGuard(["http://"])


class _TinyDns(asyncio.DatagramProtocol):
    """A loopback DNS server answering A records from a dict (NXDOMAIN otherwise)."""

    def __init__(self, records: dict[str, str]) -> None:
        self.records, self.queries = records, []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        query = dns.message.from_wire(data)
        reply = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".")
        self.queries.append((name, dns.rdatatype.to_text(question.rdtype)))
        if name not in self.records:
            reply.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.A:
            reply.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", self.records[name]))
        self.transport.sendto(reply.to_wire(), addr)


async def test_dnspython_resolver_with_configured_nameserver() -> None:
    loop = asyncio.get_running_loop()
    server = _TinyDns(
        {"intranet.corp.test": "10.9.8.7", "shop.public.test": "93.184.216.34", "meta.evil.test": "169.254.169.254"}
    )
    transport, _ = await loop.create_datagram_endpoint(lambda: server, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        guard = NetGuard(resolver_nameservers=[f"127.0.0.1:{port}"])
        await guard.check("http://shop.public.test/")
        assert (
            await _refused(guard, "http://intranet.corp.test/") == "intranet.corp.test resolves to 10.9.8.7 (private)"
        )
        assert (
            await _refused(guard, "https://meta.evil.test/")
            == "meta.evil.test resolves to 169.254.169.254 (link-local)"
        )
        assert await _refused(guard, "http://gone.test/") == "gone.test does not resolve"
        assert ("intranet.corp.test", "A") in server.queries
        await NetGuard(["10.9.0.0/16"], resolver_nameservers=[f"127.0.0.1:{port}"]).check("http://intranet.corp.test/")
        # Proxied: names are left to the proxy, so the private name is not looked up here.
        server.queries.clear()
        await NetGuard(resolve_names=False, resolver_nameservers=[f"127.0.0.1:{port}"]).check(
            "http://intranet.corp.test/"
        )
        assert server.queries == []
    finally:
        transport.close()
