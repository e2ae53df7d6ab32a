"""PostgreSQL from Debian's package, a private cluster under .services on its own port."""

from __future__ import annotations

import glob
import hashlib
import shutil
import subprocess
from pathlib import Path

from .common import HOST, PG_PORT, REPO, STATE, ServiceError, is_root, port_open, run, tail

ROLE = DATABASE = "leadstream"
# Settings that only make sense for a throwaway test cluster: durability off for speed.
TEST_SETTINGS = """
# Added by scripts/services: a throwaway test cluster, so durability is traded for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
"""


def _bin_dir() -> Path:
    """Newest server version installed by Debian's postgresql package."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise ServiceError("PostgreSQL server not found under /usr/lib/postgresql: run scripts/install-deps")
    return Path(found[-1]).parent


def _base() -> Path:
    """Where the cluster lives: .services/postgres, unless the `postgres` user cannot reach it.

    As root, initdb/postgres must run as the unprivileged `postgres` user; a
    checkout under a private home (e.g. /root) is not traversable by it, and a
    long path would overflow the 107-byte Unix-socket limit. In those cases
    use a per-checkout folder in /tmp and leave a symlink at .services/postgres.
    """
    home = STATE / "postgres"
    if home.is_symlink():
        return home.resolve()
    fits = len(str(home / "run" / f".s.PGSQL.{PG_PORT}.lock")) < 100
    if fits and (not is_root() or _postgres_can_traverse(STATE)):
        return home
    fallback = Path("/tmp") / f"leadstream-pg-{hashlib.sha1(str(REPO).encode()).hexdigest()[:10]}"
    fallback.mkdir(mode=0o755, exist_ok=True)
    STATE.mkdir(exist_ok=True)
    if not home.exists():
        home.symlink_to(fallback)
    return fallback


def _postgres_can_traverse(path: Path) -> bool:
    STATE.mkdir(exist_ok=True)
    return (
        subprocess.run(
            ["runuser", "-u", "postgres", "--", "test", "-x", str(path)], stdin=subprocess.DEVNULL, capture_output=True
        ).returncode
        == 0
    )


def _as_owner(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the `postgres` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if is_root() else cmd


def _paths() -> tuple[Path, Path, Path]:
    base = _base()
    return base / "data", base / "run", base / "run" / "postgres.log"


def _initdb(data: Path, rundir: Path) -> None:
    if (data / "PG_VERSION").exists():
        return
    shutil.rmtree(data, ignore_errors=True)
    for d in (data, rundir):
        d.mkdir(parents=True, exist_ok=True)
    if is_root():
        shutil.chown(data.parent, "postgres", "postgres")
        for d in (data, rundir):
            shutil.chown(d, "postgres", "postgres")
    # trust auth: loopback-only test cluster with no secrets; UTF8 with the C locale avoids locale packages.
    run(
        _as_owner(
            [
                str(_bin_dir() / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]
        ),
        "initdb",
    )
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(TEST_SETTINGS)


def _pg_ctl(*args: str, data: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        _as_owner([str(_bin_dir() / "pg_ctl"), "-D", str(data), *args]),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )


def is_running() -> bool:
    data, _, _ = _paths()
    return (data / "PG_VERSION").exists() and _pg_ctl("status", data=data).returncode == 0


def up() -> bool:
    """Start the cluster (initialising it on first use); returns False if it was already running."""
    data, rundir, log = _paths()
    if is_running():
        _ensure_role_and_db()
        return False
    if port_open(PG_PORT):
        raise ServiceError(f"port {PG_PORT} is in use by another process: set LEADSTREAM_SVC_PG_PORT to a free port")
    _initdb(data, rundir)
    # Port, socket dir and listen address are passed per start so LEADSTREAM_SVC_PG_PORT can change.
    result = _pg_ctl("-l", str(log), "-w", "-t", "60", "-o", f"-p {PG_PORT} -k {rundir} -h {HOST}", "start", data=data)
    if result.returncode != 0:
        raise ServiceError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n--- {log}\n{tail(log)}")
    _ensure_role_and_db()
    return True


def _psql(sql: str, database: str = "postgres") -> str:
    cmd = [
        str(_bin_dir() / "psql"),
        "-X",
        "-q",
        "-tA",
        "-h",
        HOST,
        "-p",
        str(PG_PORT),
        "-U",
        "postgres",
        "-d",
        database,
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
    ]
    return run(cmd, f"psql {sql!r}").stdout.strip()


def _ensure_role_and_db() -> None:
    if _psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}'") != "1":
        _psql(f"CREATE ROLE {ROLE} LOGIN SUPERUSER")
    if _psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") != "1":
        _psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")


def down() -> bool:
    if not is_running():
        return False
    data, _, log = _paths()
    result = _pg_ctl("-m", "fast", "-w", "-t", "60", "stop", data=data)
    if result.returncode != 0:
        raise ServiceError(f"PostgreSQL did not stop:\n{result.stdout}{result.stderr}\n--- {log}\n{tail(log)}")
    return True


def wipe() -> None:
    """Drop the whole cluster; the next `up` runs initdb again. Call only when stopped."""
    data, rundir, _ = _paths()
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(rundir, ignore_errors=True)


def status() -> tuple[bool, str]:
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return False, "not installed (run scripts/install-deps)"
    if not is_running():
        return False, "stopped"
    data, _, _ = _paths()
    pid = (data / "postmaster.pid").read_text().split()[0]
    return True, f"running (pid {pid}, {HOST}:{PG_PORT}, data {data})"


def url() -> str:
    return f"postgresql://{ROLE}@{HOST}:{PG_PORT}/{DATABASE}"
