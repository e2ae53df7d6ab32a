"""Retention: entity state lives 7 days (configurable) after it was last seen.

Every resolved lead notes the keys it touched (its entity and its outcome) in an
hourly bucket of its region: ``x:<geo>:<hour>`` holds the number of chunks and
``x:<geo>:<hour>:<n>`` up to `CHUNK` keys each, so no value grows without bound.
``xc:<geo>`` is the sweep cursor: the oldest bucket not yet swept, its chunk and
the position in that chunk.

The sweep runs inside `EntityResolver.resolve`, after each lead, on the lead's own
region and with a small budget of listed keys, so:

- every write happens while the lead's event is current, on the lead's partition
  (a Faust table needs that: deleting another partition's key would be lost on
  recovery), and the CSV tool sweeps exactly like the stream;
- the work per lead is bounded (`SWEEP_BUDGET` keys) and exceeds what a lead adds,
  so the backlog drains; a region that receives no leads keeps its state until
  its next lead (then it catches up, budget by budget).

A listed entity is deleted only if it was not seen since the cutoff (a later
visit lists it again, in a later bucket): its record, its ids in the blocking
keys of its stored spellings, and its names at its phone and address. Merge
pointers (``{"into": …}``) are kept while the entity they point to is alive.
A lead outcome (``l:``) older than the cutoff is deleted: a redelivery after 7
days is treated as a new lead.
"""

from __future__ import annotations

from dataclasses import dataclass

from stages.dedupe.state import EntityState

DAY_S = 86_400
CHUNK = 32
SWEEP_BUDGET = 16


@dataclass(frozen=True)
class RetentionPolicy:
    ttl_s: float = 7 * DAY_S
    bucket_s: int = 3_600
    budget: int = SWEEP_BUDGET


def _bucket(policy: RetentionPolicy, now: float) -> int:
    return int(now // policy.bucket_s)


def note(state: EntityState, policy: RetentionPolicy, geo: str, keys: list[str], now: float) -> None:
    """List ``keys`` (``e:…`` / ``l:…``) in the current bucket of ``geo``."""
    bucket = _bucket(policy, now)
    if state.get(f"xc:{geo}") is None:
        state.set(f"xc:{geo}", [bucket, 0, 0])
    head = f"x:{geo}:{bucket}"
    chunks = state.get(head) or 0
    listed = state.get(f"{head}:{chunks - 1}") if chunks else None
    if listed is None or len(listed) + len(keys) > CHUNK:
        chunks, listed = chunks + 1, []
        state.set(head, chunks)
    state.set(f"{head}:{chunks - 1}", listed + keys)


def sweep(state: EntityState, policy: RetentionPolicy, geo: str, now: float, budget: int | None = None) -> int:
    """Expire what ``geo`` last saw before ``now - ttl``; returns the number of keys deleted."""
    cursor = state.get(f"xc:{geo}")
    if cursor is None:
        return 0
    cutoff = now - policy.ttl_s
    last_full = _bucket(policy, cutoff)  # buckets before this one hold nothing newer than the cutoff
    if bucket_of(cursor) >= last_full:
        return 0
    bucket, chunk, offset = cursor
    budget = policy.budget if budget is None else budget
    deleted = 0
    while bucket < last_full and budget > 0:
        head = f"x:{geo}:{bucket}"
        chunks = state.get(head) or 0
        if chunk >= chunks:
            state.delete(head)
            bucket, chunk, offset = bucket + 1, 0, 0
            budget -= 1
            continue
        listed = state.get(f"{head}:{chunk}") or []
        for key in listed[offset : offset + budget]:
            deleted += _expire(state, policy, geo, key, cutoff, now)
        taken = min(budget, len(listed) - offset)
        budget -= max(1, taken)
        offset += taken
        if offset >= len(listed):
            state.delete(f"{head}:{chunk}")
            chunk, offset = chunk + 1, 0
    state.set(f"xc:{geo}", [bucket, chunk, offset])
    return deleted


def bucket_of(cursor: list) -> int:
    return cursor[0]


def _expire(state: EntityState, policy: RetentionPolicy, geo: str, key: str, cutoff: float, now: float) -> int:
    record = state.get(key)
    if record is None:
        return 0
    if key.startswith("l:"):
        if record.get("t", 0) < cutoff:
            state.delete(key)
            return 1
        return 0
    if "into" in record:  # a merge pointer: needed while its entity lives
        _, alive = state.find(key[2:])
        if alive is not None and alive.get("seen", 0) >= cutoff:
            note(state, policy, geo, [key], now)
            return 0
        state.drop_entity(key[2:])
        return 1
    if record.get("seen", 0) >= cutoff:
        return 0
    state.drop_entity(record["id"])  # and its spellings leave the index, names and counts (`derived`)
    return 1
