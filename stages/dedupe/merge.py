"""Entity records and the survivorship rule that merges them.

Per field, the value from the highest-priority source wins; between equally
trusted sources, the more complete (longer) value wins; on a full tie the value
already held stays, so the result does not depend on arrival order for ties.
Every kept value remembers the lead it came from (provenance).

Outreach has its own survivor (`stands_in`): an entity writes to a business through one lead, the first
of its leads that carried an address. Its first lead usually does; when that one had none, the next
duplicate that has one goes on to outreach in its place instead of ending `duplicate`.
"""

from __future__ import annotations

from stages.dedupe.record import DedupeInput, Profile

DEFAULT_SOURCE_PRIORITY = ("google", "yelp", "csv", "other")
MAX_PROFILES = 6  # distinct spellings kept per entity for matching
TEXT_FIELDS = 16  # a stored spelling's text fields; its point, when it has one, follows them (`Profile.to_list`)


def source_rank(source: str, priority: tuple[str, ...]) -> int:
    """Lower is more trusted; unknown sources rank with "other" (or last)."""
    source = (source or "other").lower()
    if source in priority:
        return priority.index(source)
    return priority.index("other") if "other" in priority else len(priority)


def field_values(record: DedupeInput) -> dict[str, list]:
    """``{field: [value, source, lead_id]}`` for the fields this lead has."""
    return {f: [v, record.source, record.lead_id] for f, v in record.field_values().items() if v}


def better(new: list, old: list | None, priority: tuple[str, ...]) -> bool:
    if old is None:
        return True
    new_rank, old_rank = source_rank(new[1], priority), source_rank(old[1], priority)
    if new_rank != old_rank:
        return new_rank < old_rank
    return len(new[0]) > len(old[0])


def absorb(target: dict, incoming: dict[str, list], priority: tuple[str, ...]) -> dict[str, str]:
    """Fold ``incoming`` field values into the entity ``target``; returns field → lead id taken."""
    fields = target["fields"]
    changed = {}
    for name, value in incoming.items():
        if better(value, fields.get(name), priority):
            fields[name] = value
            changed[name] = value[2]
    return changed


def add_profile(target: dict, profile_list: list) -> None:
    """Keep a spelling the entity does not have yet (up to `MAX_PROFILES`). A spelling whose text fields equal a
    stored one's is that spelling whatever its point (a listing re-read a few metres off, round 18b): the stored one,
    with its point, stays, and the lead is not listed again (`derived`). With a point or without counts as a
    difference: a spelling without one is kept beside one with one, as before."""
    profiles = target["profiles"]
    if len(profiles) >= MAX_PROFILES:
        return
    size, text = len(profile_list), profile_list[:TEXT_FIELDS]
    if any(len(stored) == size and stored[:TEXT_FIELDS] == text for stored in profiles):
        return
    profiles.append(profile_list)


def new_entity(entity_id: str, seq: int, record: DedupeInput, profile: Profile) -> dict:
    return {
        "id": entity_id,
        "seq": seq,
        "first": record.lead_id,
        # before "fields", so a candidate read without its field values has it (`state._spellings_only`)
        "outreach": record.lead_id if record.email else None,
        "size": 1,
        "profiles": [profile.to_list()],
        "fields": field_values(record),
    }


def provenance(entity: dict) -> dict[str, str]:
    """field → id of the lead the kept value came from."""
    return {name: value[2] for name, value in entity["fields"].items()}


def best_values(entity: dict) -> dict[str, str]:
    return {name: value[0] for name, value in entity["fields"].items()}


def outreach_lead(entity: dict) -> str | None:
    """The entity's lead that went on to outreach with an address to write to; None while none has. A record
    written before outreach had its own survivor counts its first lead as that one: for it nothing changes."""
    return entity.get("outreach", entity["first"])


def reached(entity: dict) -> bool:
    """Whether a lead of the entity has carried an address: the one ``outreach`` names, or any whose email the entity
    keeps among its field values (a record that an older release wrote or merged has no ``outreach`` to say so)."""
    return outreach_lead(entity) is not None or "email" in entity["fields"]


def stand_in(entity: dict, record: DedupeInput) -> bool:
    """Whether ``record``, a duplicate of ``entity``, goes on to outreach in place of the entity's lead: none of the
    entity's leads carried an address (`reached`, asked by the caller before the lead's own values are absorbed),
    and this one does. Marks the entity so (the caller saves it), so one lead per entity, at most, ever goes on with
    an address: a later duplicate ends `duplicate` as before.

    Why: the first listing of a business to arrive may be the one without an email (a directory entry with no
    website), and it ends ``no_contact`` at scoring; the business's other listing, seconds later, has one. Ending
    that one as a duplicate threw the business away. The entity's lead without an address is never emailed,
    so the two never both write to the business."""
    if outreach_lead(entity) is not None or not record.email:
        return False
    entity["outreach"] = record.lead_id
    return True


def keep_outreach(winner: dict, loser: dict) -> None:
    """Two entities become one: the one that has reached the business by a lead keeps saying so."""
    if outreach_lead(winner) is None and outreach_lead(loser) is not None:
        winner["outreach"] = outreach_lead(loser)
