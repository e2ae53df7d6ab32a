"""`leadstream dlq list|show|replay`: what was dead-lettered, why, and putting it back (`leadstream.dlq`)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table

from config import get_settings
from schemas.lifecycle import STAGES

T = TypeVar("T")

dlq_cli = typer.Typer(help="Dead letters: list, show, replay.", no_args_is_help=True)
console = Console(stderr=True)

STAGE_HELP = f"Stage whose dead letters ({', '.join(STAGES)})."
REASON_HELP = "Only this reason (the error type, e.g. TransientProviderError, InvalidMessage)."
SINCE_HELP = "Only dead letters this recent: an age (30m, 2h, 7d) or an ISO time."


def _with_store(action: Callable[[Any], Awaitable[T]]) -> T:
    from storage.db import create_pool, migrate
    from storage.dead_letters import DeadLetterStore

    async def run() -> T:
        pool = await create_pool(get_settings().database_url, size=2)
        try:
            await migrate(pool)
            return await action(DeadLetterStore(pool))
        finally:
            await pool.close()

    return asyncio.run(run())


def _stage(stage: str | None) -> str | None:
    if stage is not None and stage not in STAGES:
        console.print(f"[red]unknown stage {stage!r}; known: {', '.join(STAGES)}[/red]")
        raise typer.Exit(2)
    return stage


def _since(since: str | None, option: str = "--since"):
    from leadstream.dlq import parse_since

    if since is None:
        return None
    try:
        return parse_since(since)
    except ValueError as exc:
        console.print(f"[red]{option}: {exc}[/red]")
        raise typer.Exit(2) from None


@dlq_cli.command("list")
def dlq_list(
    stage: str | None = typer.Option(None, help=STAGE_HELP),
    reason: str | None = typer.Option(None, help=REASON_HELP),
    since: str | None = typer.Option(None, help=SINCE_HELP),
    limit: int = typer.Option(100, help="At most this many, newest first."),
) -> None:
    """Dead letters, newest first: id, when, stage, lead, reason, size, replay status, the lead's state now."""
    letters = _with_store(
        lambda store: store.recent(stage=_stage(stage), reason=reason, since=_since(since), limit=limit)
    )
    table = Table()
    for column in ("id", "at (UTC)", "stage", "lead", "reason", "bytes", "replay", "lead now"):
        table.add_column(column)
    for d in letters:
        table.add_row(
            str(d.id),
            d.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            d.stage,
            d.lead_id or "-",
            f"{d.error_type}: {d.reason[:80]}",
            str(d.size),
            d.replay_status or "-",
            d.lead_state or "in flight",
        )
    Console().print(table)


@dlq_cli.command("show")
def dlq_show(
    letter_id: int = typer.Argument(..., metavar="ID", help="A dead letter's id (from `dlq list`)."),
    payload: Path | None = typer.Option(None, help="Write the original payload to this file ('-': stdout)."),
) -> None:
    """One dead letter: where it was read, why it failed, its original headers and a preview of its payload."""
    letter = _with_store(lambda store: store.get(letter_id))
    if letter is None:
        console.print(f"[red]no dead letter {letter_id}[/red]")
        raise typer.Exit(1)
    assert letter.payload is not None  # `get` reads the whole row
    if payload is not None:
        if str(payload) == "-":
            sys.stdout.buffer.write(letter.payload)
        else:
            payload.write_bytes(letter.payload)
        return
    summary = {
        "id": letter.id,
        "stage": letter.stage,
        "lead_id": letter.lead_id,
        "error_type": letter.error_type,
        "reason": letter.reason,
        "attempts": letter.attempts,
        "at": letter.created_at.isoformat(),
        "source": f"{letter.topic}[{letter.partition}]@{letter.offset}",
        "key": letter.key.decode("utf-8", "backslashreplace") if letter.key is not None else None,
        "headers": {name: value.decode("utf-8", "backslashreplace")[:256] for name, value in letter.headers},
        "size": letter.size,
        "sha256": letter.sha256,
        "replay": letter.replay_status,
        "lead_state_now": letter.lead_state,
        "payload_preview": letter.payload[:2048].decode("utf-8", "backslashreplace"),
    }
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())


@dlq_cli.command("replay")
def dlq_replay(
    stage: list[str] = typer.Option(..., help=STAGE_HELP + " Repeat for several."),
    reason: list[str] | None = typer.Option(None, help=REASON_HELP + " Repeat for any of several."),
    since: str | None = typer.Option(None, help=SINCE_HELP),
    older_than: str | None = typer.Option(
        None,
        help="Only dead letters at least this old: an age (15m) or an ISO time (before it); a provider that just "
        "failed gets time to come back.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be replayed."),
    force: bool = typer.Option(
        False, help="Also replay leads that already ended in another state, and claims whose send never finished."
    ),
    max_replays: int | None = typer.Option(
        None,
        min=0,
        help="Leave a lead that was already replayed this many times (and failed again) for an operator: for "
        "unattended runs (k8s/base/dlq-replay.yaml).",
    ),
) -> None:
    """Put dead letters back on the stage's input topic with their original key and headers, once each."""
    from leadstream.dlq import Replayer

    settings = get_settings()
    for name in stage:
        _stage(name)
    after = _since(since)
    before = _since(older_than, "--older-than")

    async def replay(store):
        async with Replayer(store, settings.kafka_broker) as replayer:
            return await replayer.replay(
                stages=stage,
                reasons=reason,
                since=after,
                before=before,
                dry_run=dry_run,
                force=force,
                max_replays=max_replays,
            )

    report = _with_store(replay)
    if dry_run:
        console.print(f"would replay {len(report.would_replay)}: {report.would_replay}", highlight=False)
    else:
        console.print(f"replayed {len(report.replayed)}: {report.replayed}", highlight=False)
    for letter_id, why in report.refused:
        console.print(f"[yellow]not replayed {letter_id}: {why}[/yellow]", highlight=False)
    for letter_id, error in report.failed:
        console.print(f"[red]failed {letter_id}: {error}[/red]", highlight=False)
    if report.failed:
        raise typer.Exit(1)
