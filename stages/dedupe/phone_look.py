"""The phone-keyed second look: twins that the partition key puts in two states still meet.

The dedupe state is partitioned by state (`schemas.geo.dedupe_key`), so the engine compares two
listings only when their fields name the same state. A shop's listings can name two: a New Jersey
shop with a 212 number, listed once with its address (New Jersey) and once with only the phone
(New York, by the area code). What such a pair always shares is the phone number.

So every lead that has a local phone (a toll-free line is a chain's central number) also claims
that phone for its entity in a **phone directory** shared by all partitions: PostgreSQL in the
stream (`storage.dedupe_phones`), `MemoryPhoneDirectory` in ``leadstream dedupe``. It is on by
default (``LEADSTREAM_DEDUPE_PHONE_DIRECTORY``, ``--no-phone-directory``). The stage makes a batch's
claims together, in the batch's order, once its last lead is handled (one transaction per batch:
`stages.dedupe.stage.DedupeStage.complete_batch`). Under the phone's lock a claim reads the listings
other states hold at that number, and those of the batch before it (`settle`); the first one that is
the same business (`twin_across`) makes the lead its duplicate, and the lead's entity is recorded as
merged into it (a ``merge`` audit entry decided by ``phone``, so a later lead that joins that entity
in its own state is grouped with the twin too). Otherwise the listing is added for the leads after
it. A lead that joined an entity in its own state claims too: the phone may be new to that entity
(its first lead had none), and arrival order across partitions is not the order of the file. The
claim comes after the engine and the LLM judge: a gray lead that turns out to be a twin in another
state ends as its duplicate, and its review item is dropped.

Rules of the directory:

- one claim per lead: a redelivered lead gets its first claim's answer again (and no new audit);
- a listing that found a twin is no candidate itself (its twin is), so the answers never chain;
- an entity is listed once per phone: a later lead of it that finds no twin stores nothing;
- listings of the lead's own state are left to the engine, which has compared them already;
- a listing lives `RetentionPolicy.ttl_s` after its claim, like the entity state it stands for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from stages.dedupe.engine import Resolution, spellings_conflict
from stages.dedupe.features import TOLL_FREE
from stages.dedupe.record import DedupeInput, Profile
from stages.dedupe.state import similar_names

MATCHED_ON = "phone_across_partitions"


@dataclass(frozen=True)
class PhoneListing:
    """One lead's claim at its phone: the entity it is in, in its own state, and that entity's first lead; when a
    listing of another state is the same business, that listing's entity and first lead (``twin_entity``,
    ``twin_first``)."""

    phone: str
    lead_id: str
    geo: str
    entity_id: str
    first: str
    profile: list
    seen: float
    twin_entity: str | None = None
    twin_first: str | None = None


class PhoneDirectory(Protocol):
    """A directory that makes a batch's claims in order, each atomically per phone (`settle` under the lock)."""

    async def claim_all(self, listings: Sequence[PhoneListing], ttl_s: float) -> list[tuple[PhoneListing, bool]]: ...


def one_business(a: Profile, b: Profile) -> bool:
    """Two listings at one phone in two states are one business when their names agree (a switchboard or a
    shared line carries other names: the phone alone is weak evidence) and nothing else tells them apart."""
    return bool(a.name and b.name) and similar_names(a.name, b.name) and not spellings_conflict(a, b)


def twin_across(mine: PhoneListing, listed: list[PhoneListing]) -> PhoneListing | None:
    """The oldest listing of another state at the phone that is the lead's business, if any."""
    me = Profile.from_list(mine.profile)
    for other in listed:
        if other.geo != mine.geo and other.twin_entity is None and one_business(me, Profile.from_list(other.profile)):
            return other
    return None


def settle(mine: PhoneListing, listed: list[PhoneListing], ttl_s: float) -> tuple[PhoneListing, bool]:
    """The lead's claim among the phone's live listings (oldest first), and whether it is new (to be stored).

    A listing claimed before ``mine.seen - ttl_s`` has expired and is not read; the caller deletes it."""
    live = [other for other in listed if other.seen >= mine.seen - ttl_s]
    for other in live:
        if other.lead_id == mine.lead_id:
            return other, False
    twin = twin_across(mine, live)
    if twin is not None:
        return dataclasses.replace(mine, twin_entity=twin.entity_id, twin_first=twin.first), True
    listed_already = any(o.geo == mine.geo and o.entity_id == mine.entity_id for o in live)
    return mine, not listed_already


