"""Backup and point-in-time restore of the system of record (`leadstream db backup|restore`).

A base backup (`pg_basebackup`, plain format, WAL streamed in) plus the primary's WAL archive
(`archive_command` copies every segment; docs/services.md) restore the database to any moment after
the backup: `restore` copies the backup into a fresh data directory, sets `restore_command`,
`recovery_target_time` and `recovery_target_action=promote`, starts the server and returns once it
has promoted. The restored server never archives (it must not add a timeline to the live archive).

What PostgreSQL does not hold, and where it comes back from, is in docs/scaling.md ("Restore").
PostgreSQL refuses to run as root: as root every server command runs as `run_as` (postgres).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit


def pg_bin_dir() -> Path:
    """The newest PostgreSQL server binaries Debian installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return Path(found[-1]).parent


def default_user() -> str | None:
    return "postgres" if os.geteuid() == 0 else None


# Debian keeps runuser in /usr/sbin, which a root shell's PATH may lack (`env -i`, `su` without `-`).
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"


def _as(user: str | None, cmd: list[str]) -> list[str]:
    return [RUNUSER, "-u", user, "--", *cmd] if user else cmd


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
    return result


@dataclass
class BackupResult:
    path: Path
    seconds: float
    bytes: int


@dataclass
class RestoreResult:
    datadir: Path
    port: int
    seconds: float  # copy of the backup + WAL replay + promotion: the database part of the RTO
    log: Path


def base_backup(
    dsn: str, dest: Path, *, superuser: str = "postgres", bin_dir: Path | None = None, run_as: str | None = None
) -> BackupResult:
    """`pg_basebackup` of the server `dsn` names into `dest` (created; must be empty), with a label file."""
    bin_dir = bin_dir or pg_bin_dir()
    parts = urlsplit(dsn)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    began = time.monotonic()
    started_at = datetime.now().astimezone()
    _run(
        _as(
            run_as,
            [
                str(bin_dir / "pg_basebackup"),
                "-h",
                parts.hostname or "127.0.0.1",
                "-p",
                str(parts.port or 5432),
                "-U",
                superuser,
                "-D",
                str(dest),
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
                "-l",
                f"leadstream {started_at.isoformat()}",
            ],
        ),
        "pg_basebackup",
    )
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    label = {"started_at": started_at.isoformat(), "source": f"{parts.hostname}:{parts.port}", "bytes": size}
    (dest.parent / f"{dest.name}.leadstream.json").write_text(json.dumps(label, indent=2) + "\n")
    return BackupResult(dest, time.monotonic() - began, size)


def restore(
    backup: Path,
    *,
    archive: Path,
    target: datetime,
    datadir: Path,
    port: int,
    bin_dir: Path | None = None,
    run_as: str | None = None,
    timeout_s: float = 900.0,
) -> RestoreResult:
    """A new server on `port` from `backup` plus `archive`, at `target` (time zone required); returns once promoted."""
    if target.tzinfo is None:
        raise ValueError("the target time needs a time zone, e.g. 2026-12-02T15:04:05+00:00")
    if datadir.exists():
        raise FileExistsError(f"{datadir} exists: restore into a fresh directory")
    bin_dir = bin_dir or pg_bin_dir()
    began = time.monotonic()
    _run(_as(run_as, ["cp", "-a", str(backup), str(datadir)]), f"copying {backup}")
    for stale in ("standby.signal", "postmaster.pid", "postmaster.opts"):
        (datadir / stale).unlink(missing_ok=True)
    with open(datadir / "postgresql.auto.conf", "a") as conf:
        conf.write(
            "\n# point-in-time restore (leadstream db restore)\n"
            "archive_mode = off\n"
            f"restore_command = 'cp {archive}/%f \"%p\"'\n"
            f"recovery_target_time = '{target.isoformat(sep=' ')}'\n"
            "recovery_target_action = 'promote'\n"
            "recovery_target_timeline = 'current'\n"
            "primary_conninfo = ''\n"
        )
    (datadir / "recovery.signal").touch()
    rundir = datadir.parent / f"{datadir.name}.run"
    rundir.mkdir(exist_ok=True)
    log = datadir.parent / f"{datadir.name}.log"
    log.touch()
    if run_as:
        for path in (datadir / "postgresql.auto.conf", datadir / "recovery.signal", rundir, log):
            shutil.chown(path, run_as, run_as)
    _run(
        _as(
            run_as,
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(datadir),
                "-l",
                str(log),
                "-w",
                "-t",
                str(int(timeout_s)),
                "-o",
                f"-p {port} -k {rundir} -h 127.0.0.1",
                "start",
            ],
        ),
        f"starting the restored server on {port}",
    )
    deadline = time.monotonic() + timeout_s
    while True:
        answer = subprocess.run(
            _as(run_as, [str(bin_dir / "psql"), "-X", "-Atq", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                         "-d", "postgres", "-c", "SELECT pg_is_in_recovery()"]),
            capture_output=True, text=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if answer.stdout.strip() == "f":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"the restored server did not promote within {timeout_s} s; see {log}")
        time.sleep(0.1)
    return RestoreResult(datadir, port, time.monotonic() - began, log)


def stop(datadir: Path, *, bin_dir: Path | None = None, run_as: str | None = None) -> None:
    bin_dir = bin_dir or pg_bin_dir()
    _run(_as(run_as, [str(bin_dir / "pg_ctl"), "-D", str(datadir), "-m", "fast", "-w", "stop"]), "pg_ctl stop")
