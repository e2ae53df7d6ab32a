"""PostgreSQL from Debian's package: a private primary under .services, plus the pieces around it.

The primary archives its WAL into .services/pg-archive, so a base backup plus the
archive can be restored to any later point in time (the backup drill), and a
streaming replica (pg_replica.py) can clone it. Chaos: restart_postgres().
"""

from __future__ import annotations

import glob
import hashlib
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .common import (
    HOST,
    PG_PORT,
    STATE,
    ServiceError,
    free_port,
    is_root,
    port_open,
    run,
    service_user,
    tail,
    wait_until,
)

ROLE = DATABASE = "leadstream"

# Written to <data>/leadstream.conf on every `up` and included from postgresql.conf, so an
# existing cluster picks up new settings too (archive_mode needs a restart: `up` says so).
PRIMARY_SETTINGS = """\
# Written by scripts/services on every `up`; edits are lost.
# A throwaway test cluster, so durability is traded for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
# Streaming replica and point-in-time recovery (issue 13).
wal_level = replica
max_wal_senders = 10
wal_keep_size = 256MB
archive_mode = on
archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'
"""
INCLUDE_LINE = "include_if_exists = 'leadstream.conf'  # added by scripts/services\n"
# The archive is trimmed (oldest segments first) when it grows past this; a restore needs
# the WAL since its base backup, so drills take a fresh base backup (see base_backup).
ARCHIVE_MAX_MB = 1024


def bin_dir() -> Path:
    """Newest server version installed by Debian's postgresql package."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise ServiceError("PostgreSQL server not found under /usr/lib/postgresql: run scripts/install-deps")
    return Path(found[-1]).parent


def _base() -> Path:
    """Where the clusters live: .services/postgres, unless the `postgres` user cannot reach it.

    As root, initdb/postgres must run as the unprivileged `postgres` user; a
    checkout under a private home (e.g. /root) is not traversable by it, and a
    long path would overflow the 107-byte Unix-socket limit. In those cases
    use a per-checkout folder in /tmp and leave a symlink at .services/postgres.
    """
    home = STATE / "postgres"
    if home.is_symlink():
        return home.resolve()
    fits = len(str(home / "replica" / "run" / f".s.PGSQL.{PG_PORT}.lock")) < 100
    if fits and (not is_root() or _postgres_can_traverse(STATE)):
        return home
    fallback = Path("/tmp") / f"leadstream-pg-{hashlib.sha1(str(STATE).encode()).hexdigest()[:10]}"
    fallback.mkdir(mode=0o755, exist_ok=True)
    STATE.mkdir(exist_ok=True)
    if not home.exists():
        home.symlink_to(fallback)
    return fallback


# Debian keeps runuser in /usr/sbin, which a root shell's PATH may lack (`env -i`, `su` without `-`).
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"


def _postgres_can_traverse(path: Path) -> bool:
    STATE.mkdir(exist_ok=True)
    return (
        subprocess.run(
            [RUNUSER, "-u", "postgres", "--", "test", "-x", str(path)], stdin=subprocess.DEVNULL, capture_output=True
        ).returncode
        == 0
    )


def owned_dir(path: Path) -> Path:
    """Create `path` (and parents below the base) owned by the user PostgreSQL runs as."""
    path.mkdir(parents=True, exist_ok=True)
    user = service_user()
    if user:
        shutil.chown(path, user, user)
    return path


def as_owner(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the `postgres` user when we are root."""
    user = service_user()
    return [RUNUSER, "-u", user, "--", *cmd] if user else cmd


def archive_dir() -> Path:
    """.services/pg-archive (a symlink into the PostgreSQL base when that lives in /tmp)."""
    base = _base()
    link = STATE / "pg-archive"
    if base == STATE / "postgres":
        return owned_dir(link)
    target = owned_dir(base / "archive")
    if not link.is_symlink():
        link.symlink_to(target)
    return target


def scratch_dir(name: str) -> Path:
    """A fresh, empty folder the `postgres` user may write (backups, restores, throwaway clusters)."""
    path = _base() / "scratch" / name
    if path.exists():
        shutil.rmtree(path)
    owned_dir(path.parent)
    return owned_dir(path)


