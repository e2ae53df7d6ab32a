"""`leadstream api-keys create|list|revoke`: manage the API's keys (stored hashed in PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from config import get_settings

if TYPE_CHECKING:
    from storage.api_keys import ApiKeys

api_keys_cli = typer.Typer(help="API keys of `leadstream api` (hashed in PostgreSQL).", no_args_is_help=True)
console = Console(stderr=True)
T = TypeVar("T")


def _with_keys(action: Callable[[ApiKeys], Awaitable[T]]) -> T:
    from storage.api_keys import ApiKeys
    from storage.db import create_pool, migrate

    async def run() -> T:
        pool = await create_pool(get_settings().database_url, size=1)
        try:
            await migrate(pool)
            return await action(ApiKeys(pool))
        finally:
            await pool.close()

    return asyncio.run(run())


@api_keys_cli.command("create")
def create(
    name: str = typer.Argument(..., help="Who or what uses the key."),
    scope: list[str] = typer.Option(["read"], "--scope", help="ingest, read or admin; repeat for several."),
    rate: str | None = typer.Option(
        None, help="Per-key rate, e.g. 100/second (default: LEADSTREAM_API__DEFAULT_RATE)."
    ),
) -> None:
    """Create a key and print its token (shown once; only its SHA-256 is stored)."""
    from leadstream.api.keys import create_key

    try:
        key, row = _with_keys(lambda keys: create_key(keys, name, scope, rate))
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"created {row.key_id} ({', '.join(row.scopes)}); the token, shown once:")
    print(key.token)


@api_keys_cli.command("list")
def list_keys() -> None:
    """Every key: id, name, scopes, rate, created, revoked."""
    rows = _with_keys(lambda keys: keys.list())
    table = Table()
    table.add_column("key id", no_wrap=True, min_width=16)
    for col in ("name", "scopes", "rate", "created", "revoked"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.key_id,
            r.name,
            ",".join(r.scopes),
            r.rate or "default",
            f"{r.created_at:%Y-%m-%d %H:%M}",
            f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "",
        )
    Console().print(table)


@api_keys_cli.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key id (the 16 hex digits after lsk_).")) -> None:
    """Revoke a key (API processes stop accepting it within LEADSTREAM_API__KEY_CACHE_S)."""
    if not _with_keys(lambda keys: keys.revoke(key_id)):
        console.print(f"[red]no active key {key_id}[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {key_id}")
