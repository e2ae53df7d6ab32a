"""Engine state over two tiny key-value stores (dicts, or a Faust table and its local side).

A store only needs ``get(key)``, ``store[key] = value`` and ``del store[key]``.
Values are JSON text (str), so a Faust table with its default json value
serializer stores them as they are (bytes would not survive it).

The **logged** keys are the state itself; in the stream each write is a
changelog record that standby replicas apply again:

- ``e:<entity id>``: the entity record, or ``{"into": <id>}`` once merged away
  (union-find parent pointer; `find` follows and compresses them);
- ``l:<lead id>``: the lead's resolution, so a redelivered lead changes nothing;
- ``x:…`` ``xc:…``: the retention buckets and their sweep cursor (`retention`);
- ``seq``: creation counter, which decides the older entity in a merge.

The **derived** keys are a function of the entity records (`derived`): every
change of an ``e:`` record updates them, here and wherever a changelog is
applied, so they never go to the changelog (about four of every five records a
lead wrote before):

- ``p:`` ``d:`` ``m:`` ``a:`` ``n…:`` ``t…:`` blocking keys (all scoped by the
  partition key): a capped list of entity ids;
- ``Np:…`` ``Na:…``: the distinct names seen at a phone or a street address
  (capped), so a switchboard or a food hall is recognised as shared;
- ``T:…``: name-word counts per region (`frequency`).

With one dict for both (the CSV tool, most tests) the keys simply share it.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from operator import itemgetter
from typing import Any, Protocol

import orjson
from rapidfuzz import fuzz

from stages.dedupe import derived
from stages.dedupe.features import name_cover, names_conflict
from stages.dedupe.record import Profile

NAMES_CAP = 12


def similar_names(a: str, b: str) -> bool:
    """One business's name written two ways ("Jenner" / "CPS Jenner Academy"), not two businesses."""
    if a == b or fuzz.token_set_ratio(a, b) >= 80:
        return True
    return name_cover(a, b) == 1.0 and not names_conflict(a, b)  # "Art's Delicatessen" / "Arts Deli"


