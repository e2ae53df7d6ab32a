"""The simulator as the websites' HTTP proxy."""

from __future__ import annotations

import pytest


@pytest.fixture
def web_sim(fresh_sim):
    """(proxy_url, Simulator) with fresh counters and faults: the simulator app proxies to `websites.serve`."""
    return fresh_sim
