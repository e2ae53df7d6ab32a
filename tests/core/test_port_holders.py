"""Who holds a port, and a kill that leaves its port free before anything restarts on it.

CI once failed a Redis restart with "port in use by another process" and nothing more to go on;
these guard the two things that change: the message names the holder, and the restart waits for
the killed server's port instead of racing it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from svclib.common import (
    ServiceError,
    free_port,
    kill_pid,
    listeners,
    require_free,
    wait_ports_released,
)

MARKER = "leadstream-port-holder-test"


def test_a_held_port_names_its_holder_and_a_free_one_nothing():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen()
        port = sock.getsockname()[1]
        assert any(h.startswith(f"pid {os.getpid()} (") for h in listeners(port))
        with pytest.raises(ServiceError, match=rf"port {port} is in use by pid {os.getpid()} \("):
            require_free(port, variables="LEADSTREAM_SVC_X_PORT")
        with pytest.raises(ServiceError, match=rf"{port}: pid {os.getpid()} \("):
            wait_ports_released(port, timeout=0, what="a restart")
    assert listeners(port) == []
    require_free(port, variables="LEADSTREAM_SVC_X_PORT")
    wait_ports_released(port, timeout=0, what="a restart")


def test_kill_pid_returns_once_the_port_is_free():
    port = free_port()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, sys\n"
            "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
            "print('listening', flush=True); s.accept()",
            str(port),
            MARKER,
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == b"listening\n"
        assert any(h.startswith(f"pid {child.pid} (") for h in listeners(port))
        assert kill_pid(child.pid, "not-this-process") is False  # wrong marker: nothing killed
        assert child.poll() is None
        assert kill_pid(child.pid, MARKER) is True
        assert listeners(port) == []  # its socket closed before kill_pid returned
        wait_ports_released(port, timeout=0, what="a restart")
    finally:
        child.kill()
        child.wait()
