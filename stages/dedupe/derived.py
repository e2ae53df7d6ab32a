"""What the engine derives from its entity records, and so never logs.

The blocking index, the names seen at each phone and street address, and the
name-word counts are a function of the live entity records: an entity's every
stored spelling (`Profile`) is listed under its blocking keys, its names at its
contacts, and its first spelling's words in its region's counts. So each change
of an ``e:`` record updates them (`entity_changed`), in one place:

- in the engine, when it writes the record (`state.EntityState` calls it);
- in the stream, wherever the dedupe-state changelog is applied (a standby
  replica, a recovering worker): `replay` is the table's deriver
  (`tables.derived.DerivingTable`), so a worker that takes a partition over
  has the same index without it ever being in Kafka.

The changelog then carries an entity record and a lead outcome per lead (and
the retention and sequence keys, coalesced per batch) instead of about fifteen
records, which is what every standby replica pays for per lead.

Transitions (old → new record of one entity):

- none or a pointer → live: +1 to the counts for its first spelling;
- live → pointer (merged away): -1; its spellings stay listed under its own id
  (`find` follows the pointer), and the winner lists them under its id too;
- live → none (expired): -1, and every spelling leaves the index and name lists;
- live → live: the spellings it did not have before are listed.

Applying a change twice changes nothing but the counts, and the counts only
weigh names in gray-zone pairs (`frequency`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from stages.dedupe import frequency
from stages.dedupe.blocking import address_key, blocking_keys, phone_key
from stages.dedupe.record import Profile

if TYPE_CHECKING:
    from stages.dedupe.state import EntityState, KeyValueStore

ENTITY_PREFIX = "e:"


def _live(record: dict | None) -> dict | None:
    return record if record is not None and "into" not in record else None


def entity_changed(state: EntityState, entity_id: str, old: dict | None, new: dict | None) -> None:
    """Update the derived keys for one entity record going from ``old`` to ``new`` (module doc)."""
    before, after = _live(old), _live(new)
    if after is not None:
        known = before["profiles"] if before is not None else []
        for stored in after["profiles"]:
            if stored not in known:
                _list(state, entity_id, stored)
        if before is None:
            _count(state, after, 1)
    elif before is not None:
        _count(state, before, -1)
        if new is None:
            for stored in before["profiles"]:
                _unlist(state, entity_id, Profile.from_list(stored))


def _list(state: EntityState, entity_id: str, stored: list) -> None:
    known = state.known_keys(stored)  # the lead's own spelling: its keys and Profile, as the engine built them
    if known is None:
        profile = Profile.from_list(stored)
        keys = blocking_keys(profile)
    else:
        keys, profile = known
    state.index(keys, entity_id)
    for contact in (phone_key(profile), address_key(profile)):
        if contact:
            state.add_name(contact, profile.name)


def _unlist(state: EntityState, entity_id: str, profile: Profile) -> None:
    state.remove_from_index(blocking_keys(profile), entity_id)
    for contact in (phone_key(profile), address_key(profile)):
        if contact:
            state.remove_name(contact, profile.name)


def _count(state: EntityState, record: dict, delta: int) -> None:
    first = record["profiles"][0]  # a stored spelling (`Profile.to_list`): 0 its name, 14 its region
    frequency.count_tokens(state, first[14], first[0], delta)


def follows(key: Any) -> bool:
    """Whether a changelog key is one the derived keys follow."""
    return isinstance(key, str) and key.startswith(ENTITY_PREFIX)


def replay(derived: KeyValueStore, key: str, old: str | None, new: str | None) -> None:
    """The changelog-side entry point: ``key``'s logged value goes from ``old`` to ``new`` (JSON text)."""
    from stages.dedupe.state import EntityState  # the state module imports this one

    entity_changed(
        EntityState(derived),
        key[len(ENTITY_PREFIX) :],
        None if old is None else orjson.loads(old),
        None if new is None else orjson.loads(new),
    )
