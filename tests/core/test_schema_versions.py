"""Schema versions: readers take the current and the previous version, upgrade the previous one on read,
and dead-letter a newer one under its own name while the worker goes on (issue 13, item 6)."""

from __future__ import annotations

import orjson
import pytest

from schemas import Lead, RawLead, ScrapeJob
from schemas.versions import (
    DEAD_LETTER,
    KINDS,
    LEAD,
    SCRAPE_JOB,
    MessageKind,
    NewerSchemaVersion,
    OlderSchemaVersion,
    SchemaVersionError,
)
from stages.dedupe.engine import EntityResolver
from stages.dedupe.stage import ReviewDecisionStage
from stages.enrich.stage import decode_raw_lead
from streams.envelope import Envelope
from streams.stage import InvalidMessage, Stage, read_message
from tests.core import test_runner as fakes

RAW_V1 = {"schema_version": 1, "source": "csv", "name": "Valley Heating", "zip": "98908", "phone": "5095550101"}
RAW_V0 = {k: v for k, v in RAW_V1.items() if k != "schema_version"}  # written before the field was on every message


def _payload(doc: dict, version: int | None) -> bytes:
    if version is None:
        return orjson.dumps({k: v for k, v in doc.items() if k != "schema_version"})
    return orjson.dumps({**doc, "schema_version": version})


# --- the upcaster and the version window ----------------------------------------------------------


def test_a_previous_version_raw_lead_is_read_as_the_current_one():
    old, new = read_message(RawLead, orjson.dumps(RAW_V0)), read_message(RawLead, orjson.dumps(RAW_V1))
    assert old.schema_version == LEAD.current == 1
    assert old == new


def test_a_current_version_document_is_not_touched():
    doc = {**RAW_V1, "extra": {"nested": [1, 2]}}
    assert LEAD.upgrade(doc) is doc


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_kind_reads_its_previous_version(kind: MessageKind):
    assert kind.upgrade({"a": 1}) == {"a": 1, "schema_version": kind.current}  # absent field: version 0
    with pytest.raises(NewerSchemaVersion, match=f"schema_version {kind.current + 1} is newer"):
        kind.upgrade({"schema_version": kind.current + 1})


@pytest.mark.parametrize("bad", ["1", 1.0, True, None, [1]])
def test_a_version_that_is_not_an_integer_is_a_bad_message_not_a_version_problem(bad):
    with pytest.raises(ValueError, match="must be an integer") as caught:
        LEAD.upgrade({"schema_version": bad})
    assert not isinstance(caught.value, SchemaVersionError)


def _rename_phone(doc: dict) -> dict:
    """A real shape change, as the first version 2 will bring: `phone` became a list `phones`."""
    out = {k: v for k, v in doc.items() if k != "phone"}
    out["phones"] = [doc["phone"]] if doc.get("phone") else []
    out["schema_version"] = 3
    return out


def test_the_window_is_current_and_previous_and_the_upcaster_reshapes():
    kind = MessageKind("example", current=3, upcasters={2: _rename_phone})
    assert kind.upgrade({"schema_version": 2, "phone": "5095550101", "name": "x"}) == {
        "schema_version": 3,
        "phones": ["5095550101"],
        "name": "x",
    }
    with pytest.raises(OlderSchemaVersion, match="schema_version 1 is older than this worker reads \\(2..3\\)"):
        kind.upgrade({"schema_version": 1, "phone": "5095550101"})
    with pytest.raises(OlderSchemaVersion):
        kind.upgrade({"phone": "5095550101"})  # unversioned is 0: far too old for a version-3 reader


def test_an_upcaster_that_does_not_reach_the_current_version_is_a_bug():
    kind = MessageKind("broken", current=2, upcasters={1: lambda doc: dict(doc)})
    with pytest.raises(AssertionError, match="did not reach 2"):
        kind.upgrade({"schema_version": 1})


def test_writers_write_the_current_version():
    job = orjson.loads(ScrapeJob(zip="98908", vertical="hvac").model_dump_json())
    assert job["schema_version"] == SCRAPE_JOB.current
    lead = Lead(lead_id="ld_1", geo_key="z989", source="t", name="n")
    assert orjson.loads(fakes.encode_lead(lead))["schema_version"] == LEAD.current
    assert orjson.loads(fakes.encode_lead(lead, fakes.LEADS_SCRAPED))["schema_version"] == LEAD.current


# --- each stage's decoder takes both versions and lets a newer one through unwrapped ---------------


