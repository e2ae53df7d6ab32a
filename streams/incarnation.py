"""This worker process's identity, and the proof that the process before it in its data directory has ended.

The email stage records `PROCESS_ID` with each outbox claim (`storage.outbox`). A key left ``pending`` by
a process that ended (``kill -9``, OOM) can then be reconciled with SendGrid as soon as that end is known,
instead of `reconcile_after_s` (30 s) after its stamp (`stages.email.delivery`; issue #10, docs/operating.md
"Recovery"). Nothing here guesses from silence: a missed heartbeat or an expired lease cannot tell a dead
process from a paused one, and a paused sender may still send.

The proof is the kernel's. At its start (`leadstream.faustapp.prepare_start`, before the consumer joins) a
worker takes an exclusive ``flock`` on ``<data dir>/process.lock`` and keeps it for its life. The kernel
releases it only when the holder's process has ended (every descriptor closed; it is opened close-on-exec,
so no child inherits it), and a process writes its id into ``<data dir>/process-id`` only while holding it.
So once a new process holds the lock, the id found in that file is a process that has ended: it runs no
code any more and can start no request. `claim_data_dir` records that id in PostgreSQL
(`storage.processes`) and then writes its own.

What a dead process had already handed to its kernel may still arrive (a request fully written just before
the kill): the email stage waits `settle_after_death_s` after the record for that, and for SendGrid's
activity feed. If the lock is taken (two workers configured with one data directory), nothing is recorded,
a warning is logged and the start goes on: keys of this process then wait the fixed time. The data
directory must not be copied to another worker while its own runs (a copy's lock would prove nothing).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import uuid
from pathlib import Path

from storage.db import Pool
from storage.processes import record_ended

log = logging.getLogger(__name__)

PROCESS_ID = uuid.uuid4().hex  # this process; a new one at each start
LOCK_FILE = "process.lock"
ID_FILE = "process-id"

_held: dict[Path, int] = {}  # data directory → its lock's descriptor, open until the process ends


def lock_data_dir(data_dir: Path) -> bool:
    """Take `data_dir`'s process lock for the rest of this process's life; False when another process holds it."""
    where = Path(data_dir).resolve()
    if where in _held:
        return True
    where.mkdir(parents=True, exist_ok=True)
    fd = os.open(where / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _held[where] = fd
    return True


def read_predecessor(data_dir: Path) -> str | None:
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        return (Path(data_dir) / ID_FILE).read_text(encoding="utf-8").strip() or None
    return None


def write_process_id(data_dir: Path, process_id: str) -> None:
    """Record `process_id` atomically (a crash leaves the old id or the new one)."""
    path = Path(data_dir) / ID_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(process_id, encoding="utf-8")
    os.replace(tmp, path)


async def claim_data_dir(data_dir: Path, pool: Pool, process_id: str = PROCESS_ID) -> str | None:
    """Hold `data_dir`'s lock, record the process that held it before as ended, then write `process_id`.

    Returns that predecessor's id (None: there was none, or it could not be proven to have ended). Never
    raises for a disk or database failure: it logs, and this process's keys wait the fixed time instead.
    """
    try:
        if not lock_data_dir(data_dir):
            log.warning(
                "another process holds %s: its predecessor is not recorded as ended", Path(data_dir) / LOCK_FILE
            )
            return None
        previous = read_predecessor(data_dir)
        if previous is not None and previous != process_id:
            await record_ended(pool, previous, process_id)  # first: the file still names it if this fails
            log.info("recorded this worker's previous process %s as ended", previous)
        write_process_id(data_dir, process_id)
    except Exception as exc:  # the disk or the database: never a reason not to start
        log.warning("could not claim the data directory %s: %r", data_dir, exc)
        return None
    return previous
