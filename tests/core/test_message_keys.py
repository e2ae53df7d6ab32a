"""Keys that spread the work: only the stateful stages' inputs carry the geography key; every other
topic is keyed by lead id. Duplicates still meet: the geography key agrees with or without a ZIP."""

from __future__ import annotations

from types import SimpleNamespace

import orjson
import pytest

from schemas import Lead, RawLead
from schemas.geo import dedupe_key
from simulator.leads import generate_leads
from streams.envelope import Envelope, make_headers
from streams.runner import StageRunner, encode_lead
from streams.stage import Output, Stage
from streams.topology import (
    DEDUPE_DECISIONS,
    DEDUPE_DECISIONS_INPUT,
    EMAILS_QUEUED,
    GEO_KEYED_TOPICS,
    LEADS_DEDUPLICATED,
    LEADS_ENRICHED,
    LEADS_SCORED,
    LEADS_SCRAPED,
    MOCKUPS_REQUESTED,
    SCRAPE_REQUESTS,
    TOPOLOGY,
    message_key,
)


def test_geography_key_only_on_the_inputs_of_stages_with_tables():
    stateful_inputs = {TOPOLOGY["dedupe"].source, TOPOLOGY["score"].source, DEDUPE_DECISIONS_INPUT.source}
    assert GEO_KEYED_TOPICS == stateful_inputs == {LEADS_ENRICHED, LEADS_DEDUPLICATED, DEDUPE_DECISIONS}
    for topic in (SCRAPE_REQUESTS, LEADS_SCRAPED, LEADS_SCORED, MOCKUPS_REQUESTED, EMAILS_QUEUED):
        assert message_key(topic, "ld_1", "NY") == b"ld_1"
    for topic in GEO_KEYED_TOPICS:
        assert message_key(topic, "ld_1", "NY") == b"NY"


@pytest.mark.parametrize(
    "fields, state",
    [
        # A mistyped ZIP (a New York prefix) under a Pittsburgh address: the state and the city outvote it.
        ({"zip_code": "14233", "state": "PA", "city": "Pittsburgh"}, "PA"),
        # A neighbouring state's ZIP under the right state and phone.
        ({"zip_code": "28117", "state": "SC", "phone": "(803) 555-0107", "city": "Rock Hill"}, "SC"),
        # Fields that agree: the ZIP's state, whatever the phone's area code says.
        ({"zip_code": "07030", "state": "NJ", "phone": "212-555-0142", "city": "New York"}, "NJ"),
        # One vote each: a tie goes to the earlier field (ZIP, state, city, phone).
        ({"zip_code": "02139", "phone": "+14125550100"}, "MA"),
        ({"state": "IL", "phone": "2125550100", "city": "Springfield"}, "IL"),
        ({"city": "Hoboken", "phone": "(212) 555-0142"}, "NJ"),
        # Two against one.
        ({"zip_code": "07030", "phone": "(212) 555-0142", "city": "Manhattan"}, "NY"),
    ],
)
def test_the_fields_vote_for_the_partition_key(fields, state):
    assert dedupe_key(**fields) == state


@pytest.mark.parametrize(
    "twin",
    [
        {"state": "NY"},
        {"state": "New York"},
        {"city": "Brooklyn"},
        {"phone": "(718) 555-0101"},
        {"phone": "+1 212 555 0188", "city": "Somewhere Unknown"},
    ],
)
def test_a_lead_without_zip_meets_its_twin_with_zip(twin):
    with_zip = dedupe_key("11201", "NY", "(718) 555-0100", "Brooklyn")
    assert with_zip == dedupe_key(**twin) == "NY"


def test_generated_duplicates_keep_their_originals_key_even_without_zip():
    generated = generate_leads(600, seed=3)
    by_id = {g.lead_id: g for g in generated}

    def key(payload: dict) -> str:
        return Lead.from_raw(RawLead.model_validate(payload)).geo_key

    checked = 0
    for dup in (g for g in generated if g.kind == "duplicate"):
        original = orjson.loads(by_id[dup.duplicate_of].payload)
        twin = orjson.loads(dup.payload)
        twin.pop("zip", None)  # the twin listed without its ZIP
        assert key(twin) == key(original), (twin, original)
        checked += 1
    assert checked > 50


