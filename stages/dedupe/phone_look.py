"""The directory's second look: twins that the partition key puts in two states still meet.

The dedupe state is partitioned by state (`schemas.geo.dedupe_key`), so the engine compares two
listings only when their fields name the same state. A shop's listings can name two: a New Jersey
shop with a 212 number, listed once with its address (New Jersey) and once with only the phone
(New York, by the area code); or listed once with a reservations line of another state's area code
and no ZIP or state; or listed once as a guide's bare entry (a name and a city) and once with a line
of another state. What such a pair shares is the phone number, or the name, the street line and the
city, or the name and the city.

So every lead also claims its **keys** for its entity in a directory shared by all partitions:
PostgreSQL in the stream (`storage.dedupe_phones`), `MemoryPhoneDirectory` in ``leadstream dedupe``.
A key is the lead's local phone (a toll-free line is a chain's central number: none); for a lead
with a city and a street number, each of its name's strong words with the city and the number
(`name_street_keys`); and for a lead with a city, each of those words with the city (`name_city_keys`).
It is on by default (``LEADSTREAM_DEDUPE_PHONE_DIRECTORY``, ``--no-phone-directory``); each kind of
name key can be turned off (``LEADSTREAM_DEDUPE_NAME_STREET_KEYS``, ``--no-name-street-keys``;
``LEADSTREAM_DEDUPE_NAME_CITY_KEYS``, ``--no-name-city-keys``; with both off, phone keys only, as
before name keys existed). The stage makes a batch's claims together, in the batch's order, once its
last lead is handled (one transaction per batch, or per `CLAIMS_PER_CALL` leads of a longer one:
`stages.dedupe.stage.DedupeStage.complete_batch`).
Under its keys' locks a lead's claim reads the listings other states hold at its keys, and those of
the batch before it (`settle`); the first one that is the same business (by the key's rule:
`one_business` at a phone, `one_site` at a name and street line, and at a name and city `one_town`,
where the twin must be the one business of the name there: `twin_in_town`) makes the lead its
duplicate, and the lead's entity is recorded as merged into it (a ``merge`` audit entry decided by
``phone``, ``name_street`` or ``name_city``, so a later lead that joins that entity in its own state
is grouped with the twin too).
Otherwise the lead is listed for the leads after it. A lead that joined an entity in its own state
claims too: a key may be new to that entity (its first lead had no phone), and arrival order across
partitions is not the order of the file. The claim comes after the engine and the LLM judge: a gray
lead that turns out to be a twin in another state ends as its duplicate, and its review item is dropped.

Rules of the directory:

- one claim per lead: a redelivered lead gets its first claim's answer again (and no new audit);
- a listing that found a twin is no candidate itself (its twin is), so the answers never chain;
- an entity is listed once per key: a later lead of it that finds no twin stores nothing there;
- listings of the lead's own state are left to the engine, which has compared them already;
- a listing lives `RetentionPolicy.ttl_s` after its claim, like the entity state it stands for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from schemas.geo import phone_place, state_code, zip_state
from stages.dedupe.blocking import strong_tokens
from stages.dedupe.engine import Resolution, spellings_conflict
from stages.dedupe.features import TOLL_FREE, bare_listing, bare_listing_agrees, bare_stored, same_street
from stages.dedupe.normalize import normalize_city
from stages.dedupe.record import DedupeInput, Profile
from stages.dedupe.state import similar_names

MATCHED_ON = "phone_across_partitions"
MATCHED_ON_NAME_STREET = "name_street_across_partitions"
MATCHED_ON_NAME_CITY = "name_city_across_partitions"
# The prefixes of a name-and-street key and a name-and-city key; a phone key is the number itself ("+1…"), as
# before such keys existed.
NAME_STREET = "tn:"
NAME_CITY = "nc:"
# The kinds of key a directory may claim (`directory_keys`); the phone always, the name keys by setting.
PHONE, BY_NAME_STREET, BY_NAME_CITY = "phone", "name_street", "name_city"
ALL_KEYS = frozenset({PHONE, BY_NAME_STREET, BY_NAME_CITY})
# A name word in a city that this many businesses hold (a chain's, or a common word's) lists no more of them: a
# bare listing joins only the one business of its name in the city, which such a word does not single out, and a
# lead reads every listing of its keys under their locks.
NAME_CITY_CAP = 8


@dataclass(frozen=True)
class Listing:
    """One lead's claim at one of its keys: the entity it is in, in its own state, and that entity's first lead;
    when a listing of another state is the same business, that listing's entity and first lead (``twin_entity``,
    ``twin_first``)."""

    key: str
    lead_id: str
    geo: str
    entity_id: str
    first: str
    profile: list
    seen: float
    twin_entity: str | None = None
    twin_first: str | None = None

    def row(self) -> dict[str, Any]:
        """The listing as a row of the claim store: its fields by name, the profile not copied (`dataclasses.asdict`
        deep-copies it, a fifth of the directory's CPU in the bench's profile)."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


