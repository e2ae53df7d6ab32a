"""A restarted worker leaves the group for its dead predecessor (dynamic membership; issue #10, "Recovery").

A worker killed without leaving its group (``kill -9``, OOM, a lost node) stays a member until its session
times out (`LEADSTREAM_SESSION_TIMEOUT_S`), and every rebalance meanwhile waits for it: the restarted
worker's own join starts one that cannot finish before the dead member expires. Worse, a rebalance that
completes resets every member's session deadline, the dead one's included, so a member killed while it
was rejoining (the chaos suite's second kill) held its partitions until 10 s after that rebalance
completed, not 10 s after its death (docs/operating.md, "Recovery").

Static membership (`LEADSTREAM_GROUP_INSTANCE_ID`) avoids this on the broker's side: a returning
instance id takes over its old membership. A dynamic member gets a new member id at each start, so the
broker cannot tell that the new process replaces the old one. This module tells it:

* after each assignment, the worker records its member id in its data directory (`MemberFile`);
* at its next start, before it joins, it sends a LeaveGroup for the recorded id (`leave_for_predecessor`),
  as the dead process would have on a graceful stop. The group drops the dead member at once, and the
  rebalance the new worker's join starts waits only for live members.

It is as safe as the session timeout it shortens: the data directory is the worker's own (RocksDB locks it),
so the recorded id is this worker's previous process, which is dead; a member id that is no longer in the
group is answered ``UNKNOWN_MEMBER_ID`` and ignored. Were the old process alive after all (a paused
process), it would be fenced exactly as after a session timeout: its commits fail with the old generation and
it rejoins. Failures are logged and the start goes on (the session timeout still applies).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from pathlib import Path

from aiokafka import errors as kafka_errors
from aiokafka.client import AIOKafkaClient, CoordinationType
from aiokafka.protocol.group import LeaveGroupRequest

from streams.admin import bootstrap_servers

log = logging.getLogger(__name__)


class MemberFile:
    """This worker's last group member id, in its data directory (one file per group)."""

    def __init__(self, data_dir: Path, group_id: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", group_id)
        self.path = Path(data_dir) / f"{safe}.group-member"
        self._written: str | None = None

    def read(self) -> str | None:
        try:
            member_id = self.path.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            log.warning("could not read %s: %s", self.path, exc)
            return None
        return member_id or None

    def write(self, member_id: str) -> None:
        """Record `member_id` (atomically; a crash leaves the old id or the new one, never half of one)."""
        if not member_id or member_id == self._written:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(member_id, encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # a read-only or full disk must not stop the consumer: recovery just waits longer
            log.warning("could not record the group member id in %s: %s", self.path, exc)
            return
        self._written = member_id

    def clear(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
        self._written = None


async def leave_for_predecessor(broker_url: str, group_id: str, member_id: str, timeout_s: float = 5.0) -> str:
    """Send LeaveGroup for `member_id` (this worker's previous process) to `group_id`'s coordinator.

    Returns the outcome: ``"left"``, or the broker's error name (``UnknownMemberIdError``: the member had
    already expired or left). Never raises for a broker or network failure: it logs and returns its name.
    """
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers(broker_url), request_timeout_ms=int(timeout_s * 1000))
    try:
        async with asyncio.timeout(timeout_s):
            await client.bootstrap()
            node = await client.coordinator_lookup(CoordinationType.GROUP, group_id)
            response = await client.send(node, LeaveGroupRequest(group_id, member_id))
        error = kafka_errors.for_code(response.error_code)
        outcome = "left" if error is kafka_errors.NoError else error.__name__
    except (kafka_errors.KafkaError, OSError, TimeoutError) as exc:
        outcome = type(exc).__name__
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    log.info("left group %s for this worker's previous member %s: %s", group_id, member_id, outcome)
    return outcome