class Forward(Stage[Lead]):
    name = "score"

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        return [Output(lead, topics=(LEADS_SCORED, MOCKUPS_REQUESTED))]


class NoRecords:
    async def ended(self, lead_ids):
        return set()

    async def write(self, updates):
        return set()

    async def dead_letter(self, letters):
        return set()


async def test_the_runner_keys_stateless_outputs_by_lead_id():
    lead = Lead(lead_id="ld_7", geo_key="WA", source="test", name="Valley Heating")
    message = SimpleNamespace(
        topic=LEADS_DEDUPLICATED,
        partition=0,
        offset=0,
        key=b"WA",
        timestamp=1.0,
        headers=make_headers(lead.lead_id, "t" * 32, 1000),
        tp=(LEADS_DEDUPLICATED, 0),
    )
    sent = []

    async def send(topic, key, value, headers):
        sent.append((topic, key))

        async def delivered():
            return None

        return delivered()

    runner = StageRunner(Forward(), NoRecords(), send, sinks=TOPOLOGY["score"].sinks)  # type: ignore[arg-type]
    await runner.process_batch([SimpleNamespace(message=message, value=encode_lead(lead))])
    assert sent == [(LEADS_SCORED, b"ld_7"), (MOCKUPS_REQUESTED, b"ld_7")]


class KeepLetters(NoRecords):
    def __init__(self) -> None:
        self.letters: list = []

    async def dead_letter(self, letters):
        self.letters.extend(letters)
        return set()


@pytest.mark.parametrize(("topic", "key", "geo"), [(LEADS_SCRAPED, b"ld_9", "unknown"), (LEADS_ENRICHED, b"NY", "NY")])
async def test_a_dead_letter_takes_its_geography_from_the_key_only_where_the_key_is_one(topic, key, geo):
    message = SimpleNamespace(
        topic="run1." + topic,
        partition=0,
        offset=0,
        key=key,
        timestamp=1.0,
        headers=make_headers("ld_9", "t" * 32, 1000),
        tp=("run1." + topic, 0),
    )
    records = KeepLetters()

    async def send(topic, key, value, headers):
        async def delivered():
            return None

        return delivered()

    runner = StageRunner(Forward(), records, send)  # type: ignore[arg-type]
    await runner.process_batch([SimpleNamespace(message=message, value=b"{not json")])
    [letter] = records.letters
    assert letter.lead_id == "ld_9" and letter.geo_key == geo


@pytest.mark.parametrize(
    ("written", "zip5"),
    [
        ("15219", "15219"),
        ("15219-1234", "15219"),
        ("152191234", "15219"),
        ("2134", "02134"),  # a spreadsheet dropped the leading zero
        ("15219.0", "15219"),  # a spreadsheet read the ZIP as a number
        ("238801", None),  # Singapore: its first three digits are no US state's
        ("9890A", None),
        ("1234-5678", None),
        ("M5V 2T6", None),
        ("1234567", None),
    ],
)
def test_only_a_us_zip_places_a_lead_by_its_zip(written, zip5):
    from schemas.geo import us_zip
    from stages.dedupe.normalize import normalize_zip

    assert us_zip(written) == zip5
    assert normalize_zip(written) == (zip5 or "")
    # A code that is not a US ZIP says nothing about the state: the phone places the lead instead.
    assert dedupe_key(zip_code=written, phone="+14125550100") == ("PA" if zip5 in ("15219", None) else "MA")


@pytest.mark.parametrize(
    ("phone", "place"),
    [
        ("417-831-2200", ("Springfield", "MO")),  # an exchange of one city
        ("+1 (312) 555-0100", ("Chicago", "IL")),  # an area code of one city
        ("417-555-0101", None),  # the data names only the state
        ("917-555-0120", None),  # a cell's area code: a region ("New York")
        ("1-800-555-0142", None),  # toll-free: nowhere
        ("555-0100", None),
        (None, None),
    ],
)
def test_a_phone_places_its_exchange_in_a_city_only_where_the_numbering_data_names_one(phone, place):
    from schemas.geo import phone_place

    assert phone_place(phone) == place
