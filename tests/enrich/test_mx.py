"""MX checks against the simulator's fixture DNS server: verdicts, caching, coalescing, Redis sharing."""

from __future__ import annotations

import asyncio
import socket

import dns.asyncquery
import dns.message
import dns.rcode
import orjson
import pytest
import redis.asyncio as aioredis

from providers.clock import ManualClock
from providers.dns import make_resolver, parse_nameserver
from providers.mx import IMPLICIT_MX, MxChecker
from simulator.dns import domain_with_mail_setup, mail_setup


@pytest.fixture
def dns_sim(fresh_sim, sim_dns):
    """(nameserver "127.0.0.1:PORT", Simulator) with fresh counters and faults."""
    _, sim = fresh_sim
    return sim_dns, sim


@pytest.fixture
async def checker(dns_sim):
    nameserver, _ = dns_sim
    mx = MxChecker([nameserver], timeout_s=1.0)
    yield mx
    await mx.aclose()


def _dead_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_mx_records_sorted_by_preference(checker, dns_sim):
    _, sim = dns_sim
    single, backup = domain_with_mail_setup(sim.config.seed, "mx"), domain_with_mail_setup(sim.config.seed, "mx_backup")
    check = await checker.check(f"info@{single}")
    assert (check.ok, check.reason, check.mx_hosts, check.syntax_ok) == (True, None, [f"mail.{single}"], True)
    check = await checker.check(f"office@{backup}")  # the server sends the backup (20) first
    assert check.ok is True and check.mx_hosts == [f"mail.{backup}", f"backup-mx.{backup}"]
    assert [(r["name"], r["type"]) for r in sim.records["dns"]] == [(f"{single}.", "MX"), (f"{backup}.", "MX")]


async def test_null_mx_refused(checker, dns_sim):
    _, sim = dns_sim
    check = await checker.check(f"info@{domain_with_mail_setup(sim.config.seed, 'null_mx')}")
    assert (check.ok, check.reason, check.mx_hosts) == (False, "domain accepts no mail (null MX)", [])
    assert (await checker.check("someone@example.com")).ok is False  # as on the internet


async def test_a_record_is_the_implicit_mx(checker, dns_sim):
    _, sim = dns_sim
    domain = domain_with_mail_setup(sim.config.seed, "a_only")
    check = await checker.check(f"hello@{domain}")
    assert (check.ok, check.reason, check.mx_hosts) == (True, IMPLICIT_MX, [domain])
    assert [r["type"] for r in sim.records["dns"]] == ["MX", "A"]


async def test_nonexistent_domain_refused(checker, dns_sim):
    _, sim = dns_sim
    check = await checker.check(f"info@{domain_with_mail_setup(sim.config.seed, 'nxdomain')}")
    assert (check.ok, check.reason, check.syntax_ok) == (False, "domain does not exist", True)


@pytest.mark.parametrize("address", ["not-an-email", "a@@b.com", "joe@", "x@shop.invalid", "x@a..com"])
async def test_bad_syntax_refused_without_dns(checker, dns_sim, address):
    _, sim = dns_sim
    check = await checker.check(address)
    assert (check.ok, check.syntax_ok, check.email, check.mx_hosts) == (False, False, address, [])
    assert check.reason
    assert sim.counters["dns.queries"] == 0


async def test_address_is_normalized(checker, dns_sim):
    _, sim = dns_sim
    domain = domain_with_mail_setup(sim.config.seed, "mx")
    check = await checker.check(f"  Info@{domain.upper()}")
    assert check.email == f"info@{domain}" and check.ok is True


async def test_dns_down_gives_unknown_within_the_timeout_and_is_not_cached(dns_sim):
    nameserver, sim = dns_sim
    domain = domain_with_mail_setup(sim.config.seed, "mx")
    sim.config.update({"dns": {"down": True}})
    mx = MxChecker([nameserver], timeout_s=0.5)
    try:
        check = await asyncio.wait_for(mx.check(f"info@{domain}"), timeout=10)  # a bound for a hang, not a measure
        assert (check.ok, check.reason, check.syntax_ok) == (None, "DNS timeout", True)  # dnspython's lifetime ran out
        assert sim.counters["dns.queries"] >= 1
        sim.config.update({"dns": {"down": False}})
        assert (await mx.check(f"info@{domain}")).ok is True  # the unknown verdict was not kept
    finally:
        await mx.aclose()


async def test_servfail_gives_unknown(checker, dns_sim):
    _, sim = dns_sim
    sim.config.update({"dns": {"error_rate": 1.0}})
    check = await checker.check(f"info@{domain_with_mail_setup(sim.config.seed, 'mx')}")
    assert check.ok is None and "SERVFAIL" in check.reason


async def test_cache_hits_do_not_query_again(dns_sim):
    nameserver, sim = dns_sim
    good, bad = domain_with_mail_setup(sim.config.seed, "mx"), domain_with_mail_setup(sim.config.seed, "null_mx")
    clock = ManualClock()
    mx = MxChecker([nameserver], timeout_s=1.0, cache_ttl_s=60, negative_ttl_s=0.2, clock=clock)
    try:
        for local in ("info", "sales", "mike"):
            assert (await mx.check(f"{local}@{good}")).ok is True
            assert (await mx.check(f"{local}@{bad}")).ok is False
        assert sim.counters["dns.queries"] == 2 and mx.lookups == 2
        clock.advance(0.3)  # the negative verdict expires first
        await mx.check(f"info@{good}")
        await mx.check(f"info@{bad}")
        assert sim.counters["dns.queries"] == 3
        assert [r["name"] for r in sim.records["dns"]] == [f"{good}.", f"{bad}.", f"{bad}."]
    finally:
        await mx.aclose()