def listing_for(record: DedupeInput, resolution: Resolution, now: float) -> PhoneListing | None:
    """The claim a lead makes for the entity the engine gave it, or None when it has no local phone."""
    profile = Profile.of(record)
    phone = directory_phone(profile)
    if phone is None:
        return None
    first = resolution.duplicate_of or record.lead_id
    return PhoneListing(phone, record.lead_id, profile.geo, resolution.entity_id, first, profile.to_list(), now)


def directory_phone(profile: Profile) -> str | None:
    """The number a listing is claimed under: its phone, unless none or toll-free (a chain's central line)."""
    return profile.phone if profile.phone and profile.phone[2:5] not in TOLL_FREE else None


def across(resolution: Resolution, claimed: PhoneListing, fresh: bool) -> Resolution:
    """The lead's resolution after its claim: a duplicate of the twin found in another state, if any.

    A fresh answer carries the merge of the lead's own entity into the twin's (the audit the stream writes to
    ``dedupe_merges``); a repeated one (a redelivery) carries none, as the engine's replay does."""
    if claimed.twin_entity is None:
        return resolution
    audit = resolution.audit
    if fresh:
        audit = [
            *audit,
            {
                "kind": "merge",
                "entity_id": claimed.twin_entity,
                "merged_entity_id": resolution.entity_id,
                "lead_id": resolution.lead_id,
                "probability": None,
                "matched_on": [MATCHED_ON],
                "decided_by": "phone",
                "fields": {},
            },
        ]
    return Resolution(
        resolution.lead_id, "duplicate", claimed.twin_entity, claimed.twin_first, None, [MATCHED_ON], audit
    )


Rows = list[dict[str, Any]]


class ClaimStore(Protocol):
    """Rows of claims kept under per-phone locks (`storage.dedupe_phones.PhoneClaims`)."""

    async def claim_all(
        self, phones: Sequence[str], cutoff: float, settle: Callable[[Rows], list[tuple[dict[str, Any], bool]]]
    ) -> list[tuple[dict[str, Any], bool]]: ...


class StoredPhoneDirectory:
    """The directory of the stream: claims in a table that every worker shares, a batch's in one transaction."""

    def __init__(self, store: ClaimStore) -> None:
        self.store = store

    async def claim_all(self, listings: Sequence[PhoneListing], ttl_s: float) -> list[tuple[PhoneListing, bool]]:
        """The batch's claims in order, as `MemoryPhoneDirectory` makes them over the stored listings of their
        phones: a claim sees the claims before it in the batch as it sees stored ones."""
        if not listings:
            return []
        cutoff = min(listing.seen for listing in listings) - ttl_s

        def settle_rows(rows: Rows) -> list[tuple[dict[str, Any], bool]]:
            batch = MemoryPhoneDirectory()
            for row in rows:
                batch.listings.setdefault(row["phone"], []).append(PhoneListing(**row))
            return [(dataclasses.asdict(c), fresh) for c, fresh in (batch.claim_now(x, ttl_s) for x in listings)]

        answers = await self.store.claim_all([listing.phone for listing in listings], cutoff, settle_rows)
        return [(PhoneListing(**row), fresh) for row, fresh in answers]


class MemoryPhoneDirectory:
    """The directory in one process (``leadstream dedupe``, tests): a dict of listings per phone.

    ``aliases`` maps an entity that found a twin to the twin's entity, so the CSV tool reports one
    entity per business as the stream's merge audit does."""

    def __init__(self) -> None:
        self.listings: dict[str, list[PhoneListing]] = {}
        self.aliases: dict[str, str] = {}

    def claim_now(self, listing: PhoneListing, ttl_s: float) -> tuple[PhoneListing, bool]:
        listed = self.listings.get(listing.phone, [])
        claimed, fresh = settle(listing, listed, ttl_s)
        if fresh:
            self.listings[listing.phone] = [o for o in listed if o.seen >= listing.seen - ttl_s] + [claimed]
            if claimed.twin_entity is not None:
                self.aliases[claimed.entity_id] = claimed.twin_entity
        return claimed, fresh

    async def claim_all(self, listings: Sequence[PhoneListing], ttl_s: float) -> list[tuple[PhoneListing, bool]]:
        return [self.claim_now(listing, ttl_s) for listing in listings]
