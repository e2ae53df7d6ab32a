"""PgBouncer (Debian, 1.18) in transaction pooling mode in front of the test primary.

- A wildcard `*` database: every database on the server is reachable as
  postgresql://leadstream@127.0.0.1:<PGBOUNCER_PORT>/<dbname>. Under transaction
  pooling a session's SET / search_path startup parameter does not stick (the next
  transaction may run on another server connection), so tests isolate by database.
- Auth: `trust` on loopback, like the test primary behind it. PgBouncer still only
  admits users listed in its auth_file, which lists `leadstream` and `postgres`.
- PgBouncer 1.18 has no protocol-level prepared statements in transaction mode:
  asyncpg must use statement_cache_size=0 (and no explicit prepare()).
- Admin console: `psql -h 127.0.0.1 -p <port> -U postgres pgbouncer` (SHOW POOLS, KILL db).
  A database with pooled server connections cannot be dropped until they close:
  use `DROP DATABASE ... WITH (FORCE)` on the primary, or release_database().
"""

from __future__ import annotations

import shutil

from .common import HOST, PG_PORT, PGBOUNCER_PORT, Daemon, ServiceError, require_free, run, service_user, wait_until
from .postgres import DATABASE, ROLE, _base, bin_dir, owned_dir, primary

BINARY = "/usr/sbin/pgbouncer"
USERS = (ROLE, "postgres")


def _daemon() -> Daemon:
    home = _base() / "pgbouncer"
    return Daemon("pgbouncer", home, str(home / "pgbouncer.ini"))


def _write_config(d: Daemon) -> None:
    owned_dir(d.home)
    (d.home / "userlist.txt").write_text("".join(f'"{u}" ""\n' for u in USERS))
    (d.home / "pgbouncer.ini").write_text(f"""; Written by scripts/services on every start; edits are lost.
[databases]
* = host={HOST} port={PG_PORT}

[pgbouncer]
listen_addr = {HOST}
listen_port = {PGBOUNCER_PORT}
unix_socket_dir =
auth_type = trust
auth_file = {d.home / "userlist.txt"}
pool_mode = transaction
; Many short-lived test databases: small pools that close when idle, and a cap per user
; so PgBouncer never takes more than 80 of the primary's 200 connections.
max_client_conn = 1000
default_pool_size = 10
max_user_connections = 80
server_idle_timeout = 20
autodb_idle_timeout = 30
server_lifetime = 600
admin_users = postgres
stats_users = {ROLE}
; JDBC/psycopg send it; harmless to ignore.
ignore_startup_parameters = extra_float_digits
; no logfile: in the foreground it logs to stderr, which goes to {d.log}
logfile =
; no pidfile of its own: it runs in the foreground under scripts/services' pidfile
pidfile =
log_connections = 0
log_disconnections = 0
""")
    user = service_user()
    if user:
        for name in ("userlist.txt", "pgbouncer.ini"):
            shutil.chown(d.home / name, user, user)


def _answers() -> bool:
    """A query through the pooler reaches the primary (also proves the wildcard database)."""
    return admin_psql("SELECT 1", database=DATABASE, user=ROLE) == "1"


def admin_psql(sql: str, database: str = "pgbouncer", user: str = "postgres") -> str:
    """psql through PgBouncer (simple query protocol); database `pgbouncer` is the admin console."""
    return run(
        [
            str(bin_dir() / "psql"),
            "-X",
            "-q",
            "-tA",
            "-h",
            HOST,
            "-p",
            str(PGBOUNCER_PORT),
            "-U",
            user,
            "-d",
            database,
            "-c",
            sql,
        ],
        f"psql via PgBouncer: {sql!r}",
    ).stdout.strip()


def release_database(name: str) -> None:
    """Close PgBouncer's server connections to database `name` (so it can be dropped)."""
    admin_psql(f"KILL {name}")
    admin_psql(f"RESUME {name}")


def up() -> bool:
    d = _daemon()
    if d.pid():
        return False
    if not shutil.which(BINARY):
        raise ServiceError(f"{BINARY} not found: run scripts/install-deps (Debian package pgbouncer)")
    if not primary().is_running():
        raise ServiceError("PgBouncer needs the primary: scripts/services up postgres")
    require_free(PGBOUNCER_PORT, variables="LEADSTREAM_SVC_PGBOUNCER_PORT")
    _write_config(d)
    # PgBouncer refuses to run as root: as root it runs as `postgres`, in the foreground under our pidfile.
    d.spawn([BINARY, str(d.home / "pgbouncer.ini")], user=service_user())
    wait_until(_answers, 30, f"PgBouncer on {HOST}:{PGBOUNCER_PORT}", alive=d.alive, log=d.log)
    return True


def down() -> bool:
    return _daemon().stop()


def wipe() -> None:
    shutil.rmtree(_daemon().home, ignore_errors=True)


def status() -> tuple[bool, str]:
    return _daemon().status(f"{HOST}:{PGBOUNCER_PORT} -> {PG_PORT}, pool_mode=transaction")


def pids() -> list[int]:
    return [p for p in [_daemon().pid()] if p]


def url(database: str = DATABASE) -> str:
    return f"postgresql://{ROLE}@{HOST}:{PGBOUNCER_PORT}/{database}"


def env() -> dict[str, str]:
    return {"LEADSTREAM_PGBOUNCER_URL": url()}