async def test_concurrent_checks_of_one_domain_share_one_lookup(dns_sim):
    nameserver, sim = dns_sim
    sim.config.update({"dns": {"latency_median_ms": 50, "latency_p95_ms": 60}})
    single, a_only = domain_with_mail_setup(sim.config.seed, "mx"), domain_with_mail_setup(sim.config.seed, "a_only")
    mx = MxChecker([nameserver], timeout_s=2.0)
    try:
        checks = await asyncio.gather(*(mx.check(f"user{n}@{d}") for n in range(20) for d in (single, a_only)))
    finally:
        await mx.aclose()
    assert {(c.ok, tuple(c.mx_hosts)) for c in checks} == {(True, (f"mail.{single}",)), (True, (a_only,))}
    assert mx.lookups == 2 and sim.counters["dns.queries"] == 3  # MX for both, then A for the A-only domain


async def test_redis_cache_is_shared_between_checkers(dns_sim, redis_url, unique):
    nameserver, sim = dns_sim
    prefix = f"test:{unique}:mx"
    good, gone = domain_with_mail_setup(sim.config.seed, "mx"), domain_with_mail_setup(sim.config.seed, "nxdomain")
    first = MxChecker([nameserver], redis_url=redis_url, key_prefix=prefix, cache_ttl_s=60, negative_ttl_s=30)
    second = MxChecker([nameserver], redis_url=redis_url, key_prefix=prefix)
    store = aioredis.from_url(redis_url)
    try:
        verdicts = [await first.check(f"info@{good}"), await first.check(f"info@{gone}")]
        assert sim.counters["dns.queries"] == 2
        assert orjson.loads(await store.get(f"{prefix}:{good}")) == {
            "ok": True,
            "reason": None,
            "mx_hosts": [f"mail.{good}"],
        }
        assert 25_000 < await store.pttl(f"{prefix}:{gone}") <= 30_000
        shared = [await second.check(f"info@{good}"), await second.check(f"info@{gone}")]
        assert sim.counters["dns.queries"] == 2 and second.lookups == 0
        assert [(v.ok, v.reason, v.mx_hosts) for v in shared] == [(v.ok, v.reason, v.mx_hosts) for v in verdicts]
    finally:
        await store.delete(f"{prefix}:{good}", f"{prefix}:{gone}")
        await store.aclose()
        await first.aclose()
        await second.aclose()


async def test_configured_nameserver_is_the_one_asked(dns_sim):
    nameserver, sim = dns_sim
    domain = domain_with_mail_setup(sim.config.seed, "mx")
    nowhere = MxChecker([f"127.0.0.1:{_dead_udp_port()}"], timeout_s=0.3)
    fixture = MxChecker([nameserver], timeout_s=1.0)
    try:
        assert (await nowhere.check(f"info@{domain}")).ok is None
        assert sim.counters["dns.queries"] == 0
        assert (await fixture.check(f"info@{domain}")).mx_hosts == [f"mail.{domain}"]
        assert sim.counters["dns.queries"] == 1
    finally:
        await nowhere.aclose()
        await fixture.aclose()


def test_nameserver_entries():
    assert (parse_nameserver("10.0.0.2").address, parse_nameserver("10.0.0.2").port) == ("10.0.0.2", 53)
    assert (parse_nameserver("127.0.0.1:5353").address, parse_nameserver("127.0.0.1:5353").port) == ("127.0.0.1", 5353)
    assert (parse_nameserver("[::1]:5300").address, parse_nameserver("[::1]:5300").port) == ("::1", 5300)
    assert parse_nameserver("::1").address == "::1"
    with pytest.raises(ValueError):
        parse_nameserver("dns.example.net:53")
    resolver = make_resolver(["127.0.0.1:5353", "10.0.0.2"], 1.5)
    assert [(ns.address, ns.port) for ns in resolver.nameservers] == [("127.0.0.1", 5353), ("10.0.0.2", 53)]
    assert resolver.lifetime == 1.5


async def test_fixture_server_reserved_names_and_records(dns_sim):
    nameserver, sim = dns_sim
    host, port = nameserver.split(":")

    async def ask(name: str, rdtype: str) -> dns.message.Message:
        return await dns.asyncquery.udp(dns.message.make_query(name, rdtype), host, port=int(port), timeout=1)

    backup = domain_with_mail_setup(sim.config.seed, "mx_backup")
    assert mail_setup(sim.config.seed, backup) == "mx_backup"
    mail_host = await ask(f"mail.{backup}", "A")
    assert mail_host.rcode() == dns.rcode.NOERROR and mail_host.answer[0][0].address.startswith("203.0.113.")
    assert (await ask(f"nothing.{backup}", "A")).rcode() == dns.rcode.NXDOMAIN
    nodata = await ask(f"www.{backup}", "MX")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer and nodata.authority  # SOA for negative caching
    assert (await ask("shop.invalid", "MX")).rcode() == dns.rcode.NXDOMAIN
    assert (await ask("printer.local", "A")).rcode() == dns.rcode.NXDOMAIN
    assert (await ask("localhost", "A")).answer[0][0].address == "127.0.0.1"
    assert (await ask("gmail.com", "MX")).answer[0][0].exchange.to_text() == "mail.gmail.com."
    assert sim.counters["dns.queries"] == 7
