"""Throwaway ports: distinct, and outside the range outgoing connections take (CI lost Jaeger's OTLP port
to a port `bind(0)` had handed out twice)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from leadstream.embedded import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from svclib.common import free_port as service_free_port


def ephemeral_low() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_ports_are_distinct_bindable_and_below_the_ephemeral_range():
    for pick in (free_port, service_free_port):
        ports = [pick() for _ in range(300)]
        assert len(set(ports)) == len(ports)
        assert all(22000 <= p < max(ephemeral_low(), 23000) for p in ports)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", ports[-1]))  # free when handed out
