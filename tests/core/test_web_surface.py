"""The worker's web surfaces, on a real worker: internal routes on loopback behind a bearer token
(probes open), public routes (unsubscribe, SendGrid webhook) alone on their own server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from leadstream.embedded import free_port
from stages.email.delivery import unsubscribe_token
from storage.db import create_pool, isolated_url
from storage.outbox import Outbox
from tests.core.test_start_path import DEADLINE_S, _start, _stop, _worker_env

pytestmark = pytest.mark.services

TOKEN = "internal-token-" + "x" * 32
SECRET = "unsubscribe-secret-" + "y" * 32


def _listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses with a socket listening on `port` (from /proc/net/tcp*)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                raw = bytes.fromhex(address)
                if width == 8:
                    found.add(".".join(str(b) for b in raw[::-1]))
                else:
                    words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
                    found.add(":".join(b"".join(words).hex()[i : i + 4] for i in range(0, 32, 4)))
    return found


async def _wait_for(url: str, log: Path, proc) -> None:
    deadline = time.monotonic() + DEADLINE_S
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            assert proc.poll() is None, f"the worker exited:\n{log.read_text()[-3000:]}"
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"{url} never answered\n{log.read_text()[-3000:]}"
                await asyncio.sleep(0.3)


async def test_internal_routes_need_the_token_and_public_routes_stand_alone(
    kafka_broker, database_url, unique, tmp_path
):
    isolated = await isolated_url(database_url, f"start_{unique}", os.environ.get("LEADSTREAM_DATABASE_ADMIN_URL"))
    internal, public = free_port(), free_port()
    env = _worker_env(
        kafka_broker,
        isolated,
        unique,
        tmp_path,
        LEADSTREAM_STAGES="email",
        LEADSTREAM_WEB_PORT=str(internal),
        LEADSTREAM_WEB_TOKEN=TOKEN,
        LEADSTREAM_PUBLIC_WEB_PORT=str(public),
        LEADSTREAM_PUBLIC_WEB_BIND="127.0.0.1",
        LEADSTREAM_EMAIL__UNSUBSCRIBE_SECRET=SECRET,
    )
    proc, log = _start(env, tmp_path)
    try:
        await _wait_for(f"http://127.0.0.1:{internal}/health", log, proc)
        await _wait_for(f"http://127.0.0.1:{public}/u/x", log, proc)
        assert _listening_addresses(internal) == {"127.0.0.1"}
        assert _listening_addresses(public) == {"127.0.0.1"}
        token = unsubscribe_token(SECRET, "owner@acmeplumbing.com", "ld_w1")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{internal}", timeout=5.0) as inside:
            assert (await inside.get("/health")).status_code == 200  # probes need no token
            assert (await inside.get("/ready")).status_code in (200, 503)
            for path in ("/metrics", "/router/", "/", "/table/dedupe-state/"):
                assert (await inside.get(path)).status_code == 401, path
                wrong = await inside.get(path, headers={"Authorization": "Bearer " + "z" * 47})
                assert wrong.status_code == 401, path
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            metrics = await inside.get("/metrics", headers=bearer)
            assert metrics.status_code == 200 and "python_info" in metrics.text
            assert (await inside.get(f"/u/{token}", headers=bearer)).status_code == 404  # not mounted inside
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{public}", timeout=5.0) as outside:
            for path in ("/metrics", "/health", "/ready", "/router/", "/table/dedupe-state/", "/"):
                assert (await outside.get(path)).status_code == 404, path
            assert (await outside.get(f"/u/{token}")).status_code == 200
            assert (await outside.post(f"/u/{token}", content="List-Unsubscribe=One-Click")).status_code == 200
    finally:
        _stop(proc)
    worker_pool = await create_pool(isolated, size=1)
    try:
        assert await Outbox(worker_pool).suppression_reason("owner@acmeplumbing.com") == "unsubscribe"
    finally:
        await worker_pool.close()


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"LEADSTREAM_WEB_BIND": "0.0.0.0"}, "LEADSTREAM_WEB_BIND=0.0.0.0 serves table views"),
        ({"LEADSTREAM_WEB_BIND": "10.1.2.3"}, "set LEADSTREAM_WEB_TOKEN"),
        ({"LEADSTREAM_WEB_TOKEN": "short"}, "LEADSTREAM_WEB_TOKEN has 5 characters"),
    ],
)
async def test_a_worker_refuses_to_expose_internal_routes_without_a_token(
    kafka_broker, database_url, unique, tmp_path, extra, says
):
    env = _worker_env(kafka_broker, database_url, unique, tmp_path, **extra)
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "leadstream", "worker"], env=env, capture_output=True, timeout=60
    )
    output = " ".join((done.stdout + done.stderr).decode().split())
    assert done.returncode == 2 and "refusing to start a worker" in output and says in output
