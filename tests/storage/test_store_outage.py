"""A PostgreSQL connection closed under a transaction is an outage, not a bad lead.

CI's PostgreSQL-restart chaos run dead-lettered a lead as ``InternalError``: the server closed the
connection inside ``async with conn.transaction()``, and the transaction's ``__aexit__`` replaced the
connection error with a plain asyncpg ``InterfaceError`` that the runner took for a bug. Here the same
happens on the real server (the backend is terminated mid-transaction) and the error that escapes must be
retried like any outage.
"""

from __future__ import annotations

import asyncpg
import pytest

from storage.errors import is_store_outage
from streams.failures import Action, action_for
from streams.runner import record_write_retried

pytestmark = pytest.mark.services


async def _error_from_a_transaction_whose_backend_dies(url: str) -> BaseException:
    admin = await asyncpg.connect(url)
    conn = await asyncpg.connect(url)
    try:
        with pytest.raises(Exception) as raised:
            async with conn.transaction():
                await conn.execute("SELECT 1")
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", conn.get_server_pid())
                await conn.execute("SELECT 2")
        return raised.value
    finally:
        await conn.close()
        await admin.close()


async def test_a_connection_closed_under_a_transaction_is_retried_as_an_outage(admin_database_url):
    exc = await _error_from_a_transaction_whose_backend_dies(admin_database_url)
    # What CI saw: the transaction's exit replaced the server's error with asyncpg's InterfaceError.
    assert isinstance(exc, asyncpg.InterfaceError), repr(exc)
    assert "connection is closed" in str(exc)
    assert is_store_outage(exc)
    assert action_for(exc) is Action.RETRY_INFRA
    assert record_write_retried(exc)


def test_other_interface_errors_are_still_bugs():
    """Misuse stays a dead letter: retrying a closed pool or a released connection would never end."""
    for misuse in (
        asyncpg.InterfaceError("pool is closed"),
        asyncpg.InterfaceError(
            "cannot call Transaction.__aexit__(): the underlying connection has been released back to the pool"
        ),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    ):
        assert not is_store_outage(misuse)
        assert action_for(misuse) is Action.DEAD_LETTER
        assert not record_write_retried(misuse)