class KeyValueStore(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __delitem__(self, key: str) -> None: ...


def entity_id_for(lead_id: str) -> str:
    """Stable entity id derived from the entity's first lead."""
    return "ent_" + hashlib.blake2b(lead_id.encode(), digest_size=8).hexdigest()


# A blocking key that lists more entities than this (an operator's name, a mall) counts half its weight
# when candidates are ranked (not when they are admitted), so it cannot push the entity at the lead's
# own address out of the cut.
COMMON_KEY = 8
_RANK_BITS = 16
_RANK_MASK = (1 << _RANK_BITS) - 1


def _load(raw: str | None) -> Any:
    return None if raw is None else orjson.loads(raw)


_UNREAD = object()

# An entity record as the state writes it (orjson's compact text):
# {"id":…,"seq":…,"first":…,"outreach":…,"size":…,"profiles":[…],"fields":{…},"seen":…}.
_FIELDS = ',"fields":'


def _spellings_only(raw: str) -> dict | None:
    """An entity record (JSON text) decoded up to its field values: its keys before ``fields`` (id, seq, first,
    outreach, size and the spellings, ``profiles``), without ``fields`` and what follows (speed round 4: most of a lead's candidates
    are scored and dropped, and their field values were half of decoding them). None where the text does not have
    that shape (a merge pointer, the spellings after the fields): the caller decodes it whole. The cut is exact or the
    text fails to decode: a JSON string cannot hold an unescaped quote, so ``,"fields":`` occurs only as a key, and
    a cut at a nested key leaves a bracket open. tests/dedupe checks it against the whole record."""
    end = raw.find(_FIELDS)
    if end < 0:
        return None
    try:
        head = orjson.loads(raw[:end] + "}")
    except orjson.JSONDecodeError:
        return None
    if type(head) is not dict or type(head.get("profiles")) is not list or "id" not in head or "into" in head:
        return None
    return head


class _OneLead:
    """The context of `EntityState.one_lead`: the lead's decoded derived values live within it."""

    __slots__ = ("state",)

    def __init__(self, state: EntityState) -> None:
        self.state = state

    def __enter__(self) -> None:
        self.state._read = {}
        self.state._partial = {}

    def __exit__(self, *exc: object) -> None:
        self.state._read = None
        self.state._partial = None


class EntityState:
    """Typed access to the engine's keys; every call is synchronous and O(1)."""

    def __init__(
        self,
        store: KeyValueStore | MutableMapping,
        derived: KeyValueStore | MutableMapping | None = None,
        index_cap: int = 50,
    ) -> None:
        self.store = store
        self.derived = store if derived is None else derived
        self.index_cap = index_cap
        self._known: tuple[list, list[str], Profile] | None = None  # `remember_keys`
        self._read: dict[str, Any] | None = None  # derived values decoded during one lead (`one_lead`)
        self._partial: dict[str, str] | None = None  # entity id -> text of a candidate read without its fields

    def one_lead(self) -> _OneLead:
        """While the engine resolves one lead it is the only writer of the derived keys, so a derived value it has
        read or written stays decoded until the lead ends: listing the lead (`derived`) reads the index lists, names
        and counts its look-up has just read, and does not decode them again. The values are shared, so a caller
        that changes one writes it back (`index`, `remove_from_index`, `remove_name` do). Outside a lead (a
        changelog replay, a review's merge) every read decodes the store's value."""
        return _OneLead(self)

    def remember_keys(self, stored: list, keys: list[str], profile: Profile) -> None:
        """The blocking keys the engine has just computed for the spelling (``profile``, and ``stored``, its stored
        form) it is resolving, so that listing it (`derived`) does not compute them again, the costliest part of a
        lead's derived writes, nor build its Profile again from the stored form."""
        self._known = (stored, keys, profile)

    def known_keys(self, stored: list) -> tuple[list[str], Profile] | None:
        """The blocking keys and Profile `remember_keys` holds for the spelling ``stored``, or None."""
        hint = self._known
        return (hint[1], hint[2]) if hint is not None and hint[0] == stored else None

    # The accessors below decode (`_load`) and encode (``orjson.dumps(value).decode()``) inline: a lead makes about
    # thirty of these calls, and a Python frame fewer for each is ~1 % of a lead's instructions (speed round 4).
    def _get(self, key: str) -> Any:
        raw = self.store.get(key)
        return None if raw is None else orjson.loads(raw)

    def _set(self, key: str, value: Any) -> None:
        self.store[key] = orjson.dumps(value).decode()

    def get_derived(self, key: str) -> Any:
        read = self._read
        if read is None:
            return _load(self.derived.get(key))
        value = read.get(key, _UNREAD)
        if value is _UNREAD:
            raw = self.derived.get(key)
            value = read[key] = None if raw is None else orjson.loads(raw)
        return value

    def derived_values(self, keys: list[str]) -> list[Any]:
        """`get_derived` of each key, read in one pass (a lead's look-up keys: `candidates`)."""
        read, raw_of = self._read, self.derived.get
        if read is None:
            return [_load(raw_of(key)) for key in keys]
        values = []
        for key in keys:
            value = read.get(key, _UNREAD)
            if value is _UNREAD:
                raw = raw_of(key)
                value = read[key] = None if raw is None else orjson.loads(raw)
            values.append(value)
        return values

    def set_derived(self, key: str, value: Any) -> None:
        self.derived[key] = orjson.dumps(value).decode()
        if self._read is not None:
            self._read[key] = value

    def delete_derived(self, key: str) -> None:
        if self.derived.get(key) is not None:
            del self.derived[key]
        if self._read is not None:
            self._read[key] = None

    def next_seq(self) -> int:
        seq = (self._get("seq") or 0) + 1
        self._set("seq", seq)
        return seq

    def find(self, entity_id: str, spellings_only: bool = False) -> tuple[str, dict | None]:
        """Root entity id and record; compresses the path it walked. ``spellings_only`` (within `one_lead`): the
        root's record may come without its field values (`_spellings_only`); `whole` completes it."""
        walked = []
        record = self._root(entity_id, spellings_only)
        while record is not None and "into" in record:
            walked.append(entity_id)
            entity_id = record["into"]
            record = self._root(entity_id, spellings_only)
        for stale in walked[:-1]:
            self._set("e:" + stale, {"into": entity_id})
        return entity_id, record

    def _root(self, entity_id: str, spellings_only: bool) -> Any:
        raw = self.store.get("e:" + entity_id)
        if raw is None or not spellings_only or self._partial is None:
            return _load(raw)
        record = _spellings_only(raw)
        if record is None:
            return orjson.loads(raw)
        self._partial[record["id"]] = raw
        return record

    def whole(self, record: dict) -> dict:
        """The record itself, completed in place where `candidates` read it without its field values: whatever
        reads or saves more than a candidate's id, seq and spellings (a join, a merge, a gray pair) asks for it."""
        raw = self._partial.pop(record["id"], None) if self._partial else None
        if raw is not None:
            whole = orjson.loads(raw)
            record.clear()
            record.update(whole)  # the stored key order: the record is saved as it was read
        return record

    def entity(self, entity_id: str) -> dict | None:
        return self.find(entity_id)[1]

    def save_entity(self, record: dict, old: Any = _UNREAD) -> None:
        """Write the entity record. ``old``: the record stored until now, when the caller holds it as the store has it
        (read during this lead and not changed since: a copy taken before changing it), so it is not read and decoded
        again; None for an entity that has none."""
        self._change_entity(record["id"], record, old)

    def point(self, loser: str, winner: str, old: Any = _UNREAD) -> None:
        """Merge ``loser`` away into ``winner``; ``old``: the loser's stored record, as `save_entity`."""
        self._change_entity(loser, {"into": winner}, old)

    def drop_entity(self, entity_id: str) -> None:
        """Delete an entity record (expired), and what was derived from it."""
        self._change_entity(entity_id, None)

    def _change_entity(self, entity_id: str, record: dict | None, old: Any = _UNREAD) -> None:
        """The one way an ``e:`` record changes: the derived keys follow it (`derived.entity_changed`)."""
        key = "e:" + entity_id
        if old is _UNREAD:
            old = self._get(key)
        if record is None:
            self.delete(key)
        else:
            self._set(key, record)
        derived.entity_changed(self, entity_id, old, record)

    def candidates(self, keys: list[str], weights: list[int], limit: int, min_weight: int) -> dict[str, dict | None]:
        """Root ids of the entities best supported by ``keys`` (summed key weights ≥ ``min_weight``), best first,
        each with its record as `find` read it (None for a root without one), so the caller does not read it again:
        within `one_lead` perhaps without its field values (`whole` completes it).

        Ranking happens on the raw ids, so only the ``limit`` survivors pay for `find`.
        """
        # One number per entity holds both sums: the admitted support (full weights) in the high bits,
        # the ranking weight (in half units; a common key counts half) in the low ones.
        support: dict[str, int] = {}
        tally = support.get
        for ids, weight in zip(self.derived_values(keys), weights):
            if ids:
                step = (weight << _RANK_BITS) + (weight if len(ids) > COMMON_KEY else 2 * weight)
                for entity_id in ids:
                    support[entity_id] = tally(entity_id, 0) + step
        floor = min_weight << _RANK_BITS
        admitted = [(-(v & _RANK_MASK), e) for e, v in support.items() if v >= floor]
        admitted.sort(key=itemgetter(0))  # stable: ties keep the order the keys listed them in
        roots: dict[str, dict | None] = {}
        for _, entity_id in admitted[:limit]:
            root, record = self.find(entity_id, spellings_only=True)
            if root not in roots:
                roots[root] = record
        return roots

    def index(self, keys: list[str], entity_id: str) -> None:
        """Add the entity under each key; a full key (a very common value) stops growing."""
        for key in keys:
            ids = self.get_derived(key) or []
            if len(ids) >= self.index_cap or entity_id in ids:
                continue
            ids.append(entity_id)
            self.set_derived(key, ids)

    def remove_from_index(self, keys: list[str], entity_id: str) -> None:
        for key in keys:
            ids = self.get_derived(key)
            if ids and entity_id in ids:
                ids.remove(entity_id)
                if ids:
                    self.set_derived(key, ids)
                else:
                    self.delete_derived(key)

    def names(self, key: str) -> list[str]:
        """Distinct names seen at a phone or address key."""
        return self.get_derived("N" + key) or []

    def add_name(self, key: str, name: str, known: list[str] | None = None) -> None:
        known = self.names(key) if known is None else known
        if name and len(known) < NAMES_CAP and not any(similar_names(name, other) for other in known):
            self.set_derived("N" + key, [*known, name])

    def remove_name(self, key: str, name: str) -> None:
        known = self.names(key)
        if name in known:
            known.remove(name)
            if known:
                self.set_derived("N" + key, known)
            else:
                self.delete_derived("N" + key)

    # The public accessors are `_get` and `_set` themselves: no second copy of their bodies, and no extra frame.
    get = _get
    set = _set

    def delete(self, key: str) -> None:
        if self.store.get(key) is not None:
            del self.store[key]

    def lead(self, lead_id: str) -> dict | None:
        return self._get("l:" + lead_id)

    def save_lead(self, lead_id: str, outcome: dict) -> None:
        self._set("l:" + lead_id, outcome)
