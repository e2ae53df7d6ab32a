"""Paths, ports and process helpers shared by the three services."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATE = REPO / ".services"  # gitignored; everything the services write lives here
HOST = "127.0.0.1"  # loopback only: tests never reach anything else


class ServiceError(RuntimeError):
    """A service could not be started or stopped; the message says why and what to look at."""


def port(name: str, default: int) -> int:
    """Port for a service, overridable as LEADSTREAM_SVC_<NAME>_PORT (lets two checkouts coexist)."""
    value = os.environ.get(f"LEADSTREAM_SVC_{name}_PORT", "")
    return int(value) if value.strip() else default


KAFKA_PORT = port("KAFKA", 19092)
KAFKA_CONTROLLER_PORT = port("KAFKA_CONTROLLER", 19093)
PG_PORT = port("PG", 15432)
REDIS_PORT = port("REDIS", 16379)


def port_open(p: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        socket.create_connection((host, p), timeout=timeout).close()
        return True
    except OSError:
        return False


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def pid_matches(pid: int | None, marker: str) -> bool:
    """True if `pid` is alive AND its command line contains `marker`.

    Checking the command line guards against a stale pidfile whose pid was
    reused by an unrelated process, which `down` must never kill.
    """
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return marker in cmdline and pid_alive(pid)


def pid_alive(pid: int | None) -> bool:
    """True if `pid` exists and is not a zombie (which keeps /proc/<pid> but no longer runs).

    Unlike pid_matches this does not read the command line, which is briefly
    empty right after exec, so it is the right check while a child starts up.
    """
    if not pid:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def stop_pid(pid: int, marker: str, timeout: float) -> None:
    """SIGTERM (graceful shutdown), then SIGKILL if it has not exited within `timeout`."""
    if not pid_matches(pid, marker):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_matches(pid, marker):
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if not pid_matches(pid, marker):
            return
        time.sleep(0.1)


def rss_mb(pid: int | None) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return f"{int(line.split()[1]) // 1024} MB"
    except (OSError, ValueError, IndexError):
        pass
    return "?"


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:]) or f"({path} is empty)"


def run(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a setup command; on failure raise ServiceError carrying its output."""
    result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise ServiceError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n{result.stdout}{result.stderr}")
    return result


def is_root() -> bool:
    return os.geteuid() == 0
