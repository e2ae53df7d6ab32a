"""Schemathesis against docs/openapi.json and a real `leadstream api` process: no 5xx, every status code
and content type documented, every answer matching its schema.

Not checked: "schema-valid request rejected" (a raw lead must also be locatable and a ZIP have five
digits: rules pydantic validators enforce beyond what JSON Schema says)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from leadstream.api.keys import create_key
from leadstream.embedded import free_port
from storage.api_keys import ApiKeys
from storage.db import create_pool, drop_isolated, isolated_url, migrate

pytestmark = [pytest.mark.services, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


async def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    database_url, admin_database_url, kafka_broker, redis_url, unique, tmp_path
):
    st = shutil.which("schemathesis") or shutil.which("st")
    assert st, "schemathesis is a test dependency (pip install -e '.[test]')"
    name = f"st_{unique}"
    url = await isolated_url(database_url, name, admin_database_url)
    pool = await create_pool(url, size=1)
    port = free_port()
    proc = None
    try:
        await migrate(pool)
        key, _ = await create_key(ApiKeys(pool), "schemathesis", ["admin"], rate="100000/second")
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LEADSTREAM_DATABASE_URL": url,
            "LEADSTREAM_KAFKA_BROKER": kafka_broker,
            "LEADSTREAM_REDIS_URL": redis_url,
            "LEADSTREAM_TOPIC_PREFIX": f"st-{unique}.",
            "LEADSTREAM_API__PORT": str(port),
            "LEADSTREAM_API__PUBLISH_TIMEOUT_S": "20",
        }
        env.pop("LEADSTREAM_REPLICA_DATABASE_URL", None)
        log = tmp_path / "api.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadstream", "api"],
            env=env,
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, log.read_text()
                await asyncio.sleep(0.1)
        result = await asyncio.to_thread(
            subprocess.run,
            [
                st,
                "run",
                str(ROOT / "docs" / "openapi.json"),
                "--url",
                f"http://127.0.0.1:{port}",
                "-H",
                f"X-API-Key: {key.token}",
                "-n",
                "25",
                "--phases",
                "examples,coverage,fuzzing",
                "-c",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--seed",
                "13",
                "--exclude-method",
                "DELETE",  # it could revoke the run's own key, found in GET /v1/api-keys (revocation: test_api.py)
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-6000:] + "\n--- api log\n" + log.read_text()[-3000:]
        assert "Authentication failed" not in result.stdout, result.stdout[-3000:]
        print(result.stdout[-1500:])
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        await pool.close()
        await drop_isolated(database_url, name, admin_database_url)
