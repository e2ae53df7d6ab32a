"""API keys of `leadstream api`: stored as a SHA-256 of the key, with scopes and an optional rate.

The key itself is made and hashed by the API (`leadstream.api.keys`); this module only stores
and finds rows. Lookups go to the primary: a revoked key must stop working at once, which a
lagging replica could not promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class ApiKeyRow:
    key_id: str
    name: str
    key_sha256: str
    scopes: tuple[str, ...]
    rate: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _row(r: asyncpg.Record) -> ApiKeyRow:
    return ApiKeyRow(
        r["key_id"], r["name"], r["key_sha256"], tuple(r["scopes"]), r["rate"], r["created_at"], r["revoked_at"]
    )


_COLUMNS = "key_id, name, key_sha256, scopes, rate, created_at, revoked_at"


class ApiKeys:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def insert(self, key_id: str, name: str, key_sha256: str, scopes: list[str], rate: str | None) -> ApiKeyRow:
        row = await self.pool.fetchrow(
            f"INSERT INTO api_keys (key_id, name, key_sha256, scopes, rate) VALUES ($1, $2, $3, $4, $5) "
            f"RETURNING {_COLUMNS}",
            key_id,
            name,
            key_sha256,
            scopes,
            rate,
        )
        return _row(row)

    async def get(self, key_id: str) -> ApiKeyRow | None:
        row = await self.pool.fetchrow(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = $1", key_id)
        return _row(row) if row else None

    async def list(self, *, include_revoked: bool = True) -> list[ApiKeyRow]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        rows = await self.pool.fetch(f"SELECT {_COLUMNS} FROM api_keys{where} ORDER BY created_at, key_id")
        return [_row(r) for r in rows]

    async def revoke(self, key_id: str) -> bool:
        """Revoke `key_id`; False when there is no such active key."""
        status = await self.pool.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id
        )
        return status.endswith(" 1")
