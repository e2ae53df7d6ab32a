"""SSRF guard for fetching business websites.

Lead websites come from third parties, so a URL may point at our own network
(``http://10.0.0.5/``, cloud metadata at ``169.254.169.254``, ``localhost``).
`NetGuard.check(url)` refuses those before any connection is made; the fetcher
calls it for the first URL and for every redirect hop.

Two modes:

* **direct** (no proxy): a host name is resolved once (dnspython with the
  given nameservers, else the system resolver), every address it resolves to
  must be globally routable, and the connection goes to exactly those checked
  addresses: `connect_addresses` is what `providers.pinned` connects to (Host
  header and TLS SNI keep the name). A DNS answer that changes between check
  and connect (rebinding) therefore changes nothing. A resolution is reused
  for `pin_ttl_s` (whatever TTL the answer carried, so a TTL-0 rebinder gets
  no second answer within that time), and a fresh one is checked again.
* **proxied**: the proxy resolves names and opens the connection, so resolving
  here would check a different answer than the one used. The guard then checks
  the scheme, IP literals (including legacy numeric forms like ``2130706433``
  and IPv6 wrappings such as 6to4) and reserved names (``localhost``), and
  leaves name resolution to the proxy, **which must itself refuse internal
  targets** (docs/security.md says what it has to do).

An allowlist overrides refusals: ``host`` or ``host:port`` entries permit that
host by name, CIDR entries (``10.1.0.0/16``, ``127.0.0.1``) permit addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import dns.asyncresolver
import dns.exception
import dns.resolver

from providers.dns import make_resolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}


class FetchRefused(Exception):
    """The URL may not be fetched; `reason` says why in words an operator reads."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


NAT64_PREFIXES = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """(how, address) when `ip` carries an IPv4 address a relay or translator would connect to.

    6to4 (``2002:AABB:CCDD::/48``, RFC 3056), Teredo (``2001::/32``: its server and
    its obfuscated client, RFC 4380) and NAT64 (``64:ff9b::/96`` and the local-use
    ``64:ff9b:1::/48``, RFC 6052/8215: the last 32 bits). IPv4-mapped addresses are
    handled by the caller: they *are* the IPv4 address.
    """
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip.teredo is not None:
        server, client = ip.teredo
        return "Teredo", client if address_problem(client) else server
    if any(ip in net for net in NAT64_PREFIXES):
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address, or None when it is.

    IPv6 addresses that wrap an IPv4 address (mapped, 6to4, Teredo, NAT64) are
    judged by the address inside. NAT64 of a public IPv4 address is allowed
    (IPv6-only clusters reach every IPv4 site that way); Teredo never is.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_problem(ip.ipv4_mapped)
        wrapped = embedded_ipv4(ip)
        if wrapped is not None:
            how, inner = wrapped
            problem = address_problem(inner)
            if problem:
                return f"{problem} ({how} for {inner})"
            if how == "Teredo":
                return "a Teredo tunnel address"
            if how == "NAT64":
                return None
        if ip.is_site_local:
            return "site-local"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not globally routable", not ip.is_global),
    )
    for label, hit in checks:
        if hit:
            return label
    return None


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address `host` denotes when it is an IP literal, incl. legacy IPv4 forms (``0x7f.1``)."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # inet_aton accepts what many resolvers and proxies accept: 2130706433, 0177.0.0.1, 0x7f.1
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int


