"""A small authoritative DNS server over UDP for the simulated world's mail setup.

Email checks ask for a domain's MX records; tests and demos need answers for
made-up domains without the internet, so the MX checker's resolver is pointed
at this server (``start_dns`` returns its ``127.0.0.1:PORT``). Every domain's
setup is drawn from ``(seed, domain)`` like the websites are:

* ``mx``: ``10 mail.<domain>.`` (and an A record for the mail host)
* ``mx_backup``: ``10 mail.`` and ``20 backup-mx.``, sent worst-first so a
  client must sort by preference
* ``a_only``: no MX, only the A record (RFC 5321 implicit MX)
* ``null_mx``: ``0 .`` (RFC 7505: the domain accepts no mail)
* ``nxdomain``: the domain does not exist

Reserved names behave as on the internet: ``.test``, ``.example``,
``.invalid``, ``.local``, ``.onion`` and ``.arpa`` names do not exist,
``localhost`` is loopback, and ``example.com/.net/.org`` publish a null MX.
Well-known mailbox providers (gmail.com, ...) always have MX records.
Addresses come from the documentation ranges (203.0.113.0/24, 2001:db8::/32).
The website simulator does not consult this server (sites are reached through
its HTTP proxy), so a site whose domain has no DNS here still answers there.

``SimConfig.dns_answers`` overrides the world for the names it lists: the n-th A
(AAAA) query for a name gets the n-th IPv4 (IPv6) address of its list, the last
one repeating, with TTL 0 — what a DNS-rebinding attacker's server does.

The ``dns`` config family applies as for HTTP families: latency delays the
answer, ``down`` drops every query (clients time out), ``error_rate`` answers
SERVFAIL and a rate limit answers REFUSED. ``sim.counters["dns.queries"]``
counts the queries received; ``sim.records["dns"]`` lists them.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import random

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from simulator.core import Simulator, first_domain

MAIL_SETUPS: dict[str, int] = {"mx": 78, "mx_backup": 10, "a_only": 5, "null_mx": 3, "nxdomain": 4}
NONEXISTENT_TLDS = frozenset({"test", "example", "invalid", "local", "onion", "arpa"})
NULL_MX_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
MAILBOX_PROVIDERS = frozenset(
    {
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "aol.com",
        "icloud.com",
        "comcast.net",
        "att.net",
        "msn.com",
        "live.com",
    }
)
TTL_S = 300
FAMILY = "dns"


def _zone_of(name: str) -> tuple[str, str]:
    """(host part, registrable zone) of a lower-case name: simulated domains have two labels."""
    labels = name.split(".")
    return ".".join(labels[:-2]), ".".join(labels[-2:])


def mail_setup(seed: int, domain: str) -> str:
    """The mail setup of `domain`'s zone under `seed` (one of `MAIL_SETUPS`); same draw as ``sim.rng("dns", zone)``."""
    name = domain.lower().rstrip(".")
    _, zone = _zone_of(name)
    if name.rsplit(".", 1)[-1] in NONEXISTENT_TLDS or "." not in name:
        return "nxdomain"
    if zone in NULL_MX_DOMAINS:
        return "null_mx"
    if zone in MAILBOX_PROVIDERS:
        return "mx"
    basis = f"{seed}|dns|{zone}"
    rng = random.Random(int.from_bytes(hashlib.blake2b(basis.encode(), digest_size=8).digest(), "big"))
    return rng.choices(list(MAIL_SETUPS), weights=list(MAIL_SETUPS.values()))[0]


def domain_with_mail_setup(seed: int, kind: str, prefix: str = "mailtest") -> str:
    """The first ``{prefix}{n}.com`` whose mail setup is `kind` (for tests and generators)."""
    if kind not in MAIL_SETUPS:
        raise ValueError(f"unknown mail setup {kind!r}")
    return first_domain(prefix, lambda domain: mail_setup(seed, domain) == kind, kind)


def _address(name: str, version: int) -> str:
    digest = hashlib.blake2b(name.encode(), digest_size=4).digest()
    if version == 4:
        return str(ipaddress.IPv4Address(bytes([203, 0, 113, 1 + digest[0] % 254])))
    return str(ipaddress.IPv6Address(b"\x20\x01\x0d\xb8" + bytes(8) + digest))


