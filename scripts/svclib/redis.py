"""Redis from Debian's package: daemonized, no persistence, its own port."""

from __future__ import annotations

import shutil
import socket
import time

from .common import HOST, REDIS_PORT, STATE, ServiceError, pid_matches, port_open, read_pid, rss_mb, run, stop_pid, tail

HOME = STATE / "redis"
PIDFILE = HOME / "redis.pid"
LOG = HOME / "redis.log"
MARKER = "redis-server"


def _ping(timeout: float = 1.0) -> bool:
    """RESP PING over a raw socket, so this works before the redis Python client is installed."""
    try:
        with socket.create_connection((HOST, REDIS_PORT), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def running_pid() -> int | None:
    pid = read_pid(PIDFILE)
    return pid if pid_matches(pid, MARKER) else None


def up() -> bool:
    if running_pid() and _ping():
        return False
    server = shutil.which("redis-server")
    if not server:
        raise ServiceError("redis-server not found: run scripts/install-deps")
    if port_open(REDIS_PORT):
        raise ServiceError(f"port {REDIS_PORT} is in use by another process: set LEADSTREAM_SVC_REDIS_PORT")
    HOME.mkdir(parents=True, exist_ok=True)
    PIDFILE.unlink(missing_ok=True)
    # Cache/limits store for tests: no RDB snapshots, no AOF; daemonize so `up` returns.
    run(
        [
            server,
            "--bind",
            HOST,
            "--port",
            str(REDIS_PORT),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            str(PIDFILE),
            "--logfile",
            str(LOG),
            "--dir",
            str(HOME),
        ],
        "starting redis-server",
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if _ping():
            return True
        time.sleep(0.1)
    raise ServiceError(f"Redis did not answer PING on {HOST}:{REDIS_PORT}.\n--- {LOG}\n{tail(LOG)}")


def down() -> bool:
    pid = running_pid()
    if pid:
        stop_pid(pid, MARKER, timeout=20)
    PIDFILE.unlink(missing_ok=True)
    return pid is not None


def wipe() -> None:
    """Remove the log and pidfile (Redis keeps no data on disk here). Call only when stopped."""
    shutil.rmtree(HOME, ignore_errors=True)


def status() -> tuple[bool, str]:
    pid = running_pid()
    if not pid:
        return False, "stopped"
    state = "running" if _ping() else "NOT ANSWERING"
    return True, f"{state} (pid {pid}, {HOST}:{REDIS_PORT}, RSS {rss_mb(pid)})"


def url() -> str:
    return f"redis://{HOST}:{REDIS_PORT}/0"
