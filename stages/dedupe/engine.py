"""Streaming entity resolution: one lead at a time, incrementally, over a KV store.

`EntityResolver.resolve` is synchronous (Faust table operations are) and touches
only the entities found through the lead's blocking keys. A lead that matches
one entity joins it; one that matches several merges them (union-find; the
older entity survives). Chains never merge: two known, different street lines
veto any pair, and any merge. Gray-zone pairs are returned for the async judge
step (`resolve_with_judge`), which merges on a confident "same" and queues
everything else for human review.

Each lead also counts the distinct names at its phone and street address (a
switchboard or a food hall carries several; their agreement is then weak
evidence), and ends with a small retention sweep of its region (`retention`):
entity state lives `RetentionPolicy.ttl_s` (7 days) after it was last seen. The
clock is injected (``clock``), so tests move time instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from schemas.lead import DedupeDecision
from stages.dedupe import merge, retention
from stages.dedupe.address import STREET_TYPES
from stages.dedupe.blocking import MIN_SUPPORT, address_key, key_weights, keys_of, phone_key
from stages.dedupe.features import (
    NEAR_M,
    TOLL_FREE,
    addresses_conflict,
    bare_listing,
    bare_listing_agrees,
    bare_stored,
    compare,
    distance_m,
    far_line_stored,
    matched_on,
    name_plus_kind,
    near_addresses,
    one_site_readdressed,
    operator_prefixed,
    phone_block,
    same_street,
    site_of_two_agencies,
    typo_apart,
    without_venue,
)
from stages.dedupe.frequency import TokenWeights, rare_cover
from stages.dedupe.model import PairModel, Thresholds
from stages.dedupe.outlets import outlet_conflict
from stages.dedupe.record import DedupeInput, Profile
from stages.dedupe.retention import RetentionPolicy
from stages.dedupe.state import EntityState, KeyValueStore, entity_id_for, similar_names

if TYPE_CHECKING:
    from stages.dedupe.judge import Judge

MAX_CANDIDATES = 12


Decision = Literal["new", "duplicate", "gray"]


Scored = tuple[dict, float, list[str]]  # (entity record, probability, matched_on)
# Weighted share of the rarer name's words the other has, for the contact rule (`_contact_match`).
CONTACT_COVER = 0.5
PLACE_COVER = 0.8  # the same street address without the same phone needs more of the name
NEAR_COVER = 0.6  # two listings at one point (round 17): most of the heavier name too


@dataclass
class GrayPair:
    """A lead and an entity the model could not decide on."""

    lead_id: str
    entity_id: str
    candidate_entity_id: str
    probability: float
    lead: dict[str, str]
    candidate: dict[str, str]

    def as_review_item(self, reason: str) -> dict:
        return {
            "lead_id": self.lead_id,
            "entity_id": self.entity_id,
            "candidate_entity_id": self.candidate_entity_id,
            "probability": self.probability,
            "lead": self.lead,
            "candidate": self.candidate,
            "reason": reason,
        }


@dataclass
class Resolution:
    lead_id: str
    decision: Decision
    entity_id: str
    duplicate_of: str | None = None
    probability: float | None = None
    matched_on: list[str] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)
    gray_pairs: list[GrayPair] = field(default_factory=list)
    # a duplicate that goes on to outreach in place of its entity's lead, which had no address (`merge.stand_in`)
    stands_in: bool = False


def _outlets(a: Profile, b: Profile) -> bool:
    """Whether two listings are two outlets (units, departments) of one venue or brand (`outlet_conflict`)."""
    return outlet_conflict(a.name, b.name, a.category, b.category, _where(a, b), (a.page, b.page))


def _another_outlet(profile: Profile, others: list[Profile]) -> bool:
    """Whether any spelling of the entity is another outlet of the lead's venue."""
    return any(_outlets(profile, other) for other in others)


def _where(a: Profile, b: Profile) -> tuple[str, ...]:
    """The two listings' cities and street names (glued), which a unit's name does not count as its own."""
    return (a.city, a.address.street, b.city, b.address.street)


def spellings_conflict(a: Profile, b: Profile) -> bool:
    """Two listings that are never one business: their street lines are two sites (not a typo, a range or one
    site written twice), or they are two outlets of one venue or brand."""
    return (addresses_conflict(a, b) and not (near_addresses(a, b) or one_site_readdressed(a, b))) or _outlets(a, b)