def zone_records(seed: int, name: str) -> dict[str, dict[str, list[str]]] | None:
    """Every host of `name`'s zone with its records as ``{host: {type: [rdata text]}}``; None: no such zone."""
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return {name: {"A": ["127.0.0.1"], "AAAA": ["::1"]}}
    kind = mail_setup(seed, name)
    if kind == "nxdomain":
        return None
    _, zone = _zone_of(name)
    apex: dict[str, list[str]] = {"A": [_address(zone, 4)]}
    if hashlib.blake2b(zone.encode(), digest_size=1).digest()[0] < 64:
        apex["AAAA"] = [_address(zone, 6)]
    hosts = {zone: apex, f"www.{zone}": {"A": [_address(f"www.{zone}", 4)]}}
    if kind in ("mx", "mx_backup"):
        apex["MX"] = [f"10 mail.{zone}."]
        hosts[f"mail.{zone}"] = {"A": [_address(f"mail.{zone}", 4)]}
    if kind == "mx_backup":
        apex["MX"].insert(0, f"20 backup-mx.{zone}.")
        hosts[f"backup-mx.{zone}"] = {"A": [_address(f"backup-mx.{zone}", 4)]}
    if kind == "null_mx":
        apex["MX"] = ["0 ."]
    return hosts


def scripted_answer(sim: Simulator, query: dns.message.Message) -> dns.message.Message | None:
    """The answer `SimConfig.dns_answers` scripts for this query, or None when it lists no such name."""
    if len(query.question) != 1:
        return None
    question = query.question[0]
    name = question.name.to_text(omit_final_dot=True).lower()
    script = sim.config.dns_answers.get(name)
    if script is None or question.rdtype not in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return None
    version = 4 if question.rdtype == dns.rdatatype.A else 6
    addresses = [a for a in script if ipaddress.ip_address(a).version == version]
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    if addresses:
        key = f"{FAMILY}.scripted.{name}.{version}"
        address = addresses[min(sim.counters[key], len(addresses) - 1)]
        sim.counters[key] += 1
        response.answer.append(dns.rrset.from_text_list(question.name, 0, "IN", question.rdtype, [address]))
    return response


def _soa(zone: str) -> dns.rrset.RRset:
    return dns.rrset.from_text(
        f"{zone}.", TTL_S, "IN", "SOA", f"ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 {TTL_S}"
    )


def answer(seed: int, query: dns.message.Message) -> dns.message.Message:
    """The authoritative response to `query` from the seeded world."""
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    if query.opcode() != dns.opcode.QUERY:
        response.set_rcode(dns.rcode.NOTIMP)
        return response
    if len(query.question) != 1:
        response.set_rcode(dns.rcode.FORMERR)
        return response
    question = query.question[0]
    if question.rdclass != dns.rdataclass.IN:
        response.set_rcode(dns.rcode.REFUSED)
        return response
    name = question.name.to_text(omit_final_dot=True).lower()
    hosts = zone_records(seed, name)
    zone = _zone_of(name)[1] if "." in name else name
    if hosts is None or name not in hosts:
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(_soa(zone))
        return response
    rdatas = hosts[name].get(dns.rdatatype.to_text(question.rdtype), [])
    if rdatas:
        response.answer.append(dns.rrset.from_text_list(question.name, TTL_S, "IN", question.rdtype, rdatas))
    else:
        response.authority.append(_soa(zone))  # NODATA (RFC 2308)
    return response


class _DnsProtocol(asyncio.DatagramProtocol):
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        for task in self._tasks:
            task.cancel()

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        task = asyncio.get_running_loop().create_task(self._reply(data, addr))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reply(self, data: bytes, addr: tuple) -> None:
        sim = self.sim
        sim.counters[f"{FAMILY}.queries"] += 1
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            sim.counters[f"{FAMILY}.malformed"] += 1
            return
        question = query.question[0] if query.question else None
        qname = question.name.to_text().lower() if question is not None else ""  # (an empty RRset is falsy)
        sim.record(FAMILY, name=qname, type=dns.rdatatype.to_text(question.rdtype) if question is not None else "")
        fault = await sim.fault(FAMILY, qname)
        if fault is not None and fault.status == 503:
            return  # down: no answer at all, as a dead server
        if fault is not None:
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.REFUSED if fault.status == 429 else dns.rcode.SERVFAIL)
        else:
            scripted = scripted_answer(sim, query)
            response = scripted if scripted is not None else answer(sim.config.seed, query)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(response.to_wire(want_shuffle=False), addr)  # keep the worst-first order


async def start_dns(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> tuple[asyncio.DatagramTransport, str]:
    """Serve DNS for `sim` on UDP in this event loop; returns the transport (``.close()`` it) and ``ip:port``."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _DnsProtocol(sim), local_addr=(host, port))
    bound_port = transport.get_extra_info("sockname")[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return transport, f"{shown}:{bound_port}"
