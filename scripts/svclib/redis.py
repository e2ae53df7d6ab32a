"""Redis from Debian's package: daemonized, no persistence, its own port. Chaos: restart_redis()."""

from __future__ import annotations

import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from .common import (
    HOST,
    REDIS_PORT,
    STATE,
    ServiceError,
    free_port,
    kill_pid,
    pid_matches,
    read_pid,
    require_free,
    rss_mb,
    run,
    stop_pid,
    tail,
    wait_ports_released,
    wait_until,
)

MARKER = "redis-server"


@dataclass
class RedisServer:
    home: Path
    port: int

    @property
    def pidfile(self) -> Path:
        return self.home / "redis.pid"

    @property
    def log(self) -> Path:
        return self.home / "redis.log"

    def ping(self, timeout: float = 1.0) -> bool:
        """RESP PING over a raw socket, so this works before the redis Python client is installed."""
        try:
            with socket.create_connection((HOST, self.port), timeout=timeout) as sock:
                sock.settimeout(timeout)
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def pid(self) -> int | None:
        pid = read_pid(self.pidfile)
        return pid if pid_matches(pid, MARKER) else None

    def start(self) -> None:
        server = shutil.which("redis-server")
        if not server:
            raise ServiceError("redis-server not found: run scripts/install-deps")
        require_free(self.port, variables="LEADSTREAM_SVC_REDIS_PORT")
        self.home.mkdir(parents=True, exist_ok=True)
        self.pidfile.unlink(missing_ok=True)
        # Cache/limits store for tests: no RDB snapshots, no AOF; daemonize so `up` returns.
        run(
            [
                server,
                "--bind",
                HOST,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.pidfile),
                "--logfile",
                str(self.log),
                "--dir",
                str(self.home),
            ],
            "starting redis-server",
        )
        try:
            wait_until(self.ping, 20, f"Redis PING on {HOST}:{self.port}", interval=0.05)
        except ServiceError as exc:
            raise ServiceError(f"{exc}\n--- {self.log}\n{tail(self.log)}") from exc

    def stop(self) -> bool:
        pid = self.pid()
        if pid:
            stop_pid(pid, MARKER, timeout=20)
        self.pidfile.unlink(missing_ok=True)
        return pid is not None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


SERVER = RedisServer(STATE / "redis", REDIS_PORT)


def up() -> bool:
    if SERVER.pid() and SERVER.ping():
        return False
    SERVER.start()
    return True


def down() -> bool:
    return SERVER.stop()


def wipe() -> None:
    """Remove the log and pidfile (Redis keeps no data on disk here). Call only when stopped."""
    shutil.rmtree(SERVER.home, ignore_errors=True)


def status() -> tuple[bool, str]:
    pid = SERVER.pid()
    if not pid:
        return False, "stopped"
    state = "running" if SERVER.ping() else "NOT ANSWERING"
    return True, f"{state} (pid {pid}, {HOST}:{REDIS_PORT}, RSS {rss_mb(pid)})"


def pids() -> list[int]:
    return [p for p in [SERVER.pid()] if p]


def url() -> str:
    return f"redis://{HOST}:{REDIS_PORT}/0"


def env() -> dict[str, str]:
    return {"LEADSTREAM_REDIS_URL": url()}


def restart_redis(server: RedisServer | None = None) -> float:
    """SIGKILL Redis (no shutdown, all keys lost: it keeps none on disk), start it, wait for PING.

    Returns the seconds it took. Defaults to this checkout's Redis; tests that must not
    disturb shared services pass a throwaway() server.
    """
    server = server or SERVER
    began = time.monotonic()
    pid = server.pid()
    if not pid:
        raise ServiceError(f"Redis on port {server.port} is not running")
    kill_pid(pid, MARKER)
    wait_ports_released(server.port, timeout=30, what=f"Redis restart on port {server.port}")
    server.start()
    return time.monotonic() - began


def throwaway(home: Path, port: int | None = None) -> RedisServer:
    """A running Redis in `home` on a free port; call .remove() when done."""
    server = RedisServer(home, port or free_port())
    server.start()
    return server
