"""``leadstream dedupe INPUT.csv --out OUT.csv``: the streaming engine over a CSV file.

The same `EntityResolver` as the stream stage, over an in-memory dict and one
row at a time in file order. Each row gets the partition key the stream would
give it (`schemas.geo.dedupe_key`, from its ZIP, state, city or phone), and every
key of the engine's state is scoped by it, so one dict partitions exactly as the
stream's per-partition tables do, and (unless ``--no-phone-directory``) a
`MemoryPhoneDirectory` plays the stream's phone directory (`phone_look`,
``LEADSTREAM_DEDUPE_PHONE_DIRECTORY``): the answers are the same (tests/e2e
checks it).
"""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from stages.dedupe.columns import map_columns, read_listing_file
from stages.dedupe.engine import EntityResolver, Resolution
from stages.dedupe.phone_look import ALL_KEYS, MemoryPhoneDirectory, across, listings_for
from stages.dedupe.record import DedupeInput

if TYPE_CHECKING:
    from stages.dedupe.judge import Judge


def resolve_rows(
    rows: list[dict],
    judge: Judge | None = None,
    resolver: EntityResolver | None = None,
    phone_directory: bool = True,
    kinds: frozenset[str] = ALL_KEYS,
) -> tuple[list[str | None], dict[str, int]]:
    """Entity id per row (input order) and counts; with a judge, gray pairs are asked about; with
    ``phone_directory``, the phone directory looks across states as the stream's does when
    ``LEADSTREAM_DEDUPE_PHONE_DIRECTORY`` is on, at the ``kinds`` of key asked for (`phone_look.key_kinds`: the
    name keys' switches; all are on by default)."""
    resolver = resolver or EntityResolver({})
    phones = MemoryPhoneDirectory(kinds) if phone_directory else None
    if judge is not None:
        return asyncio.run(_resolve_rows_judged(rows, judge, resolver, phones))
    records = [DedupeInput.from_row(row) for row in rows]
    results = [_look_across(resolver, phones, record, resolver.resolve(record)) for record in records]
    return _summary(resolver, phones, rows, results, 0)


def _look_across(
    resolver: EntityResolver, phones: MemoryPhoneDirectory | None, record: DedupeInput, resolution: Resolution
) -> Resolution:
    """The phone directory's answer after the engine's (and the judge's), as
    `stages.dedupe.stage.DedupeStage.complete_batch` gives it."""
    claim = listings_for(record, resolution, resolver.clock(), phones.kinds) if phones is not None else []
    if phones is None or not claim:
        return resolution
    return across(resolution, *phones.claim_now(claim, resolver.retention.ttl_s))


async def _resolve_rows_judged(
    rows: list[dict], judge: Judge, resolver: EntityResolver, phones: MemoryPhoneDirectory | None
) -> tuple[list[str | None], dict[str, int]]:
    review: list[dict] = []
    results = []
    for row in rows:
        record = DedupeInput.from_row(row)
        resolution = resolver.resolve(record)
        asked: list[dict] = []
        if resolution.decision == "gray":
            resolution = await resolver.judge_gray(resolution, judge, asked)
        found = _look_across(resolver, phones, record, resolution)
        review.extend(asked if found is resolution else [])  # a lead that ended needs no review (as the stage)
        results.append(found)
    return _summary(resolver, phones, rows, results, len(review))


def _summary(
    resolver: EntityResolver, phones: MemoryPhoneDirectory | None, rows: list[dict], results: list, review_items: int
) -> tuple[list[str | None], dict[str, int]]:
    counts = Counter(r.decision for r in results)
    # Later merges can move earlier rows: report every row's final entity, across states too (`phone_look`).
    into = {resolver.state.find(a)[0]: b for a, b in phones.aliases.items()} if phones is not None else {}
    ids = [_final_entity(resolver, into, resolver.entity_of(r.lead_id)) for r in results]
    summary = {
        "rows": len(rows),
        "new": counts["new"],
        "duplicate": counts["duplicate"],
        "gray": counts["gray"],
        "entities": len(set(ids)),
        "merges": sum(len(r.audit) for r in results),
        "review_items": review_items,
    }
    return ids, summary


def _final_entity(resolver: EntityResolver, into: dict[str, str], entity_id: str | None) -> str | None:
    """The entity that ``entity_id`` ended in: merged within its state (the resolver's pointers), then into a
    twin of another state (``into``: the directory's aliases by their entity's root), and so on."""
    seen: set[str] = set()
    while entity_id is not None and entity_id in into and entity_id not in seen:
        seen.add(entity_id)
        entity_id = resolver.state.find(into[entity_id])[0]
    return entity_id


def _check_ids(rows: list[dict], where: str) -> None:
    """Each row needs its own id: the engine answers a lead id it has seen as that lead again (a redelivery), so
    two rows under one id would be joined whatever they hold. Lines are counted as in the file, header first."""
    first_line: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        lead_id = (row.get("id") or "").strip()
        if not lead_id:
            raise ValueError(f"{where}:{line}: the row has no id")
        if lead_id in first_line:
            raise ValueError(f"{where}:{line}: id {lead_id!r} is already used on line {first_line[lead_id]}")
        first_line[lead_id] = line


def dedupe_csv(
    input_path: str | Path,
    output_path: str | Path,
    judge: Judge | None = None,
    phone_directory: bool = True,
    kinds: frozenset[str] = ALL_KEYS,
) -> dict[str, int | str]:
    """Write ``id,entity_id`` (one row per input row, input order); returns counts and the columns read.

    Headers are matched by `columns.map_columns` (case, spacing and common exporters' names: ``addr``,
    ``Street Address``, ``type``...) after `columns.read_listing_file` has found the encoding and delimiter; the
    summary says how the file was read, which headers it read and which it ignored."""
    listing = read_listing_file(input_path)
    columns = map_columns(listing.headers, str(input_path))
    rows = [columns.row(raw) for raw in listing.rows]
    _check_ids(rows, str(input_path))
    ids, counts = resolve_rows(rows, judge, phone_directory=phone_directory, kinds=kinds)
    with open(output_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "entity_id"])
        writer.writerows((row["id"], entity_id) for row, entity_id in zip(rows, ids))
    return {**counts, "columns": f"{listing.describe()}; {columns.describe()}"}