class NetGuard:
    """Decides whether a URL may be fetched and where its connections go. See the module docstring."""

    def __init__(
        self,
        allowlist: list[str] | None = None,
        *,
        resolve_names: bool = True,
        resolver_nameservers: list[str] | None = None,
        resolve_timeout_s: float = 3.0,
        pin_ttl_s: float = 30.0,
        max_pins: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`resolve_names=False` is the proxied mode: names are neither resolved nor checked here."""
        self.resolve_names = resolve_names
        self.resolve_timeout_s = resolve_timeout_s
        self.pin_ttl_s = pin_ttl_s
        self.max_pins = max_pins
        self._clock = clock
        self._pins: dict[str, tuple[float, list[IPAddress]]] = {}
        self._hosts: set[tuple[str, int | None]] = set()
        self._networks: list[IPNetwork] = []
        for entry in allowlist or []:
            self._add_allow(entry.strip())
        self._resolver: dns.asyncresolver.Resolver | None = None
        if resolver_nameservers:
            self._resolver = make_resolver(resolver_nameservers, resolve_timeout_s)

    def _add_allow(self, entry: str) -> None:
        if not entry:
            return
        try:
            self._networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            return
        except ValueError:
            pass
        parts = urlsplit("//" + entry)
        if not parts.hostname or any(c in entry for c in "/@?#"):
            raise ValueError(f"bad allowlist entry {entry!r}: use host, host:port or a CIDR")
        self._hosts.add((parts.hostname.lower(), parts.port))

    def _host_allowed(self, host: str, port: int) -> bool:
        return (host, None) in self._hosts or (host, port) in self._hosts

    def _ip_allowed(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self._networks if net.version == ip.version)

    @staticmethod
    def _target(url: str) -> _Target:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise FetchRefused(f"malformed URL {url!r}: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            raise FetchRefused(f"scheme {scheme or '(none)'!r} is not allowed (only http and https)")
        if not parts.hostname:
            raise FetchRefused(f"URL {url!r} has no host")
        return _Target(scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[scheme])

    async def check(self, url: str) -> None:
        """Raise `FetchRefused` unless `url` may be fetched."""
        target = self._target(url)
        if self.resolve_names:
            await self.connect_addresses(target.host, target.port)
        else:
            self._check_without_resolving(target.host, target.port)

    async def connect_addresses(self, host: str, port: int) -> list[IPAddress]:
        """The checked addresses a connection to `host`:`port` may use; `FetchRefused` when there are none.

        Names allowed by the allowlist resolve without address checks. Everything
        else must resolve only to public (or allowlisted) addresses: one bad
        address refuses the name, since a connection could land on any of them.
        """
        host = host.strip("[]").lower().rstrip(".")
        literal = self._check_without_resolving(host, port)
        if literal is not None:
            return [literal]
        if _is_localhost(host):  # allowed by name or by 127.0.0.1 (else refused above)
            return [ipaddress.ip_address("127.0.0.1")]
        addresses = await self._pinned(host)
        if self._host_allowed(host, port):
            return addresses
        for ip in addresses:
            problem = address_problem(ip)
            if problem and not self._ip_allowed(ip):
                raise FetchRefused(f"{host} resolves to {ip} ({problem})")
        return addresses

    def _check_without_resolving(self, host: str, port: int) -> IPAddress | None:
        """What can be judged from the name alone; returns the address when `host` is an IP literal."""
        literal = parse_ip_literal(host)
        if literal is not None:
            problem = address_problem(literal)
            if problem and not self._ip_allowed(literal) and not self._host_allowed(host, port):
                raise FetchRefused(f"address {literal} is {problem}")
            return literal
        loopback_allowed = self._host_allowed(host, port) or self._ip_allowed(ipaddress.ip_address("127.0.0.1"))
        if _is_localhost(host) and not loopback_allowed:
            raise FetchRefused(f"{host} resolves to 127.0.0.1 (loopback)")
        return None

    async def _pinned(self, host: str) -> list[IPAddress]:
        """`host`'s addresses: one resolution reused for `pin_ttl_s`, so check and connect see the same."""
        now = self._clock()
        pinned = self._pins.get(host)
        if pinned is not None and pinned[0] > now:
            return pinned[1]
        addresses = await self.resolve(host)
        if self.pin_ttl_s > 0:
            self._pins.pop(host, None)
            while len(self._pins) >= self.max_pins:
                self._pins.pop(next(iter(self._pins)))  # the oldest resolution goes first
            self._pins[host] = (now + self.pin_ttl_s, addresses)
        return addresses

    async def resolve(self, host: str) -> list[IPAddress]:
        """All A/AAAA addresses of `host`; `FetchRefused` when it does not resolve."""
        if self._resolver is None:
            loop = asyncio.get_running_loop()
            try:
                infos = await asyncio.wait_for(
                    loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), self.resolve_timeout_s
                )
            except (socket.gaierror, TimeoutError) as exc:
                raise FetchRefused(f"{host} does not resolve ({exc or 'timeout'})") from None
            found = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
        else:
            found = set()
            for rdtype in ("A", "AAAA"):
                try:
                    answer = await self._resolver.resolve(host, rdtype)
                except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
                    continue
                except dns.exception.Timeout:
                    raise FetchRefused(f"{host} does not resolve (DNS timeout)") from None
                found.update(ipaddress.ip_address(r.address) for r in answer)
        if not found:
            raise FetchRefused(f"{host} does not resolve")
        return sorted(found, key=lambda ip: (ip.version, int(ip)))


def _is_localhost(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")