def to_decision(resolution: Resolution) -> DedupeDecision:
    """The `Lead.dedupe` value; a still-undecided gray lead travels on as new."""
    return DedupeDecision(
        decision="duplicate" if resolution.decision == "duplicate" else "new",
        entity_id=resolution.entity_id,
        matched_on=resolution.matched_on,
        duplicate_of=resolution.duplicate_of,
        probability=resolution.probability,
        stands_in=resolution.stands_in,
    )


def _near_point(a: Profile, b: Profile) -> bool:
    """Two listings at one point (round 17): within ``NEAR_M`` of each other, with no street line that
    places them apart (a known line on both sides is the same line, or one side has none: a map's bare
    name) and no two phones that are two lines. Proximity alone is weak: a hotel, a mall or a food hall
    holds many businesses at one point, so the caller needs the names too (`_one_name`)."""
    apart = distance_m(a, b)
    if apart is None or apart > NEAR_M:
        return False
    if a.address.known and b.address.known and not (same_street(a, b) or near_addresses(a, b)):
        return False  # two street lines further apart than a typo or a range: neighbours, as without points
    return not (a.phone and b.phone and a.phone != b.phone and not phone_block(a.phone, b.phone))


def _one_name(a: str, b: str, weights: TokenWeights, where: tuple[str, ...] = ()) -> bool:
    """Names that agree on their rare words both ways: the lighter name covered (``PLACE_COVER``) and most of
    the heavier too (``NEAR_COVER``: a rare word and a kind word, which weighs half, pass), so that "Crunch" /
    "Crunch Fitness" agree and a steakhouse and a noodle bar in one casino do not. Each name must hold a word
    of its own that is not the listings' city or street (``where``, as `_where` gives it): a map labels a
    street, a square or a neighbourhood by its name ("Potomac" beside "Potomac Bakery" at 1419 Potomac Ave,
    "Murray Avenue" beside "Murray Ave. Grill"), and that label is not the shop on it. A name and the same name
    plus its kind words (`name_plus_kind`, round 10's test: "Greta's" / "Greta's Veterinary Hospital") agree too:
    a map often labels a business by its short name."""
    if not (_own_word(a, where) and _own_word(b, where)):
        return False
    if rare_cover(a, b, weights) < PLACE_COVER:
        return False
    return name_plus_kind(a, b, transit=True) or rare_cover(a, b, weights, lighter=False) >= NEAR_COVER


def _own_word(name: str, where: tuple[str, ...]) -> bool:
    """The name is more than a street's or the city's name (street types aside: "Murray Avenue", "Potomac")."""
    words = [t for t in name.split() if t not in STREET_TYPES]
    places = {value.replace(" ", "") for value in where if value}
    return bool(words) and "".join(words) not in places and not all(t in places for t in words)


def _placed_by_phone(a: Profile, b: Profile) -> bool:
    """Round 19: one listing gives a street number and the other none (a landmark, a mall, a campus building, or no
    street line: "Grand Central Terminal, Lower Level"), at one local phone. Round 14 joined them under the very same
    name (`one_site_readdressed`); a guide writes the name its own way as often ("Galleria Commons Steakhouse" /
    "Galleia Commons Steakhouse", "Crunch" / "Crunch Fitness"), so the caller asks for names that agree both ways
    (`_one_name`) instead. Nothing on the numberless side contradicts the other's line; a toll-free line is a
    chain's central number and says nothing about the site."""
    if not (a.phone and a.phone == b.phone) or a.phone[2:5] in TOLL_FREE:
        return False
    return bool(a.address.number) != bool(b.address.number)


