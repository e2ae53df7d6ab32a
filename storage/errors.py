"""What "the store is unreachable" looks like, for callers that must not import the driver.

The stage runner retries `STORE_ERRORS` without a limit (the lead is fine, our
infrastructure is not); anything else the store raises is a bug or a bad
record and is dead-lettered. So the tuple names outages only:

* the connection is refused, reset or lost mid-query (``ConnectionError``,
  asyncpg's class-08 ``PostgresConnectionError`` and its subclasses, also what
  PgBouncer answers when it cannot reach the server);
* the server is restarting or shutting down (``CannotConnectNowError``,
  ``AdminShutdownError``, ``CrashShutdownError``) or full
  (``TooManyConnectionsError``);
* its host name does not resolve right now (``socket.gaierror``).

`STORE_CONFLICTS` are transactions the server rolled back because of a concurrent one (deadlock
``40P01``, serialization failure ``40001``): nothing was written, and the same write succeeds when
tried again, so the runner retries them like outages.

Not bare ``OSError`` (a missing file is not an outage), and asyncpg's
``InterfaceError`` only where it says the connection is closed (`is_store_outage`):
its other cases are misuse (bad argument types, a connection used concurrently,
a closed pool).
"""

from __future__ import annotations

import socket

import asyncpg
from asyncpg.exceptions import (
    AdminShutdownError,
    CannotConnectNowError,
    CrashShutdownError,
    DeadlockDetectedError,
    SerializationError,
    TooManyConnectionsError,
)

STORE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    CannotConnectNowError,
    AdminShutdownError,
    CrashShutdownError,
    TooManyConnectionsError,
    ConnectionError,
    socket.gaierror,
)
STORE_CONFLICTS: tuple[type[BaseException], ...] = (DeadlockDetectedError, SerializationError)
# The ledger also keeps its rows when a write is refused for any database reason.
WRITE_ERRORS: tuple[type[BaseException], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)

# asyncpg's words for a connection the server (or the network) closed; it has no subclass for this.
_CLOSED_CONNECTION = "connection is closed"


def is_store_outage(exc: BaseException) -> bool:
    """`STORE_ERRORS`, or asyncpg's ``InterfaceError`` about a connection that is closed.

    When the server goes away inside ``async with conn.transaction()``, the block raises the connection
    error and the transaction's ``__aexit__`` then replaces it with a plain ``InterfaceError`` ("cannot call
    Transaction.__aexit__(): the underlying connection is closed"). It is the same outage: the pool replaces
    the connection and the write succeeds once the server is back. (CI's PostgreSQL-restart chaos run
    dead-lettered a lead as ``InternalError`` on it.)
    """
    if isinstance(exc, STORE_ERRORS):
        return True
    return isinstance(exc, asyncpg.InterfaceError) and str(exc).endswith(_CLOSED_CONNECTION)
