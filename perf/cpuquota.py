"""A CPU limit per worker process, as a pod's `resources.limits.cpu` gives it: one cgroup per worker.

The scaling curve asks what one more worker instance adds. On a 2-core box that
also carries the broker, PostgreSQL, Redis, the simulator and the harness, an
unlimited worker either is bound by its work slots or takes the box near its
limit by itself (docs/performance.md, round 6), so the ratio measures the box.
With each worker held to the same CPU quota, a worker is one fixed-size
instance, as on Kubernetes, and the curve shows whether N instances carry N
times one's load while the shared services still have cores left.

Each worker gets its own cgroup under ``leadstream-bench/`` of the CPU
controller (cgroup v2 ``cpu.max``, or v1 ``cpu.cfs_quota_us``); threads and
children the process starts later stay in it. Needs a writable controller
(root, or a delegated subtree); `CpuQuotas` says which path it could not use.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PERIOD_US = 100_000
ROOT = Path("/sys/fs/cgroup")


class CpuQuotaUnavailable(RuntimeError):
    """No writable CPU controller: the limit cannot be applied."""


def _controller() -> tuple[Path, str]:
    """(the directory new cgroups go under, "v2" or "v1")."""
    controllers = ROOT / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return ROOT, "v2"
    if (ROOT / "cpu" / "cpu.cfs_quota_us").exists():
        return ROOT / "cpu", "v1"
    raise CpuQuotaUnavailable(f"no cgroup CPU controller under {ROOT} (cgroup v2 cpu.max or v1 cpu/cpu.cfs_quota_us)")


class CpuQuotas:
    """Creates one limited cgroup per named process and removes them on `close`."""

    def __init__(self, cores: float, run_name: str = "") -> None:
        if cores <= 0:
            raise ValueError(f"a CPU limit must be above 0 cores, got {cores}")
        self.cores = cores
        base, self.version = _controller()
        self.parent = base / "leadstream-bench" / (run_name or str(os.getpid()))
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CpuQuotaUnavailable(f"cannot create {self.parent}: {exc}") from exc
        if self.version == "v2":  # children of a v2 group get the cpu controller only when it is enabled here
            for level in (self.parent.parent, self.parent):
                with contextlib.suppress(OSError):
                    (level.parent / "cgroup.subtree_control").write_text("+cpu")
        self.groups: dict[str, Path] = {}

    def limit(self, name: str, pid: int) -> Path:
        """Put `pid` into its own cgroup held to `cores`; returns the cgroup's directory."""
        group = self.parent / name
        group.mkdir(exist_ok=True)
        quota = int(self.cores * PERIOD_US)
        try:
            if self.version == "v2":
                (self.parent / "cgroup.subtree_control").write_text("+cpu")
                (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            else:
                (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            (group / "cgroup.procs").write_text(str(pid))
        except OSError as exc:
            raise CpuQuotaUnavailable(f"cannot limit pid {pid} in {group}: {exc}") from exc
        self.groups[name] = group
        return group

    def throttling(self) -> dict[str, dict[str, float]]:
        """Per cgroup: periods run, periods throttled and seconds throttled so far (the quota's bite)."""
        out: dict[str, dict[str, float]] = {}
        for name, group in self.groups.items():
            with contextlib.suppress(OSError):
                stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines() if line.strip())
                throttled_s = (
                    int(stat.get("throttled_usec", 0)) / 1e6
                    if self.version == "v2"
                    else int(stat.get("throttled_time", 0)) / 1e9
                )
                out[name] = {
                    "periods": int(stat.get("nr_periods", 0)),
                    "throttled_periods": int(stat.get("nr_throttled", 0)),
                    "throttled_s": round(throttled_s, 2),
                }
        return out

    def close(self) -> None:
        """Move what is left to the root group and remove the cgroups (a dead worker's group empties itself)."""
        root_procs = self.parent.parent.parent / "cgroup.procs"
        for group in [*self.groups.values(), self.parent, self.parent.parent]:  # the shared one if empty
            with contextlib.suppress(OSError):
                for pid in (group / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        root_procs.write_text(pid)
            with contextlib.suppress(OSError):
                group.rmdir()
        self.groups.clear()