# A lead's claim: the listing that answers it (the one that found its twin, else its first) and whether the answer
# is new (False for a redelivered lead).
Claimed = tuple[Listing, bool]


class PhoneDirectory(Protocol):
    """A directory that makes a batch's claims in order, each lead's atomically over its keys (`settle` under
    their locks). ``claims``: each lead's listings, one per key (`listings_for`); ``kinds``: the kinds of key a
    lead claims (`ALL_KEYS` or fewer; its phone always)."""

    kinds: frozenset[str]

    async def claim_all(self, claims: Sequence[list[Listing]], ttl_s: float) -> list[Claimed]: ...


def one_business(a: Profile, b: Profile) -> bool:
    """Two listings at one phone in two states are one business when their names agree (a switchboard or a
    shared line carries other names: the phone alone is weak evidence) and nothing else tells them apart."""
    return bool(a.name and b.name) and similar_names(a.name, b.name) and not spellings_conflict(a, b)


def stated_states(profile: Profile) -> set[str]:
    """The states a listing names itself, by its ZIP and its state field (not guessed from its city or phone)."""
    return {s for s in (zip_state(profile.zip), state_code(profile.state)) if s is not None}


def placed_states(profile: Profile) -> set[str]:
    """The states a listing places itself in: those it names (`stated_states`), and its phone's when the phone's
    exchange is in the listing's own city (`schemas.geo.phone_place`: a Springfield, Missouri landline on a
    Springfield listing says which Springfield). A phone of another city, or one that names only a state or a
    region (a cell: "New York"), is no such evidence: a New Jersey shop may well have a New York number."""
    states = stated_states(profile)
    place = phone_place(profile.phone)
    if place is not None and profile.city and normalize_city(place[0]) == profile.city:
        states.add(place[1])
    return states


def two_places(a: Profile, b: Profile) -> bool:
    """Both listings place themselves somewhere (`placed_states`), and in no state in common."""
    mine, theirs = placed_states(a), placed_states(b)
    return bool(mine and theirs and mine.isdisjoint(theirs))


def one_site(a: Profile, b: Profile) -> bool:
    """Two listings in two states that share a name word, a street number and a city are one business when their
    names agree, their street lines are one, their cities are one (aliases and boroughs folded: `normalize_city`)
    and they do not place themselves in two states (`two_places`): the key differs only because a field was
    missing or guessed (a reservations line of another state's area code). Phones may differ: a business has more
    than one line."""
    return bool(a.city and a.city == b.city and one_business(a, b) and same_street(a, b)) and not two_places(a, b)


def one_town(a: Profile, b: Profile) -> bool:
    """A bare listing (a name and a city: no street number, no phone) and a listing in two states that agree as
    the engine's bare rule asks (`bare_listing_agrees`: one city, one name, nothing that tells them apart), and
    that do not place themselves in two states (`two_places`). The caller takes it only where one business of
    the name agrees so."""
    return bare_listing_agrees(a, b) and not two_places(a, b)


