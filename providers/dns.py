"""One way to build a dnspython resolver from configured nameserver entries.

The SSRF guard (`providers.netguard`) and the MX checker (`providers.mx`) both
take a list of nameservers so that tests and deployments can point them at a
specific server (the simulator's fixture DNS on a loopback port, a cluster
resolver). Entries are ``1.1.1.1``, ``10.0.0.2:5353``, ``::1`` or
``[::1]:5353``; no entries means the system configuration (resolv.conf).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import dns.asyncresolver
import dns.nameserver


def parse_nameserver(entry: str) -> dns.nameserver.Do53Nameserver:
    """``1.1.1.1``, ``10.0.0.2:5353``, ``::1`` or ``[::1]:5353`` as a dnspython UDP/TCP nameserver."""
    entry = entry.strip()
    try:
        return dns.nameserver.Do53Nameserver(str(ipaddress.ip_address(entry.strip("[]"))))
    except ValueError:
        pass
    try:
        parts = urlsplit("//" + entry)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad nameserver {entry!r}: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"bad nameserver {entry!r}: use ip or ip:port")
    try:
        address = str(ipaddress.ip_address(parts.hostname))
    except ValueError:
        raise ValueError(f"bad nameserver {entry!r}: the host must be an IP address") from None
    return dns.nameserver.Do53Nameserver(address, port or 53)


def make_resolver(nameservers: list[str] | None, timeout_s: float) -> dns.asyncresolver.Resolver:
    """A resolver on `nameservers` (system configuration when empty) whose whole lookup ends within `timeout_s`."""
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [parse_nameserver(ns) for ns in nameservers]
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.lifetime = timeout_s
    resolver.timeout = timeout_s
    return resolver
