"""A restarted dynamic member leaves the group for its killed predecessor (`streams.membership`).

Against the real broker: a consumer process killed with SIGKILL stays in its group until its session times
out; `leave_for_predecessor` drops it at once. A worker records its member id at each assignment, and after
a ``kill -9`` its next start leaves the group for that id before it joins.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from leadstream.embedded import free_port
from streams.admin import bootstrap_servers
from streams.membership import MemberFile, leave_for_predecessor
from tests.workers import worker_env

DEADLINE_S = 120.0


def test_member_file_keeps_the_last_id_per_group(tmp_path):
    first, other = MemberFile(tmp_path / "data", "app-1"), MemberFile(tmp_path / "data", "app/2")
    assert first.read() is None  # no data dir yet: nothing to leave for
    first.write("member-a")
    first.write("member-b")
    other.write("member-c")
    assert MemberFile(tmp_path / "data", "app-1").read() == "member-b"
    assert MemberFile(tmp_path / "data", "app/2").read() == "member-c"
    assert other.path.parent == tmp_path / "data"  # a group id is never a path
    first.clear()
    assert first.read() is None


def test_member_file_never_stops_the_worker(tmp_path):
    (tmp_path / "file").write_text("")
    blocked = MemberFile(tmp_path / "file", "app")  # its directory is a file: cannot be written or read
    blocked.write("member-a")
    assert blocked.read() is None


async def test_leave_for_predecessor_with_no_broker_reports_and_returns():
    outcome = await leave_for_predecessor(f"kafka://127.0.0.1:{free_port()}", "group", "member", timeout_s=2.0)
    assert outcome != "left"


CONSUMER = """
import asyncio, sys
from aiokafka import AIOKafkaConsumer
async def main():
    consumer = AIOKafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], group_id=sys.argv[3],
                                session_timeout_ms=60000, heartbeat_interval_ms=1000)
    await consumer.start()
    while consumer._coordinator.generation <= 0:
        await asyncio.sleep(0.05)
    print(consumer._coordinator.member_id, flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


async def _members(admin: AIOKafkaAdminClient, group: str) -> list[str]:
    described = await admin.describe_consumer_groups([group])
    return [member[0] for member in described[0].groups[0][5]]


@pytest.mark.services
async def test_a_killed_members_successor_drops_it_at_once(kafka_broker, unique):
    servers = bootstrap_servers(kafka_broker)
    group = f"leave-{unique}"
    proc = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, servers, f"leave-{unique}", group],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        assert proc.stdout is not None
        member_id = (await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), DEADLINE_S)).strip()
        os.killpg(proc.pid, signal.SIGKILL)  # no LeaveGroup: the member stays for its 60 s session
        proc.wait()
        assert await _members(admin, group) == [member_id]
        assert await leave_for_predecessor(kafka_broker, group, member_id) == "left"
        assert await _members(admin, group) == []
        # a second start (or a predecessor that had expired or left on its own): nothing to drop
        assert await leave_for_predecessor(kafka_broker, group, member_id) == "UnknownMemberIdError"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        await admin.close()


def _worker_env(kafka_broker: str, unique: str, tmp_path: Path) -> dict[str, str]:
    # the predecessor would hold its partitions for the whole session timeout
    env = worker_env(kafka_broker, f"member-{unique}", tmp_path, LEADSTREAM_SESSION_TIMEOUT_S="60")
    env.pop("LEADSTREAM_GROUP_INSTANCE_ID", None)
    env.pop("LEADSTREAM_OTLP_ENDPOINT", None)
    return env


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "leadstream", "worker", "--loglevel", "info"],
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def _recorded_member(proc: subprocess.Popen[bytes], members: MemberFile, log: Path, not_: str | None) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while (member_id := members.read()) in (None, not_):
        assert proc.poll() is None, f"the worker exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no member id recorded after {DEADLINE_S}s\n{log.read_text()[-3000:]}"
        await asyncio.sleep(0.2)
    assert member_id is not None
    return member_id


@pytest.mark.services
async def test_a_worker_restarted_after_kill_9_leaves_the_group_for_its_predecessor(
    kafka_broker, database_url, unique, tmp_path
):
    from storage.db import isolated_url

    env = _worker_env(kafka_broker, unique, tmp_path)
    env["LEADSTREAM_DATABASE_URL"] = await isolated_url(
        database_url, f"member_{unique}", os.environ.get("LEADSTREAM_DATABASE_ADMIN_URL")
    )
    members = MemberFile(tmp_path / "data", env["LEADSTREAM_APP_ID"])
    log = tmp_path / "worker.log"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(kafka_broker))
    await admin.start()
    proc = _start_worker(env, log)
    try:
        first = await _recorded_member(proc, members, log, None)
        assert await _members(admin, env["LEADSTREAM_APP_ID"]) == [first]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc = _start_worker(env, log)
        second = await _recorded_member(proc, members, log, first)
        assert f"previous member {first}: left" in log.read_text()
        assert await _members(admin, env["LEADSTREAM_APP_ID"]) == [second]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        await admin.close()