@pytest.mark.parametrize("version", [None, 0, 1])
def test_every_decoder_reads_the_previous_and_the_current_version(version):
    lead = _payload({"lead_id": "ld_1", "geo_key": "z989", "source": "t", "name": "n"}, version)
    assert Stage().decode(Envelope(payload=lead)).schema_version == 1
    assert decode_raw_lead(Envelope(payload=_payload(RAW_V1, version))).schema_version == 1
    job = _payload({"zip": "98908", "vertical": "hvac"}, version)
    assert read_message(ScrapeJob, job).schema_version == 1
    decision = _payload({"review_id": 1, "lead_id": "ld_b", "entity_id": "e1", "candidate_entity_id": "e2"}, version)
    assert ReviewDecisionStage(EntityResolver({})).decode(Envelope(payload=decision))["entity_id"] == "e1"


def test_every_decoder_raises_newer_schema_version_not_invalid_message():
    from stages.scrape.stage import ScrapeStage

    decoders = {
        "lead": (Stage().decode, {"lead_id": "ld_1", "geo_key": "z", "source": "t", "name": "n"}),
        "raw lead": (decode_raw_lead, RAW_V1),
        "scrape job": (ScrapeStage({}).decode, {"zip": "98908", "vertical": "hvac"}),
        "review": (ReviewDecisionStage(EntityResolver({})).decode, {"entity_id": "e"}),
    }
    for name, (decode, doc) in decoders.items():
        with pytest.raises(NewerSchemaVersion) as caught:
            decode(Envelope(payload=_payload(doc, 2)))
        assert not isinstance(caught.value, InvalidMessage), name


def test_the_dead_letter_message_carries_its_version():
    runner, *_ = fakes.make_runner(fakes.Scripted())
    letter = runner._letter(Envelope(payload=b"x", topic=fakes.LEADS_SCRAPED), "InvalidMessage", "x", attempts=1)
    topic, _, value, _ = runner._dead_letter_message(Envelope(payload=b"x"), letter)
    assert topic == "deadletter.enrich" and orjson.loads(value)["schema_version"] == DEAD_LETTER.current


# --- the runner: a newer message is dead-lettered under its name, the rest of the batch goes on -----


async def test_a_newer_version_is_dead_lettered_with_its_reason_and_the_worker_goes_on():
    stage = fakes.Scripted()
    runner, records, sender, _ = fakes.make_runner(stage)
    newer = orjson.dumps({**orjson.loads(fakes.encode_lead(fakes.lead("ld_new"))), "schema_version": 2})
    old = orjson.loads(fakes.encode_lead(fakes.lead("ld_old")))
    unversioned = orjson.dumps({k: v for k, v in old.items() if k != "schema_version"})
    before = fakes.metric("leadstream_dead_letters_total", stage="enrich", reason="NewerSchemaVersion")
    await runner.process_batch(
        [
            fakes.event(0, payload=newer, lead_id="ld_new"),
            fakes.event(1, payload=unversioned, lead_id="ld_old"),
            fakes.event(2, lead_id="ld_cur"),
        ]
    )
    assert [(d.lead_id, d.error_type, d.attempts) for d in records.letters] == [("ld_new", "NewerSchemaVersion", 1)]
    assert "schema_version 2 is newer than this worker reads (0..1)" in records.letters[0].reason
    assert records.letters[0].payload == newer  # the original, whole, for the replay after the upgrade
    (body,) = sender.to("deadletter.enrich")
    assert body["error_type"] == "NewerSchemaVersion" and body["lead_id"] == "ld_new"
    assert [u.lead.lead_id for u in records.updates] == ["ld_old", "ld_cur"]
    assert {msg["lead_id"]: msg["schema_version"] for msg in sender.to("leads.enriched")} == {"ld_old": 1, "ld_cur": 1}
    assert stage.calls == 2
    assert fakes.metric("leadstream_dead_letters_total", stage="enrich", reason="NewerSchemaVersion") == before + 1


def test_the_models_refuse_a_version_outside_the_window_so_the_api_never_queues_one():
    from pydantic import ValidationError

    for bad in (-1, 2):
        with pytest.raises(ValidationError):
            RawLead.model_validate({**RAW_V1, "schema_version": bad})
        with pytest.raises(ValidationError):
            ScrapeJob(zip="98908", vertical="hvac", schema_version=bad)
    assert RawLead.model_validate({**RAW_V1, "schema_version": 0}).schema_version == 0
