"""Backup drill: base backup + WAL archive restore to a point in time into a fresh server, and the
leads and the outbox there are exactly what was committed by then."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest

from leadstream.backup import base_backup, default_user, restore, stop
from leadstream.embedded import free_port
from schemas import Lead, TerminalState
from storage.db import create_pool, drop_isolated, isolated_url, migrate, split_pgbouncer
from storage.records import LeadRecords, RecordUpdate

pytestmark = [pytest.mark.services, pytest.mark.slow]


async def _write(pool, first: int, count: int) -> None:
    leads = [
        Lead(lead_id=f"ld_{i}", geo_key=("NY", "CA", "TX")[i % 3], source="drill", name=f"n{i}", zip="10002")
        for i in range(first, first + count)
    ]
    await LeadRecords(pool).write(
        [RecordUpdate(lead, "email", "d" * 32, 1_700_000_000_000, TerminalState.emailed) for lead in leads]
    )
    await pool.executemany(
        "INSERT INTO email_outbox (idempotency_key, lead_id, campaign_step, recipient, status) "
        "VALUES ($1, $2, 'intro', $3, 'sent')",
        [(f"{lead.lead_id}:intro", lead.lead_id, f"{lead.lead_id}@drill.example") for lead in leads],
    )


async def _snapshot(pool) -> tuple[list, list]:
    leads = await pool.fetch("SELECT lead_id, geo_key, state, record FROM leads ORDER BY lead_id")
    outbox = await pool.fetch("SELECT idempotency_key, lead_id, status FROM email_outbox ORDER BY idempotency_key")
    return [tuple(r) for r in leads], [tuple(r) for r in outbox]


async def test_point_in_time_restore_brings_back_leads_and_outbox_as_they_were(
    svc, database_url, admin_database_url, unique
):
    from svclib import postgres

    name = f"drill_{unique}"
    url = await isolated_url(database_url, name, admin_database_url)
    pool = await create_pool(url, size=2)
    scratch = postgres.scratch_dir(f"drill-{unique}")
    restored = None
    try:
        await migrate(pool)
        await _write(pool, 0, 300)  # before the backup
        backup = base_backup(split_pgbouncer(admin_database_url)[0], scratch / "backup", run_as=default_user())
        await _write(pool, 300, 200)  # after the backup, before the target: replayed from the archive
        expected = await _snapshot(pool)
        target = await pool.fetchval("SELECT clock_timestamp()")
        await _write(pool, 500, 100)  # after the target: must not come back
        await pool.execute("UPDATE email_outbox SET status = 'failed' WHERE lead_id = 'ld_1'")
        postgres.archive_now()

        port = free_port()
        restored = restore(
            backup.path,
            archive=postgres.archive_dir(),
            target=target,
            datadir=scratch / "data",
            port=port,
            run_as=default_user(),
        )
        print(f"restore (copy + replay + promote): {restored.seconds:.1f} s, backup {backup.bytes / 1e6:.0f} MB")
        direct = urlsplit(split_pgbouncer(url)[0])
        restored_url = direct._replace(netloc=f"{direct.username}@127.0.0.1:{port}").geturl()
        check = await create_pool(restored_url, size=1)
        try:
            got = await _snapshot(check)
            assert not await check.fetchval("SELECT pg_is_in_recovery()")
        finally:
            await check.close()
        assert len(got[0]) == 500 and len(got[1]) == 500
        assert got == expected
    finally:
        if restored is not None:
            stop(restored.datadir, run_as=default_user())
        shutil.rmtree(scratch, ignore_errors=True)
        await pool.close()
        await drop_isolated(database_url, name, admin_database_url)
