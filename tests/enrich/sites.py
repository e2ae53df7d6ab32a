"""Helpers for picking simulated sites in tests."""

from simulator.core import Simulator
from simulator.websites import domain_for_profile


def domain(sim: Simulator, profile: str) -> str:
    """A domain the simulator serves with `profile` under its current seed."""
    return domain_for_profile(sim.config.seed, profile)