@dataclass
class PgInstance:
    """One PostgreSQL server: a data dir, a socket/log dir and a loopback port."""

    data: Path
    rundir: Path
    port: int

    @property
    def log(self) -> Path:
        return self.rundir / "postgres.log"

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            as_owner([str(bin_dir() / "pg_ctl"), "-D", str(self.data), *args]),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )

    def exists(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def is_running(self) -> bool:
        return self.exists() and self.pg_ctl("status").returncode == 0

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def initdb(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        owned_dir(self.data.parent)
        owned_dir(self.data)
        # trust auth: loopback-only test cluster with no secrets; UTF8 with the C locale avoids locale packages.
        run(
            as_owner(
                [
                    str(bin_dir() / "initdb"),
                    "-D",
                    str(self.data),
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

    def start(self, timeout: float = 60) -> None:
        if port_open(self.port):
            raise ServiceError(
                f"port {self.port} is in use by another process: set LEADSTREAM_SVC_PG_PORT "
                "(or LEADSTREAM_SVC_PG_REPLICA_PORT) to a free port"
            )
        owned_dir(self.rundir)
        # Port, socket dir and listen address are passed per start so the port variables can change.
        result = self.pg_ctl(
            "-l",
            str(self.log),
            "-w",
            "-t",
            str(int(timeout)),
            "-o",
            f"-p {self.port} -k {self.rundir} -h {HOST}",
            "start",
        )
        if result.returncode != 0:
            raise ServiceError(
                f"PostgreSQL in {self.data} did not start:\n{result.stdout}{result.stderr}"
                f"\n--- {self.log}\n{tail(self.log)}"
            )

    def stop(self, mode: str = "fast", timeout: float = 60) -> bool:
        """mode: smart | fast (roll back sessions, checkpoint) | immediate (no checkpoint: like a crash)."""
        if not self.is_running():
            return False
        result = self.pg_ctl("-m", mode, "-w", "-t", str(int(timeout)), "stop")
        if result.returncode != 0:
            raise ServiceError(
                f"PostgreSQL in {self.data} did not stop:\n{result.stdout}{result.stderr}"
                f"\n--- {self.log}\n{tail(self.log)}"
            )
        return True

    def psql(self, sql: str, database: str = "postgres") -> str:
        cmd = [
            str(bin_dir() / "psql"),
            "-X",
            "-q",
            "-tA",
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ]
        return run(cmd, f"psql on port {self.port}: {sql!r}").stdout.strip()

    def row(self, sql: str, database: str = "postgres") -> list[str]:
        """One row, its columns as text ('' for NULL)."""
        return self.psql(sql, database).split("|")

    def url(self, database: str = DATABASE, user: str = ROLE) -> str:
        return f"postgresql://{user}@{HOST}:{self.port}/{database}"

    def ensure_role_and_db(self) -> None:
        if self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}'") != "1":
            self.psql(f"CREATE ROLE {ROLE} LOGIN SUPERUSER")
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") != "1":
            self.psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")

    def remove(self) -> None:
        """Stop (immediately) and delete this instance's files: for throwaway instances."""
        if self.is_running():
            self.stop("immediate")
        shutil.rmtree(self.data, ignore_errors=True)
        shutil.rmtree(self.rundir, ignore_errors=True)


def primary() -> PgInstance:
    base = _base()
    return PgInstance(base / "data", base / "run", PG_PORT)


def _write_settings(pg: PgInstance) -> None:
    conf = pg.data / "leadstream.conf"
    conf.write_text(PRIMARY_SETTINGS.format(archive=archive_dir()))
    main_conf = pg.data / "postgresql.conf"
    if INCLUDE_LINE not in main_conf.read_text():
        with open(main_conf, "a") as f:
            f.write("\n" + INCLUDE_LINE)


def is_running() -> bool:
    return primary().is_running()


def up() -> bool:
    """Start the primary (initialising it on first use); returns False if it was already running."""
    pg = primary()
    if pg.is_running():
        _write_settings(pg)
        pg.psql("SELECT pg_reload_conf()")
        pending = pg.psql("SELECT string_agg(name, ', ') FROM pg_settings WHERE pending_restart")
        if pending:
            print(f"postgres: settings {pending} need a restart: scripts/services restart postgres")
        pg.ensure_role_and_db()
        return False
    if not pg.exists():
        pg.initdb()
    _write_settings(pg)
    prune_archive()
    pg.start()
    pg.ensure_role_and_db()
    return True


def down() -> bool:
    return primary().stop("fast")


def wipe() -> None:
    """Drop the whole cluster and its WAL archive; the next `up` runs initdb again. Call only when stopped."""
    pg = primary()
    for path in (pg.data, pg.rundir, archive_dir(), _base() / "scratch"):
        shutil.rmtree(path, ignore_errors=True)


def status() -> tuple[bool, str]:
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return False, "not installed (run scripts/install-deps)"
    pg = primary()
    if not pg.is_running():
        return False, "stopped"
    return True, f"running (pid {pg.pid()}, {HOST}:{PG_PORT}, data {pg.data})"


def pids() -> list[int]:
    pg = primary()
    return [p for p in [pg.pid()] if p and pg.is_running()]


def url() -> str:
    return primary().url()


def env() -> dict[str, str]:
    return {"LEADSTREAM_DATABASE_URL": url()}


# ---- chaos ------------------------------------------------------------------------------------


def restart_postgres(pg: PgInstance | None = None, timeout: float = 60) -> float:
    """Stop hard (`immediate`: no checkpoint, sessions cut, crash recovery on start), start, wait ready.

    Returns the seconds it took. Defaults to this checkout's primary; tests that must
    not disturb shared services pass a throwaway instance (see throwaway()).
    """
    pg = pg or primary()
    began = time.monotonic()
    pg.stop("immediate", timeout)
    pg.start(timeout)
    wait_until(lambda: pg.psql("SELECT 1") == "1", timeout, f"PostgreSQL on port {pg.port} after restart")
    return time.monotonic() - began


def throwaway(name: str, port: int | None = None) -> PgInstance:
    """A fresh, running PostgreSQL in a scratch dir on a free port; call .remove() when done."""
    home = scratch_dir(name)
    pg = PgInstance(home / "data", home / "run", port or free_port())
    pg.initdb()
    pg.start()
    pg.ensure_role_and_db()
    return pg


# ---- WAL archive, base backups, point-in-time restore ---------------------------------------


def archive_now(pg: PgInstance | None = None, timeout: float = 60) -> str:
    """Close the current WAL segment and wait until the archiver has copied it; returns its name.

    A restore can only replay what is in the archive, so a drill calls this after
    the writes it wants to be able to recover.
    """
    pg = pg or primary()
    if pg.psql("SHOW archive_mode") != "on":
        raise ServiceError(f"archive_mode is off on port {pg.port}: scripts/services restart postgres")
    segment = pg.psql("SELECT pg_walfile_name(pg_switch_wal())")

    def archived() -> bool:
        last, failed = pg.row(
            "SELECT coalesce(last_archived_wal, ''), coalesce(last_failed_wal, '') FROM pg_stat_archiver"
        )
        if failed and failed > last:
            raise ServiceError(f"archiving {failed} failed; see {pg.log}")
        return last >= segment

    wait_until(archived, timeout, f"archiving WAL segment {segment}", log=pg.log)
    return segment


def prune_archive(max_mb: int = ARCHIVE_MAX_MB) -> int:
    """When the archive exceeds `max_mb`, delete its oldest files down to half of that; returns files removed.

    WAL file names sort in write order, so the oldest go first; a base backup older than
    what is left can no longer be rolled forward (drills take a fresh one).
    """
    files = sorted((p for p in archive_dir().iterdir() if p.is_file()), key=lambda p: p.name)
    total = sum(p.stat().st_size for p in files)
    if total <= max_mb * 1024 * 1024:
        return 0
    removed = 0
    for path in files:
        if total <= max_mb * 1024 * 1024 // 2:
            break
        total -= path.stat().st_size
        path.unlink()
        removed += 1
    return removed


@dataclass
class Backup:
    path: Path
    seconds: float
    size_mb: float


def base_backup(dest: Path, pg: PgInstance | None = None) -> Backup:
    """`pg_basebackup` (plain format, WAL streamed in) into `dest`, which must not exist yet.

    `dest`'s parent must be writable by the user PostgreSQL runs as: use scratch_dir().
    """
    pg = pg or primary()
    if dest.exists() and any(dest.iterdir()):
        raise ServiceError(f"base backup destination {dest} is not empty")
    began = time.monotonic()
    run(
        as_owner(
            [
                str(bin_dir() / "pg_basebackup"),
                "-h",
                HOST,
                "-p",
                str(pg.port),
                "-U",
                "postgres",
                "-D",
                str(dest),
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ]
        ),
        f"pg_basebackup into {dest}",
    )
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    return Backup(dest, time.monotonic() - began, size / 1024 / 1024)


@dataclass
class Restored:
    instance: PgInstance
    seconds: float  # from the copy of the backup to a promoted, writable server


def restore_to(target_time: datetime, datadir: Path, port: int, backup: Path, timeout: float = 600) -> Restored:
    """Restore `backup` plus the WAL archive into a new server at `datadir`, up to `target_time`.

    The new server replays archived WAL (restore_command) until the first commit after
    `target_time` (which must carry a time zone), promotes itself and starts on `port`.
    It never archives (archive_mode=off), so it cannot add a timeline to the primary's
    archive. Transactions committed at or before the target are kept.
    """
    if target_time.tzinfo is None:
        raise ValueError("target_time needs a time zone (e.g. datetime.now(timezone.utc))")
    if datadir.exists():
        raise ServiceError(f"restore target {datadir} exists; give a fresh path")
    began = time.monotonic()
    owned_dir(datadir.parent)
    user = service_user()
    run(["cp", "-a", str(backup), str(datadir)], f"copying base backup {backup}", user=user)
    for stale in ("standby.signal", "postmaster.pid", "postmaster.opts"):
        (datadir / stale).unlink(missing_ok=True)
    with open(datadir / "postgresql.auto.conf", "a") as conf:
        conf.write(f"""
# Point-in-time restore, written by svclib.postgres.restore_to
archive_mode = off
restore_command = 'cp {archive_dir()}/%f "%p"'
recovery_target_time = '{target_time.isoformat(sep=" ")}'
recovery_target_action = 'promote'
recovery_target_timeline = 'current'
""")
    (datadir / "recovery.signal").touch()
    if user:
        for path in (datadir / "postgresql.auto.conf", datadir / "recovery.signal"):
            shutil.chown(path, user, user)
    pg = PgInstance(datadir, datadir.parent / f"{datadir.name}.run", port)
    pg.start(timeout)
    wait_until(
        lambda: pg.psql("SELECT pg_is_in_recovery()") == "f",
        timeout,
        f"restored PostgreSQL on port {port} reaching {target_time} and promoting",
        alive=pg.is_running,
        log=pg.log,
    )
    return Restored(pg, time.monotonic() - began)
