"""Lay out a runnable Prometheus config directory from ``ops/prometheus``.

``prometheus.yml`` reads its targets from ``targets/<job>*.json`` (file_sd), so a
script that starts workers only writes target files; Prometheus picks up new and
changed files without a restart. Usage from a services script::

    from ops.promconfig import render_config_dir, write_targets
    config = render_config_dir(".services/prometheus", {"leadstream-main": ["127.0.0.1:6066"]})
    write_targets(config.parent, "leadstream-main", ["127.0.0.1:6070"], name="worker2")
    # prometheus --config.file=<config> --web.listen-address=127.0.0.1:<port> --storage.tsdb.path=...
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent / "prometheus"
JOBS = (
    "leadstream-main",
    "leadstream-mockup",
    "leadstream-lag-exporter",
    "postgres",
    "redis",
    "prometheus",
    "alertmanager",
)
_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


def write_targets(
    config_dir: str | Path,
    job: str,
    addresses: list[str],
    *,
    name: str | None = None,
    labels: dict[str, str] | None = None,
) -> Path:
    """Write ``targets/<job>[-<name>].json`` (atomically: Prometheus may be reading it)."""
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; prometheus.yml scrapes {', '.join(JOBS)}")
    if name is not None and not _SAFE.match(name):
        raise ValueError(f"target file name {name!r} must match {_SAFE.pattern}")
    target_dir = Path(config_dir) / "targets"
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / (f"{job}-{name}.json" if name else f"{job}.json")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps([{"targets": list(addresses), "labels": dict(labels or {})}], indent=2) + "\n")
    tmp.replace(path)
    return path


def render_config_dir(dest: str | Path, targets: dict[str, list[str]]) -> Path:
    """Copy prometheus.yml and the rules into `dest`, write the given targets; return the config path.

    Jobs not named in `targets` get an empty target list, so Prometheus scrapes
    only what this run started (and `absent()`-based alerts see the gaps).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("prometheus.yml", "alerts.yml"):
        shutil.copyfile(SOURCE_DIR / name, dest / name)
    for job in JOBS:
        write_targets(dest, job, targets.get(job, []))
    unknown = sorted(set(targets) - set(JOBS))
    if unknown:
        raise ValueError(f"unknown jobs {unknown}; prometheus.yml scrapes {', '.join(JOBS)}")
    return dest / "prometheus.yml"
