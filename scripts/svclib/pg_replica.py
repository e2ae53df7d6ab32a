"""A streaming read replica of the test primary: `pg_basebackup -R -X stream`, on its own port.

It is cloned once and then kept: `up` only starts it again, unless the primary was
re-created since (another system identifier), in which case it is cloned afresh.
When streaming falls behind what the primary still keeps, it catches up from the
WAL archive (restore_command), so it needs no replication slot that could fill the disk.

Lag, three ways (see replication_lag()):
  on the replica:  pg_last_wal_replay_lsn() and now() - pg_last_xact_replay_timestamp()
  on the primary:  pg_stat_replication (sent/flush/replay LSN, replay_lag)
The time figure grows while the primary is idle (no new commit to replay): read it
together with the byte lag, which is 0 when the replica has everything.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass

from .common import HOST, PG_PORT, PG_REPLICA_PORT, ServiceError, run, service_user, wait_until
from .postgres import DATABASE, PgInstance, _base, archive_dir, as_owner, bin_dir, owned_dir, primary

APPLICATION_NAME = "leadstream_replica"


def replica() -> PgInstance:
    home = _base() / "replica"
    return PgInstance(home / "data", home / "run", PG_REPLICA_PORT)


def _system_id(pg: PgInstance) -> str:
    return pg.psql("SELECT system_identifier FROM pg_control_system()")


def _clone(rep: PgInstance, source_id: str) -> None:
    shutil.rmtree(rep.data.parent, ignore_errors=True)
    owned_dir(rep.data.parent)
    run(
        as_owner(
            [
                str(bin_dir() / "pg_basebackup"),
                "-h",
                HOST,
                "-p",
                str(PG_PORT),
                "-U",
                "postgres",
                "-D",
                str(rep.data),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ]
        ),
        "cloning the primary with pg_basebackup",
    )
    (rep.data.parent / "cloned-from").write_text(source_id)


def _write_settings(rep: PgInstance) -> None:
    """postgresql.auto.conf of the replica, rewritten on every start so port changes carry over."""
    conf = rep.data / "postgresql.auto.conf"
    conf.write_text(f"""# Written by scripts/services (pg-replica) on every start; edits are lost.
primary_conninfo = 'host={HOST} port={PG_PORT} user=postgres application_name={APPLICATION_NAME}'
restore_command = 'cp {archive_dir()}/%f "%p"'
hot_standby = on
hot_standby_feedback = on
archive_mode = off
""")
    user = service_user()
    if user:
        shutil.chown(conf, user, user)
    (rep.data / "standby.signal").touch()


def up() -> bool:
    rep = replica()
    if rep.is_running():
        return False
    source = primary()
    if not source.is_running():
        raise ServiceError("the replica needs the primary: scripts/services up postgres")
    source_id = _system_id(source)
    stamp = rep.data.parent / "cloned-from"
    if not rep.exists() or not stamp.exists() or stamp.read_text() != source_id:
        _clone(rep, source_id)
    _write_settings(rep)
    rep.start()
    wait_caught_up()
    return True


def down() -> bool:
    return replica().stop("fast")


def wipe() -> None:
    shutil.rmtree(replica().data.parent, ignore_errors=True)


def status() -> tuple[bool, str]:
    rep = replica()
    if not rep.is_running():
        return False, "stopped"
    try:
        lag = replication_lag()
        detail = f", replay lag {lag.replay_bytes} bytes"
    except ServiceError as exc:
        detail = f", lag unknown ({str(exc).splitlines()[0]})"
    return True, f"running (pid {rep.pid()}, {HOST}:{PG_REPLICA_PORT}{detail})"


def pids() -> list[int]:
    rep = replica()
    return [p for p in [rep.pid()] if p and rep.is_running()]


def url() -> str:
    return replica().url(DATABASE)


def env() -> dict[str, str]:
    return {"LEADSTREAM_REPLICA_DATABASE_URL": url()}


@dataclass
class Lag:
    primary_lsn: str
    replay_lsn: str  # pg_last_wal_replay_lsn() on the replica
    replay_bytes: int  # WAL the primary has written that the replica has not replayed yet
    replay_delay_seconds: float | None  # now() - pg_last_xact_replay_timestamp(); None before the first commit
    streaming: bool  # the primary lists the replica in pg_stat_replication as `streaming`
    primary_replay_lag_seconds: float | None  # pg_stat_replication.replay_lag (None when idle)


def replication_lag() -> Lag:
    source, rep = primary(), replica()
    replay_lsn, delay = rep.row(
        "SELECT pg_last_wal_replay_lsn(), extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
    )
    current = source.psql("SELECT pg_current_wal_lsn()")
    behind = source.psql(f"SELECT pg_wal_lsn_diff('{current}', '{replay_lsn}')::bigint") if replay_lsn else ""
    state, replay_lag = [
        *source.row(
            "SELECT state, coalesce(extract(epoch FROM replay_lag)::text, '') FROM pg_stat_replication "
            f"WHERE application_name = '{APPLICATION_NAME}'"
        ),
        "",
        "",
    ][:2]
    return Lag(
        primary_lsn=current,
        replay_lsn=replay_lsn,
        replay_bytes=max(int(behind or 0), 0),
        replay_delay_seconds=float(delay) if delay else None,
        streaming=state == "streaming",
        primary_replay_lag_seconds=float(replay_lag) if replay_lag else None,
    )


def wait_caught_up(timeout: float = 60) -> float:
    """Wait until the replica streams and has replayed everything the primary had written at the call.

    The target is the WAL *insert* position: the primary runs with synchronous_commit off, so a commit
    that has returned may still sit in WAL buffers, behind pg_current_wal_lsn() (CI saw that race)."""
    began = time.monotonic()
    source, rep = primary(), replica()
    target = source.psql("SELECT pg_current_wal_insert_lsn()")

    def caught_up() -> bool:
        replayed = rep.psql("SELECT pg_last_wal_replay_lsn()")
        streaming = source.psql(
            "SELECT count(*) FROM pg_stat_replication "
            f"WHERE application_name = '{APPLICATION_NAME}' AND state = 'streaming'"
        )
        return (
            bool(replayed)
            and streaming == "1"
            and source.psql(f"SELECT pg_wal_lsn_diff('{replayed}', '{target}') >= 0") == "t"
        )

    wait_until(
        caught_up,
        timeout,
        f"replica on port {PG_REPLICA_PORT} catching up to {target}",
        alive=rep.is_running,
        log=rep.log,
    )
    return time.monotonic() - began
