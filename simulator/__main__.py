"""Run the provider simulator: ``python -m simulator --host 127.0.0.1 --port 0 --seed 7 [--config sim.yaml]``.

Prints ``SIMULATOR_URL=http://HOST:PORT`` once it listens, then (unless
``--dns-port -1``) ``SIMULATOR_DNS=HOST:PORT``, the UDP fixture DNS server for
MX checks, and serves until SIGTERM or SIGINT. The YAML config has the shape
``SimConfig.update`` takes: ``{seed: 3, web: {error_rate: 0.1}, dns: {down: true}}``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

import yaml

from simulator.app import start_simulator
from simulator.core import SimConfig, Simulator
from simulator.dns import start_dns


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--dns-port", type=int, default=0, help="UDP port of the fixture DNS server; 0 picks one, -1 disables"
    )
    parser.add_argument("--seed", type=int, default=None, help="world seed (overrides the config file's)")
    parser.add_argument("--config", type=Path, default=None, help="YAML fault/latency settings per API family")
    parser.add_argument(
        "--own-host",
        action="append",
        default=[],
        help="a hostname that means the simulator itself, not a proxied website (repeatable)",
    )
    return parser.parse_args(argv)


def load_config(path: Path | None, seed: int | None) -> SimConfig:
    config = SimConfig()
    if path is not None:
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise SystemExit(f"{path}: expected a mapping of settings")
        config.update(data)
    if seed is not None:
        config.seed = seed
    return config


async def serve(args: argparse.Namespace) -> None:
    sim = Simulator(load_config(args.config, args.seed))
    runner, base_url = await start_simulator(sim, args.host, args.port, own_hosts=args.own_host)
    dns_transport, dns_address = None, None
    if args.dns_port >= 0:
        dns_transport, dns_address = await start_dns(sim, args.host, args.dns_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"SIMULATOR_URL={base_url}", flush=True)
    if dns_address:
        print(f"SIMULATOR_DNS={dns_address}", flush=True)
    try:
        await stop.wait()
    finally:
        if dns_transport is not None:
            dns_transport.close()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
