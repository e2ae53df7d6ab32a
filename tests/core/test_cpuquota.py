"""perf/cpuquota.py holds a real busy process to its quota: the scaling curve's per-worker limit is not a label."""

from __future__ import annotations

import subprocess
import sys

import pytest

from perf.cpuquota import CpuQuotas, CpuQuotaUnavailable
from tests.waiting import until

SPIN = "while True: pass"


def _quotas(cores: float) -> CpuQuotas:
    try:
        return CpuQuotas(cores, run_name="test-cpuquota")
    except CpuQuotaUnavailable as exc:  # a box without a writable CPU controller cannot run the scaling curve either
        pytest.skip(str(exc))


async def test_a_spinning_process_is_throttled_and_released() -> None:
    quotas = _quotas(0.05)
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        group = quotas.limit("spinner", spinner.pid)
        assert str(spinner.pid) in (group / "cgroup.procs").read_text().split()

        def throttled() -> bool:
            return quotas.throttling()["spinner"]["throttled_periods"] > 0

        # A process that never sleeps meets a 5 % quota within its first periods; an unlimited one never does.
        await until(throttled, timeout_s=30, what="the spinner to be throttled")
        stats = quotas.throttling()["spinner"]
        assert stats["periods"] >= stats["throttled_periods"] > 0
    finally:
        quotas.close()
        spinner.kill()
        spinner.wait()
    assert not group.exists() and not quotas.parent.exists()


def test_a_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="above 0 cores"):
        CpuQuotas(0)