class EntityResolver:
    def __init__(
        self,
        store: KeyValueStore,
        model: PairModel | None = None,
        thresholds: Thresholds | None = None,
        source_priority: tuple[str, ...] = merge.DEFAULT_SOURCE_PRIORITY,
        index_cap: int = 50,
        retention_policy: RetentionPolicy | None = None,
        clock: Callable[[], float] = time.time,
        derived: KeyValueStore | None = None,
    ) -> None:
        # ``derived``: where the index, names and counts live (`derived`); the same store when None.
        self.state = EntityState(store, derived, index_cap=index_cap)
        self.model = model or PairModel.load()
        self.thresholds = thresholds or self.model.thresholds
        self.priority = tuple(s.lower() for s in source_priority)
        self.retention = retention_policy or RetentionPolicy()
        self.clock = clock

    # -- the synchronous fast path -------------------------------------------------
    def resolve(self, record: DedupeInput) -> Resolution:
        with self.state.one_lead():  # the derived values it reads are decoded once per lead
            return self._resolve(record)

    def _resolve(self, record: DedupeInput) -> Resolution:
        done = self.state.lead(record.lead_id)
        own = entity_id_for(record.lead_id)  # the entity the lead creates if it joins none
        if done is None and self.state.get("e:" + own) is not None:
            # An earlier attempt created this lead's entity but its outcome was lost (a crash between the
            # table's changelog records): the lead is that entity's first lead, not a duplicate of itself.
            done = {"d": "new", "e": own, "p": None, "m": []}
        if done is not None:  # redelivery: answer again, change nothing
            return self._replay(record.lead_id, done)
        now = self.clock()
        profile = Profile.of(record)
        keys, looked = keys_of(profile)  # a lead with a point also looks in the neighbouring map cells
        self.state.remember_keys(profile.to_list(), keys, profile)
        phone, address = phone_key(profile), address_key(profile)
        shared_phone = bool(phone) and self._shared(profile.name, self.state.names(phone or ""))
        shared_address = bool(address) and self._shared(profile.name, self.state.names(address or ""))
        scored, near, vetoed = self._score(profile, looked, shared_phone, shared_address)
        matches = [s for s in scored if s[1] >= self.thresholds.match]
        gray = [s for s in scored if self.thresholds.review <= s[1] < self.thresholds.match]
        undecided = [s for s in scored if s[1] < self.thresholds.match] + near
        if undecided:
            weights = TokenWeights(self.state, profile.geo)
            strong = [s for s in undecided if self._contact_match(profile, s[0], weights)]
            if strong:
                matches.extend((e, p, [*on, "name_tokens"]) for e, p, on in strong)
                gray = [s for s in gray if s not in strong]
            elif not matches and profile.city:
                bare = [s for s in scored if self._bare_match(profile, s[0])]
                # the one business of that name in the city, the branches the lead's line vetoed included
                if len(bare) == 1 and not self._bare_names_another(profile, bare[0][0], vetoed):
                    matches.extend((e, p, [*on, "name_city"]) for e, p, on in bare)
                    gray = [s for s in gray if s not in bare]
        if matches:
            res = self._join(record, profile, matches, now)
        else:
            res = self._create(record, own, profile, gray, now)
        self.state.save_lead(
            record.lead_id,
            {"d": res.decision, "e": res.entity_id, "p": res.probability, "m": res.matched_on, "t": int(now)},
        )
        retention.note(self.state, self.retention, profile.geo, ["e:" + res.entity_id, "l:" + record.lead_id], now)
        retention.sweep(self.state, self.retention, profile.geo, now)
        return res

    @staticmethod
    def _shared(name: str, known: list[str]) -> bool:
        """Several distinct names at one phone or address, counting this lead's own."""
        distinct = len(known) + (1 if name and not any(similar_names(name, k) for k in known) else 0)
        return distinct >= 2

    def sweep(self, geo: str, budget: int | None = None) -> int:
        """Run the retention sweep of one region now (the engine also runs it after every lead)."""
        return retention.sweep(self.state, self.retention, geo, self.clock(), budget)

    def _score(
        self, profile: Profile, keys: list[str], shared_phone: bool = False, shared_address: bool = False
    ) -> tuple[list[Scored], list[Scored], list[dict]]:
        """Candidates with their best probability; those vetoed only by a near-miss street number
        at the same phone (a typo or a range: `near_addresses`), for the contact rule; and the entities
        vetoed as another street line (a chain's branch, a neighbour), for the bare-listing rule. ``keys``: the
        lead's look-up keys (`blocking.lookup_keys`)."""
        scored: list[Scored] = []
        near: list[Scored] = []
        vetoed: list[dict] = []
        for entity in self.state.candidates(keys, key_weights(keys), MAX_CANDIDATES, MIN_SUPPORT).values():
            if entity is None:
                continue
            best, best_on, is_near, compared = 0.0, [], False, False
            holds_line: bool | None = None  # the entity already has a spelling at the lead's street line
            for stored in entity["profiles"]:
                # another street line, read on the stored list (`far_line_stored`): no Profile built
                other = None if far_line_stored(profile, stored) else Profile.from_list(stored)
                if other is None or addresses_conflict(profile, other):
                    if other is None or not (near_addresses(profile, other) or one_site_readdressed(profile, other)):
                        if holds_line is None:
                            number = profile.address.number  # index 4 of a stored profile; checked first, cheaply
                            holds_line = any(
                                s[4] == number and same_street(profile, Profile.from_list(s))
                                for s in entity["profiles"]
                            )
                        if holds_line:
                            continue  # one site known under two street lines (a corner building): not a chain
                        # chain or neighbour: veto the whole entity
                        best = -1.0
                        vetoed.append(entity)
                        break
                    # A near-miss number (a typo, a range) is not scored, but it does not veto the
                    # entity's other spellings; at the same phone the contact rule may still join it.
                    if (
                        (profile.phone and profile.phone == other.phone)
                        or one_site_readdressed(profile, other)
                        or (profile.lat is not None and _near_point(profile, other))
                    ):
                        is_near = True
                    continue
                if _outlets(profile, other):  # two outlets of one venue or brand
                    best = -1.0
                    break
                compared = True
                p = self.model.probability(compare(profile, other, shared_phone, shared_address))
                if p > best:
                    best, best_on = p, matched_on(profile, other)
            if best < 0:
                continue
            if compared:
                scored.append((entity, best, best_on))
            elif is_near:
                near.append((entity, 0.0, ["phone"]))
        scored.sort(key=lambda s: (-s[1], s[0]["seq"]))
        return scored, near, vetoed

    @staticmethod
    def _contact_match(profile: Profile, entity: dict, weights: TokenWeights) -> bool:
        """Strong evidence the model's features cannot see: the same phone at the same (or a near-miss)
        street address, and names that share their rare words (`frequency.rare_cover`), not two outlets.

        At one street line without one phone, the rarer name must be covered (``PLACE_COVER``) and then
        either the phones are lines of one block, or one listing has no phone (a missing value is no
        evidence against), or the shorter name is the tail of the longer after an operator's name
        (`operator_prefixed`), or most of both names agree.

        A switchboard shared by a steakhouse and a noodle bar fails the name test (no rare word in
        common); a hotel's café and its dining room fail the outlet test.
        """
        others = [Profile.from_list(stored) for stored in entity["profiles"]]
        if _another_outlet(profile, others):
            return False  # any spelling of the entity is another outlet of the venue
        for other in others:
            if not (profile.name and other.name):
                continue
            same_place = same_street(profile, other)
            same_phone = bool(profile.phone and profile.phone == other.phone)
            if one_site_readdressed(profile, other):
                return True  # the same name at the same (or the next) phone line, another street line
            name, other_name = without_venue(profile.name, other.name)  # "X at Y Hotel" / "X": X and X
            if _placed_by_phone(profile, other) and _one_name(name, other_name, weights, _where(profile, other)):
                return True  # a place for a street number, one local phone, the names agreeing (round 19)
            if (
                profile.lat is not None
                and _near_point(profile, other)
                and _one_name(name, other_name, weights, _where(profile, other))
            ):
                return True  # one place at one point, the names agreeing (round 17; `_near_point`)
            if same_place and typo_apart(name, other_name):
                return True  # one name with a letter mistyped, at one street line (round 19)
            if same_phone and (same_place or near_addresses(profile, other)):
                if rare_cover(name, other_name, weights) >= CONTACT_COVER:
                    return True
            elif not same_place:
                continue
            elif operator_prefixed(profile.name, other.name, kind_tail=True):
                return True  # one site, under its operator's name and its own
            elif site_of_two_agencies(profile.name, other.name):
                return True  # one site, behind two agencies' names
            elif rare_cover(name, other_name, weights) < PLACE_COVER:
                continue
            elif phone_block(profile.phone, other.phone):
                return True  # one site, the next line of its block (or a typo): the rarer name is covered
            elif not (profile.phone and other.phone):
                # one site, one listing without a phone: the rarer name is covered; with no phone on either side
                # the names are all there is, and must agree both ways, as at one point (round 18: two museums
                # of one building, "Carnegie Museum of Art" / "... of Natural History", stay apart)
                if profile.phone or other.phone or _one_name(name, other_name, weights):
                    return True
            elif operator_prefixed(profile.name, other.name):
                return True  # one site under its operator's name and its own ("Hull House - Hearst" / "Hearst")
            elif rare_cover(name, other_name, weights, lighter=False) >= CONTACT_COVER:
                return True  # one site, another phone line: most of both names agree
        return False

    @staticmethod
    def _bare_match(profile: Profile, entity: dict) -> bool:
        """A bare listing (a name and a city: no street number, no phone) and a spelling of the entity that
        agrees on the city and the name (`bare_listing_agrees`), no spelling being another outlet. The
        caller joins only a candidate that is alone in agreeing so."""
        bare = bare_listing(profile)
        stored = entity["profiles"]
        # A cheap exit first (most leads and entities are not bare): index 10 is the city of a stored profile.
        if not any(s[10] == profile.city and (bare or bare_stored(s)) for s in stored):
            return False
        others = [Profile.from_list(s) for s in stored]
        if not any(bare_listing_agrees(profile, other) for other in others):
            return False
        return not _another_outlet(profile, others)

    @staticmethod
    def _bare_names_another(profile: Profile, entity: dict, vetoed: list[dict]) -> bool:
        """A full listing meets an entity held by a bare listing (a name and a city), and that bare listing
        agrees as well with an entity the lead's street line vetoed: the city has two businesses of the name
        ("The Old Mill Orthodontics, New York" beside two branches, and a third "Old Mill Orthodontics" at
        another line), and the bare listing does not say which it is."""
        if not vetoed or bare_listing(profile):
            return False
        bares = [Profile.from_list(s) for s in entity["profiles"] if bare_stored(s)]
        return any(
            bare_listing_agrees(b, Profile.from_list(s)) for b in bares for other in vetoed for s in other["profiles"]
        )

    def _create(self, record: DedupeInput, entity_id: str, profile: Profile, gray: list, now: float) -> Resolution:
        """The lead's own entity, ``entity_id`` (`entity_id_for` its id), and its gray pairs."""
        entity = merge.new_entity(entity_id, self.state.next_seq(), record, profile)
        entity["seen"] = int(now)
        # listed under its keys, names and counts (`derived`); the lead's own entity has no record yet (`_resolve`)
        self.state.save_entity(entity, old=None)
        lead_values = merge.best_values(entity) if gray else {}
        pairs = [
            GrayPair(
                record.lead_id, entity_id, e["id"], round(p, 4), lead_values, merge.best_values(self.state.whole(e))
            )
            for e, p, _ in gray
        ]
        best = round(gray[0][1], 4) if gray else None
        return Resolution(record.lead_id, "gray" if pairs else "new", entity_id, None, best, [], [], pairs)

    def _join(self, record: DedupeInput, profile: Profile, matches: list, now: float) -> Resolution:
        matches = sorted(matches, key=lambda s: s[0]["seq"])  # the oldest entity survives
        for entity, _, _ in matches:
            self.state.whole(entity)  # read for scoring without its field values (`EntityState.candidates`)
        target, probability, on = matches[0]
        # An earlier attempt of this lead stood in, and its outcome was lost (a crash between the table's changelog
        # records): it stands in again. Otherwise: asked before the lead's own values are absorbed.
        again = merge.outreach_lead(target) == record.lead_id
        reached = not again and merge.reached(target)
        # the record as `candidates` read it, before it changes: saving it does not read and decode it again
        stored = {**target, "profiles": [*target["profiles"]], "fields": {**target["fields"]}}
        target["size"] += 1
        target["seen"] = int(now)
        merge.add_profile(target, profile.to_list())
        changed = merge.absorb(target, merge.field_values(record), self.priority)
        audit = [
            {
                "kind": "join",
                "entity_id": target["id"],
                "lead_id": record.lead_id,
                "merged_entity_id": None,
                "probability": round(probability, 4),
                "matched_on": on,
                "decided_by": "model",
                "fields": changed,
            }
        ]
        for other, p, other_on in matches[1:]:
            merged = self._merge_records(target, other, record.lead_id, p, other_on, "model")
            reached = reached or bool(merged and merge.reached(other))  # a merged entity had reached it
            audit.extend(merged)
        stands_in = again or (not reached and merge.stand_in(target, record))
        self.state.save_entity(target, old=stored)
        return Resolution(
            record.lead_id, "duplicate", target["id"], target["first"], round(probability, 4), on, audit, [], stands_in
        )

    # -- merging entities ----------------------------------------------------------
    def _conflict(self, a: dict, b: dict) -> bool:
        """Two entities never merge when any two of their spellings are a chain, neighbours or two outlets."""
        left, right = [Profile.from_list(x) for x in a["profiles"]], [Profile.from_list(y) for y in b["profiles"]]
        return any(spellings_conflict(px, py) for px in left for py in right)

    def _merge_records(
        self, winner: dict, loser: dict, lead_id: str | None, probability: float | None, on: list[str], decided_by: str
    ) -> list[dict]:
        """Fold ``loser`` into ``winner`` (caller saves winner); refuses when their addresses conflict."""
        if winner["id"] == loser["id"] or self._conflict(winner, loser):
            return []
        winner["size"] += loser["size"]
        winner["seen"] = max(winner.get("seen", 0), loser.get("seen", 0))
        for stored in loser["profiles"]:
            merge.add_profile(winner, stored)
        changed = merge.absorb(winner, {k: v for k, v in loser["fields"].items()}, self.priority)
        merge.keep_outreach(winner, loser)
        # two entities are one now: counted once (`derived`); the loser's record is unchanged as it was read
        self.state.point(loser["id"], winner["id"], old=loser)
        return [
            {
                "kind": "merge",
                "entity_id": winner["id"],
                "merged_entity_id": loser["id"],
                "lead_id": lead_id,
                "probability": None if probability is None else round(probability, 4),
                "matched_on": on,
                "decided_by": decided_by,
                "fields": changed,
            }
        ]

    def merge_entities(
        self, a: str, b: str, lead_id: str | None = None, probability: float | None = None, decided_by: str = "review"
    ) -> list[dict]:
        """Merge two entities (e.g. an accepted review item); the older survives. Returns audit entries."""
        (_, ea), (_, eb) = self.state.find(a), self.state.find(b)
        if ea is None or eb is None or ea["id"] == eb["id"]:
            return []
        winner, loser = (ea, eb) if (ea["seq"], ea["id"]) <= (eb["seq"], eb["id"]) else (eb, ea)
        audit = self._merge_records(winner, loser, lead_id, probability, [], decided_by)
        if audit:
            self.state.save_entity(winner)
        return audit

    def entity_of(self, lead_id: str) -> str | None:
        done = self.state.lead(lead_id)
        return self.state.find(done["e"])[0] if done else None

    def entity(self, entity_id: str) -> dict | None:
        """The entity record: ``fields`` (value, source, lead id), ``first``, ``size``, ``profiles``."""
        return self.state.entity(entity_id)

    def _replay(self, lead_id: str, done: dict) -> Resolution:
        root, entity = self.state.find(done["e"])
        first = entity["first"] if entity else None
        decision: Decision = "duplicate" if first and first != lead_id else done["d"]
        if decision != "duplicate":
            return Resolution(lead_id, decision, root, None, done["p"], done["m"])
        stands_in = entity is not None and merge.outreach_lead(entity) == lead_id
        return Resolution(lead_id, decision, root, first, done["p"], done["m"], stands_in=stands_in)

    # -- the async gray-zone step ---------------------------------------------------
    async def resolve_with_judge(
        self, record: DedupeInput, judge: Judge | None, review_items_out: list[dict]
    ) -> Resolution:
        """Resolve; ask the LLM about gray pairs; unsure or unavailable → ``review_items_out``."""
        res = self.resolve(record)
        if res.decision != "gray":
            return res
        return await self.judge_gray(res, judge, review_items_out)

    async def judge_gray(self, res: Resolution, judge: Judge | None, review_items_out: list[dict]) -> Resolution:
        pending = []
        for pair in res.gray_pairs:
            verdict = await judge.judge(pair.lead, pair.candidate) if judge else None
            if judge is None or verdict is None or verdict.confidence < judge.min_confidence:
                reason = "llm unavailable" if verdict is None else f"llm unsure ({verdict.confidence:.2f})"
                pending.append(pair.as_review_item(reason))
                continue
            if not verdict.same_business:
                continue
            audit = self.merge_entities(
                pair.entity_id, pair.candidate_entity_id, res.lead_id, verdict.confidence, "llm"
            )
            if audit:
                root, entity = self.state.find(pair.entity_id)
                first = entity["first"] if entity else None
                self.state.save_lead(res.lead_id, {"d": "duplicate", "e": root, "p": pair.probability, "m": ["llm"]})
                # the lead's own entity, merged away, brings its address along (`merge.keep_outreach`)
                stands_in = entity is not None and merge.outreach_lead(entity) == res.lead_id
                return Resolution(
                    res.lead_id, "duplicate", root, first, pair.probability, ["llm"], audit, stands_in=stands_in
                )
        review_items_out.extend(pending)
        res.decision = "gray" if pending else "new"
        self.state.save_lead(res.lead_id, {"d": res.decision, "e": res.entity_id, "p": res.probability, "m": []})
        return res