def _kind(key: str) -> tuple[Callable[[Profile, Profile], bool], str, str]:
    """A key's rule, ``matched_on`` and ``decided_by``."""
    if key.startswith(NAME_STREET):
        return one_site, MATCHED_ON_NAME_STREET, BY_NAME_STREET
    if key.startswith(NAME_CITY):
        return one_town, MATCHED_ON_NAME_CITY, BY_NAME_CITY
    return one_business, MATCHED_ON, PHONE


def found_by(claimed: Listing) -> str:
    """The kind of key a twin was found at: ``phone``, ``name_street`` or ``name_city`` (the merge audit's
    ``decided_by``)."""
    return _kind(claimed.key)[2]


def twin_across(mine: Listing, listed: list[Listing]) -> Listing | None:
    """The oldest listing of another state at the key that is the lead's business, if any."""
    me = Profile.from_list(mine.profile)
    rule = _kind(mine.key)[0]
    for other in listed:
        if other.geo != mine.geo and other.twin_entity is None and rule(me, Profile.from_list(other.profile)):
            return other
    return None


def twin_in_town(mine: list[Listing], live: Mapping[str, list[Listing]]) -> tuple[Listing, Listing] | None:
    """The lead's listing and its twin at its name-and-city keys: the one business of the name in the city, as the
    engine's bare rule asks within a state (`EntityResolver._bare_match`), here over every state's listings.

    A business is an entity with its listings there, a listing that found a twin counted with the twin's. The twin
    is the only business that agrees with the lead (`one_town`), listed first in another state (one of the lead's
    own state was the engine's to join), with no full listing of another street line than the lead's (a branch
    that joined the same bare listing before); and when the twin is bare, no other business listed there agrees
    with it either (a name and a city beside two branches of the name does not say which)."""
    me = Profile.from_list(mine[0].profile)
    own = mine[0].entity_id
    businesses: dict[str, dict[str, Listing]] = {}  # a business's listings by lead: one lead, one listing
    for x in mine:
        for other in live[x.key]:
            business = other.twin_entity or other.entity_id
            if business != own:
                businesses.setdefault(business, {}).setdefault(other.lead_id, other)
    if not bare_listing(me) and not any(
        bare_stored(o.profile) for listed in businesses.values() for o in listed.values()
    ):
        return None  # one side must be bare: most leads and listings are not, and stop here
    profiles = {b: [Profile.from_list(o.profile) for o in listed.values()] for b, listed in businesses.items()}
    agreeing = [b for b, spelt in profiles.items() if any(one_town(me, p) for p in spelt)]
    if len(agreeing) != 1:
        return None
    business = agreeing[0]
    first = next((o for o in businesses[business].values() if o.twin_entity is None), None)
    if first is None or first.geo == mine[0].geo:
        return None
    if me.address.number and any(p.address.number and not same_street(me, p) for p in profiles[business]):
        return None
    twin = Profile.from_list(first.profile)
    if bare_listing(twin) and any(one_town(twin, p) for b, spelt in profiles.items() if b != business for p in spelt):
        return None
    return next(x for x in mine if any(o is first for o in live[x.key])), first


def settle(
    mine: list[Listing], listed: Mapping[str, list[Listing]], ttl_s: float
) -> tuple[Listing, bool, list[Listing]]:
    """A lead's claim over its keys' live listings (``listed``: per key, oldest first): the answer, whether it
    is new, and the listings to store.

    The keys are tried in the lead's order (its phone first, its name-and-city keys last and together:
    `twin_in_town`); the first twin found answers, and only the listing that found it is stored (that is enough
    to answer a redelivery). A listing claimed before ``seen - ttl_s`` has expired and is not read; the caller
    deletes it. A name-and-city key that lists `NAME_CITY_CAP` businesses already lists no more."""
    cutoff = mine[0].seen - ttl_s
    live = {x.key: [o for o in listed.get(x.key, ()) if o.seen >= cutoff] for x in mine}
    for x in mine:
        for other in live[x.key]:
            if other.lead_id == x.lead_id:
                return other, False, []
    twin = _first_twin(mine, live)
    if twin is not None:
        found = dataclasses.replace(twin[0], twin_entity=twin[1].entity_id, twin_first=twin[1].first)
        return found, True, [found]
    stored = [x for x in mine if _listable(x, live[x.key])]
    return mine[0], bool(stored), stored


