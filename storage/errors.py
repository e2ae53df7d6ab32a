"""What "the store is unreachable" looks like, for callers that must not import the driver.

The stage runner retries these without a limit (the lead is fine, our
infrastructure is not); the cost ledger keeps its rows buffered on them.
"""

from __future__ import annotations

import asyncpg

STORE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
)
# The ledger also keeps its rows when a write is refused for any database reason.
WRITE_ERRORS: tuple[type[BaseException], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
