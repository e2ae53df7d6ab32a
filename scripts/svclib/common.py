"""Paths, ports and process helpers shared by the services."""

from __future__ import annotations

import json
import os
import pwd
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[2]
# Everything the services write lives here (gitignored). Tests that drive the services of
# another checkout (e.g. the shared ones in /work/main) get that checkout's state dir from
# its .services/env; scripts/services itself always uses its own checkout's (see there).
STATE = Path(os.environ.get("LEADSTREAM_SVC_STATE") or REPO / ".services")
HOST = "127.0.0.1"  # loopback only: tests never reach anything else

T = TypeVar("T")


class ServiceError(RuntimeError):
    """A service could not be started or stopped; the message says why and what to look at."""


def port(name: str, default: int) -> int:
    """Port for a service, overridable as LEADSTREAM_SVC_<NAME>_PORT (lets two checkouts coexist)."""
    value = os.environ.get(f"LEADSTREAM_SVC_{name}_PORT", "")
    return int(value) if value.strip() else default


# Every port any service uses, by the name of its LEADSTREAM_SVC_<NAME>_PORT variable.
# scripts/services writes them all into .services/env, so a test that sources it and
# imports svclib sees the same ports the services were started with.
PORTS: dict[str, int] = {}


def _declare(name: str, default: int) -> int:
    PORTS[name] = port(name, default)
    return PORTS[name]


KAFKA_PORT = _declare("KAFKA", 19092)
KAFKA_CONTROLLER_PORT = _declare("KAFKA_CONTROLLER", 19093)
PG_PORT = _declare("PG", 15432)
REDIS_PORT = _declare("REDIS", 16379)
# The 3-broker cluster: broker N (1..3) listens on base+N-1, its controller on controller base+N-1.
KAFKA_CLUSTER_PORT = _declare("KAFKA_CLUSTER", 19101)
KAFKA_CLUSTER_CONTROLLER_PORT = _declare("KAFKA_CLUSTER_CONTROLLER", 19111)
PGBOUNCER_PORT = _declare("PGBOUNCER", 16432)
PG_REPLICA_PORT = _declare("PG_REPLICA", 15433)
PROMETHEUS_PORT = _declare("PROMETHEUS", 19090)
ALERTMANAGER_PORT = _declare("ALERTMANAGER", 19097)
POSTGRES_EXPORTER_PORT = _declare("POSTGRES_EXPORTER", 19187)
REDIS_EXPORTER_PORT = _declare("REDIS_EXPORTER", 19121)
JAEGER_OTLP_GRPC_PORT = _declare("JAEGER_OTLP_GRPC", 14317)
JAEGER_OTLP_HTTP_PORT = _declare("JAEGER_OTLP_HTTP", 14318)
JAEGER_QUERY_PORT = _declare("JAEGER_QUERY", 16786)
JAEGER_QUERY_GRPC_PORT = _declare("JAEGER_QUERY_GRPC", 16785)