def _first_twin(mine: list[Listing], live: Mapping[str, list[Listing]]) -> tuple[Listing, Listing] | None:
    """The lead's listing that found a twin, and the twin: at its phone or name-and-street keys in order, else at
    its name-and-city keys together."""
    for x in mine:
        if not x.key.startswith(NAME_CITY) and (twin := twin_across(x, live[x.key])) is not None:
            return x, twin
    in_town = [x for x in mine if x.key.startswith(NAME_CITY)]
    return twin_in_town(in_town, live) if in_town else None


def _listable(mine: Listing, live: list[Listing]) -> bool:
    """Whether a lead that found no twin is listed at a key: its entity is not yet, and a name-and-city key is not
    full (`NAME_CITY_CAP`)."""
    if any(o.geo == mine.geo and o.entity_id == mine.entity_id for o in live):
        return False
    return not mine.key.startswith(NAME_CITY) or len({(o.geo, o.entity_id) for o in live}) < NAME_CITY_CAP


def directory_phone(profile: Profile) -> str | None:
    """The number a listing is claimed under: its phone, unless none or toll-free (a chain's central line)."""
    return profile.phone if profile.phone and profile.phone[2:5] not in TOLL_FREE else None


def name_street_keys(profile: Profile) -> list[str]:
    """Each of the name's strong words with the city and the street number (none without a city or a number): a
    twin whose phone differs (a second line) and whose key names another state still shares one of them, however
    its street name is spelt."""
    number, city = profile.address.number, profile.city
    if not (number and city):
        return []
    return [f"{NAME_STREET}{city}:{token}:{number}" for token in strong_tokens(profile.name)]


def name_city_keys(profile: Profile) -> list[str]:
    """Each of the name's strong words with the city (none without a city): a bare listing (a name and a city, no
    phone or street number) and its full twin share one, and nothing else, when their keys name two states (the
    bare one keyed by its state, or in the CSV tool by its city or ``unknown``; the other by a line of another
    state). Every listing with a city claims them, since a bare twin may come after it."""
    if not profile.city:
        return []
    return [f"{NAME_CITY}{profile.city}:{token}" for token in strong_tokens(profile.name)]


def key_kinds(name_street: bool = True, name_city: bool = True) -> frozenset[str]:
    """The kinds of key a directory claims, from the two switches (``LEADSTREAM_DEDUPE_NAME_STREET_KEYS``,
    ``LEADSTREAM_DEDUPE_NAME_CITY_KEYS``): the phone always."""
    return frozenset({PHONE} | ({BY_NAME_STREET} if name_street else set()) | ({BY_NAME_CITY} if name_city else set()))


def directory_keys(profile: Profile, kinds: frozenset[str] = ALL_KEYS) -> list[str]:
    """The keys a listing is claimed under, of the ``kinds`` asked for: its phone first, then its name keys."""
    phone = directory_phone(profile)
    keys = [phone] if phone else []
    if BY_NAME_STREET in kinds:
        keys += name_street_keys(profile)
    if BY_NAME_CITY in kinds:
        keys += name_city_keys(profile)
    return keys


def listings_for(
    record: DedupeInput, resolution: Resolution, now: float, kinds: frozenset[str] = ALL_KEYS
) -> list[Listing]:
    """The listings a lead claims for the entity the engine gave it, one per key (none when it has no key)."""
    profile = Profile.of(record)
    first = resolution.duplicate_of or record.lead_id
    stored = profile.to_list()
    keys = directory_keys(profile, kinds)
    return [Listing(key, record.lead_id, profile.geo, resolution.entity_id, first, stored, now) for key in keys]


