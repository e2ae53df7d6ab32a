"""Dead-letter replay: put dead-lettered messages back on the topic they came from (`leadstream dlq replay`).

Each message goes back as it was read — the same key, payload and headers —
plus a ``dlq-replayed-from`` header naming the dead letter, onto the stage's
input topic, so the stage handles it again from the start (after the cause
was fixed: a provider outage over, a bug deployed). The runner's at-least-once
path and idempotent effects do the rest: a replayed lead that now succeeds
ends in the state it would have reached without the failure.

Unattended (a CronJob: ``k8s/base/dlq-replay.yaml``), a replay names the transient reasons, waits until a
dead letter is ``--older-than`` a while (its provider had time to come back), and sets ``--max-replays``: a
lead whose dead letters were already replayed that many times and that failed again is left for an operator,
so a cause that did not go away is not replayed for ever.

Replay happens once per dead letter: the claim in PostgreSQL
(`storage.dead_letters`) comes before the send, so running the same replay
twice puts nothing back the second time. A lead that already ended in another
state (a later copy got through) is refused unless forced. A claim whose send
failed is undone; a crash between claim and send leaves the claim
``claimed`` (listed by ``dlq list``) and ``--force`` sends it again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer

from storage.dead_letters import DeadLetterStore, StoredDeadLetter
from streams.admin import bootstrap_servers

H_REPLAYED_FROM = "dlq-replayed-from"
MAX_REPLAY_REQUEST_BYTES = 8 * 1024 * 1024  # the broker's own limit decides; the original fitted it once


_AGO = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`--since`: an age (``90s``, ``30m``, ``2h``, ``7d``) or an ISO 8601 time (UTC when it names no zone)."""
    text = text.strip()
    ago = _AGO.match(text)
    if ago:
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither an age like 30m, 2h, 7d nor an ISO time like 2025-05-01T12:00") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass
class ReplayReport:
    replayed: list[int] = field(default_factory=list)  # dead-letter ids put back
    refused: list[tuple[int, str]] = field(default_factory=list)  # (id, why) not put back
    failed: list[tuple[int, str]] = field(default_factory=list)  # (id, error) claimed, but the broker refused
    would_replay: list[int] = field(default_factory=list)  # --dry-run: what would be put back


def replay_headers(letter: StoredDeadLetter) -> list[tuple[str, bytes]]:
    """The original headers, with one ``dlq-replayed-from`` naming this dead letter (an earlier one replaced)."""
    kept = [(name, value) for name, value in letter.headers if name != H_REPLAYED_FROM]
    return [*kept, (H_REPLAYED_FROM, str(letter.id).encode())]


class Replayer:
    """Replays dead letters through `store` with its own idempotent producer."""

    def __init__(self, store: DeadLetterStore, broker_url: str, *, idempotent: bool = True) -> None:
        self.store = store
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(broker_url),
            acks="all",
            enable_idempotence=idempotent,
            max_request_size=MAX_REPLAY_REQUEST_BYTES,
        )

    async def __aenter__(self) -> Replayer:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def replay(
        self,
        *,
        stages: Sequence[str],
        reasons: Sequence[str] | None = None,
        since: datetime | None = None,
        dry_run: bool = False,
        force: bool = False,
        max_replays: int | None = None,
        before: datetime | None = None,
    ) -> ReplayReport:
        """Replay the dead letters of any of `stages` and of `reasons` (all when none) created from `since` to
        `before`; with `max_replays`, not those of a lead replayed that many times already (its cause did not go
        away)."""
        report = ReplayReport()
        letters = await self.store.replayable(
            stages=stages, reasons=reasons, since=since, before=before, include_claimed=force
        )
        for letter in letters:
            if max_replays is not None and letter.replays >= max_replays:
                why = f"lead {letter.lead_id} was replayed {letter.replays} times and failed again (--max-replays)"
                report.refused.append((letter.id, why))
                continue
            if dry_run:
                if letter.lead_state not in (None, "dead_lettered") and not force:
                    report.refused.append((letter.id, f"lead {letter.lead_id} already ended as {letter.lead_state!r}"))
                else:
                    report.would_replay.append(letter.id)
                continue
            claim = await self.store.claim(letter, force=force)
            if not claim.ok:
                report.refused.append((letter.id, claim.refusal or "refused"))
                continue
            try:
                sent = await (
                    await self.producer.send(
                        letter.topic, letter.payload, key=letter.key, headers=replay_headers(letter)
                    )
                )
            except Exception as exc:  # the broker did not take it: undo the claim, report, go on with the rest
                await self.store.release(letter)
                report.failed.append((letter.id, f"{type(exc).__name__}: {exc}"))
                continue
            await self.store.mark_sent(letter.id, sent.partition, sent.offset)
            report.replayed.append(letter.id)
        return report