def port_open(p: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        socket.create_connection((host, p), timeout=timeout).close()
        return True
    except OSError:
        return False


# Throwaway ports come from [_PORT_FLOOR, ephemeral low): above every fixed service port (<= 21187 with
# the +2000 overrides two checkouts use), below the ports outgoing connections take.
_PORT_FLOOR = 22000
_PORT_PICKER = random.Random()
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on now, below the kernel's ephemeral range, never handed out twice.

    The app's twin is `leadstream.embedded.free_port`: the service scripts work without the app
    installed and never import it (tests/core/test_free_port.py checks both).

    Why not ``bind(0)``: that draws from the ephemeral range, which every outgoing connection draws from
    too, so by the time a service binds the port a client socket may own it (CI saw Jaeger's OTLP
    receiver lose its port that way), and two calls can return the same port.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(2000):
        candidate = _PORT_PICKER.randrange(_PORT_FLOOR, max(low, _PORT_FLOOR + 1000))
        if candidate in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((HOST, candidate))
            except OSError:
                continue
        _HANDED_OUT.add(candidate)
        return candidate
    raise RuntimeError("no free loopback port found below the ephemeral range")


def listeners(p: int) -> list[str]:
    """Who listens on TCP port `p`, as "pid N (command line)", read from /proc (no `ss` needed).

    Only processes this user may inspect are named; a socket whose owner is hidden shows as
    "an unnamed process". Used in error messages, so it never raises.
    """
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN.
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == p:
                inodes.add(cols[9])
    if not inodes:
        return []
    named: list[str] = []
    found: set[str] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        links = set()
        for fd in fds:
            try:
                links.add(os.readlink(fd))
            except OSError:  # closed since the listing (the listing's own fd, for this process)
                pass
        held = {i for i in inodes if f"socket:[{i}]" in links}
        if held:
            found |= held
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                cmd = "?"
            named.append(f"pid {proc.name} ({' '.join(cmd.split())[:120]})")
    return named + (["an unnamed process"] if inodes - found else [])


def require_free(*ports: int, variables: str) -> None:
    for p in ports:
        if port_open(p):
            holders = ", ".join(listeners(p)) or "another process"
            raise ServiceError(f"port {p} is in use by {holders}: set {variables} to free ports")


def wait_ports_released(*ports: int, timeout: float, what: str) -> None:
    """Wait until nothing listens on `ports` (a killed server's sockets close with its last thread).

    A restart must not race its own dead predecessor; if a port stays taken, the error names who has it.
    """
    try:
        wait_until(lambda: not any(port_open(p) for p in ports), timeout, what, interval=0.05)
    except ServiceError:
        holders = "; ".join(f"{p}: {', '.join(listeners(p)) or 'unknown'}" for p in ports if port_open(p))
        raise ServiceError(f"{what}: port still in use {timeout:.0f}s after the kill ({holders})") from None


def wait_until(
    check: Callable[[], T],
    timeout: float,
    what: str,
    interval: float = 0.2,
    alive: Callable[[], bool] | None = None,
    log: Path | None = None,
) -> T:
    """Poll `check` until it returns something truthy; raise ServiceError naming `what` at the deadline.

    Exceptions from `check` count as "not yet" (a service that is still starting refuses
    connections). `alive` lets a caller fail fast when the process it waits for has died.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = check()
            if result:
                return result
            last = result
        except Exception as exc:
            last = exc
        if alive is not None and not alive():
            raise ServiceError(f"{what}: the process exited." + (f"\n--- {log}\n{tail(log)}" if log else ""))
        if time.monotonic() >= deadline:
            raise ServiceError(
                f"{what}: not done within {timeout:.0f}s (last: {last!r})"
                + (f"\n--- {log}\n{tail(log)}" if log else "")
            )
        time.sleep(interval)


def http_json(
    url: str, data: bytes | None = None, timeout: float = 5.0, content_type: str = "application/json"
) -> object:
    """GET (or POST `data`) and decode a JSON answer; HTTP errors raise with the body in the message."""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise ServiceError(f"{url}: HTTP {exc.code}: {exc.read()[:500]!r}") from exc
    return json.loads(body) if body.strip() else None


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
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
        time.sleep(0.1)
    kill_pid(pid, marker)


def kill_pid(pid: int, marker: str, timeout: float = 30.0) -> bool:
    """SIGKILL and wait until every thread is gone (no graceful shutdown: the chaos primitive).

    False if `pid` is not a live `marker` process (nothing to kill). Raises if it outlives the
    deadline: a caller that goes on to reuse its ports would otherwise fail later, less clearly.
    """
    if not pid_matches(pid, marker):
        return False
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while not pid_exited(pid):
        if time.monotonic() >= deadline:
            raise ServiceError(f"pid {pid} ({marker}) still running {timeout:.0f}s after SIGKILL")
        time.sleep(0.05)
    return True


def pid_exited(pid: int) -> bool:
    """True once all threads of `pid` have exited, so its sockets and files are released.

    A multi-threaded process (a JVM) shows its main thread as a zombie while the other
    threads are still tearing down: `pid_alive` is already False then, this is not.
    """
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return True
    return len(tasks) <= 1 and not pid_alive(pid)


def rss_kb(pid: int | None) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def rss_mb(pid: int | None) -> str:
    kb = rss_kb(pid)
    return "?" if kb is None else f"{kb // 1024} MB"


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


def service_user() -> str | None:
    """The unprivileged user that runs PostgreSQL and PgBouncer when we are root (both refuse root)."""
    if not is_root():
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServiceError("running as root but there is no `postgres` user: install postgresql") from exc
    return "postgres"


class Daemon:
    """One long-running child process: a pidfile, a log, and a marker that proves the pid is ours.

    Launched in its own session so it outlives the shell that ran `scripts/services up`;
    stopped by pid (never by name), so other checkouts' instances are never touched.
    """

    def __init__(self, name: str, home: Path, marker: str):
        self.name, self.home, self.marker = name, home, marker
        self.pidfile = home / f"{name}.pid"
        self.log = home / f"{name}.log"

    def pid(self) -> int | None:
        pid = read_pid(self.pidfile)
        return pid if pid_matches(pid, self.marker) else None

    def spawn(
        self, argv: list[str], env: dict[str, str] | None = None, user: str | None = None, cwd: Path | None = None
    ) -> int:
        self.home.mkdir(parents=True, exist_ok=True)
        self.pidfile.unlink(missing_ok=True)
        with open(self.log, "ab") as out:
            proc = subprocess.Popen(
                argv,
                cwd=cwd or self.home,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
            )
        self.pidfile.write_text(str(proc.pid))
        return proc.pid

    def alive(self) -> bool:
        return pid_alive(read_pid(self.pidfile))

    def stop(self, timeout: float = 20.0) -> bool:
        pid = self.pid()
        if pid:
            stop_pid(pid, self.marker, timeout)
        self.pidfile.unlink(missing_ok=True)
        return pid is not None

    def kill(self) -> bool:
        """SIGKILL, no shutdown hooks; the pidfile stays so status shows what was there."""
        pid = self.pid()
        return bool(pid) and kill_pid(pid, self.marker)

    def status(self, where: str) -> tuple[bool, str]:
        pid = self.pid()
        if not pid:
            return False, "stopped"
        return True, f"running (pid {pid}, {where}, RSS {rss_mb(pid)})"


def pss_kb(pid: int) -> int:
    """Proportional set size of `pid` and all its descendants, in kB.

    PSS splits shared pages (PostgreSQL's shared buffers, the JVM's mapped jars) among
    the processes that map them, so summing it over services does not count them twice.
    """
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (OSError, ValueError):
            continue
    return total