def across(resolution: Resolution, claimed: Listing, fresh: bool) -> Resolution:
    """The lead's resolution after its claim: a duplicate of the twin found in another state, if any.

    A fresh answer carries the merge of the lead's own entity into the twin's (the audit the stream writes to
    ``dedupe_merges``); a repeated one (a redelivery) carries none, as the engine's replay does."""
    if claimed.twin_entity is None:
        return resolution
    _, matched_on, decided_by = _kind(claimed.key)
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
                "matched_on": [matched_on],
                "decided_by": decided_by,
                "fields": {},
            },
        ]
    return Resolution(
        resolution.lead_id, "duplicate", claimed.twin_entity, claimed.twin_first, None, [matched_on], audit
    )


Rows = list[dict[str, Any]]


class ClaimStore(Protocol):
    """Rows of claims kept under per-key locks (`storage.dedupe_phones.PhoneClaims`)."""

    async def claim_all(
        self, keys: Sequence[str], cutoff: float, settle: Callable[[Rows], tuple[Any, Rows]]
    ) -> Any: ...


# Leads per `PhoneDirectory.claim_all` call (the stage's `complete_batch` makes a longer batch's claims in calls of
# this many, in order, each applied before the next): a lead takes up to five advisory locks (its keys) in the
# stream's directory, they count against PostgreSQL's shared lock table (``max_locks_per_transaction`` ×
# ``max_connections``: 6,400 slots by default), and every dedupe worker may hold a full batch's at once. 40 leads
# keep a transaction under the 200 locks of a full batch of phone keys alone (the release before name keys).
CLAIMS_PER_CALL = 40


class StoredPhoneDirectory:
    """The directory of the stream: claims in a table that every worker shares, a call's in one transaction."""

    def __init__(self, store: ClaimStore, kinds: frozenset[str] = ALL_KEYS) -> None:
        self.store, self.kinds = store, kinds

    async def claim_all(self, claims: Sequence[list[Listing]], ttl_s: float) -> list[Claimed]:
        """The claims in order, as `MemoryPhoneDirectory` makes them over the stored listings of their keys: a
        claim sees the claims before it in the call as it sees stored ones."""
        if not claims:
            return []
        cutoff = min(claim[0].seen for claim in claims) - ttl_s

        def settle_rows(rows: Rows) -> tuple[list[Claimed], Rows]:
            batch = MemoryPhoneDirectory()
            for row in rows:
                batch.listings.setdefault(row["key"], []).append(Listing(**row))
            answers: list[Claimed] = []
            stored: Rows = []
            for claim in claims:
                claimed, fresh, new = batch.claim_made(claim, ttl_s)
                answers.append((claimed, fresh))
                stored.extend(x.row() for x in new)
            return answers, stored

        answers: list[Claimed] = await self.store.claim_all([x.key for c in claims for x in c], cutoff, settle_rows)
        return answers


class MemoryPhoneDirectory:
    """The directory in one process (``leadstream dedupe``, tests): a dict of listings per key.

    ``aliases`` maps an entity that found a twin to the twin's entity, so the CSV tool reports one
    entity per business as the stream's merge audit does."""

    def __init__(self, kinds: frozenset[str] = ALL_KEYS) -> None:
        self.kinds = kinds
        self.listings: dict[str, list[Listing]] = {}
        self.aliases: dict[str, str] = {}

    def claim_made(self, claim: list[Listing], ttl_s: float) -> tuple[Listing, bool, list[Listing]]:
        """`settle` over the listings held, and the new ones added (the expired ones of the claim's keys dropped)."""
        claimed, fresh, stored = settle(claim, self.listings, ttl_s)
        cutoff = claim[0].seen - ttl_s
        for x in stored:
            self.listings[x.key] = [o for o in self.listings.get(x.key, []) if o.seen >= cutoff] + [x]
        if stored and claimed.twin_entity is not None:
            self.aliases[claimed.entity_id] = claimed.twin_entity
        return claimed, fresh, stored

    def claim_now(self, claim: list[Listing], ttl_s: float) -> Claimed:
        claimed, fresh, _ = self.claim_made(claim, ttl_s)
        return claimed, fresh

    async def claim_all(self, claims: Sequence[list[Listing]], ttl_s: float) -> list[Claimed]:
        return [self.claim_now(claim, ttl_s) for claim in claims]
