"""The producer contract: raw-lead validation, the geography key, headers, ingest files."""

from __future__ import annotations

import json

import orjson
import pytest
from pydantic import ValidationError

from leadstream.producer import prepare
from schemas import Lead, RawLead, geo_key
from schemas.export import raw_lead_schema
from streams.envelope import H_INGEST_TS, H_LEAD_ID, H_TRACE_ID, make_headers
from streams.runner import encode_lead
from streams.topology import LEADS_ENRICHED, LEADS_SCRAPED


def test_raw_lead_normalizes_and_rejects_clearly():
    raw = RawLead(source="csv", name="  Joe's Plumbing ", zip="2134", state="ma", phone="")
    assert (raw.name, raw.zip, raw.state, raw.phone) == ("Joe's Plumbing", "02134", "MA", None)
    with pytest.raises(ValidationError, match="5-digit"):
        RawLead(source="csv", name="x", zip="ABCDE")
    with pytest.raises(ValidationError, match="placed geographically"):
        RawLead(source="csv", name="x")
    with pytest.raises(ValidationError, match="Extra inputs"):
        RawLead(source="csv", name="x", zip="10002", owner="me")
    with pytest.raises(ValidationError, match="newer than this reader"):
        RawLead(source="csv", name="x", zip="10002", schema_version=99)


def test_lead_ids_are_stable_and_derived_from_source_ids():
    a = RawLead(source="yelp", source_ids={"yelp": "abc"}, name="A", zip="10002")
    b = RawLead(source="yelp", source_ids={"yelp": "abc"}, name="A (renamed)", zip="10002")
    assert a.derived_lead_id() == b.derived_lead_id() != RawLead(source="yelp", name="A", zip="10002").derived_lead_id()
    assert RawLead(source="csv", lead_id="given", name="A", zip="10002").derived_lead_id() == "given"


def test_geo_key_is_coarse_and_shared_by_neighbours():
    assert geo_key("90025") == geo_key("90064") == "CA"  # the dedupe partition key: the state
    assert geo_key(None, None, "+1 (310) 555-0101") == geo_key(None, "ca", None) == "CA"
    assert geo_key(None, None, None, "Brooklyn") == geo_key("10002") == "NY"
    assert geo_key(None) == "unknown"


def test_headers_and_topic_encodings():
    headers = make_headers("ld_1", "t" * 32, 1700000000000)
    assert headers == {H_LEAD_ID: b"ld_1", H_TRACE_ID: b"t" * 32, H_INGEST_TS: b"1700000000000"}
    lead = Lead.from_raw(RawLead(source="csv", name="A", zip="10002", lead_id="ld_1"))
    raw = orjson.loads(encode_lead(lead, LEADS_SCRAPED))
    assert "geo_key" not in raw and RawLead.model_validate(raw).lead_id == "ld_1"  # leads.scraped keeps the contract
    assert orjson.loads(encode_lead(lead, LEADS_ENRICHED))["geo_key"] == "NY"


def test_exported_schema_matches_the_model(tmp_path):
    schema = raw_lead_schema()
    assert schema["required"] == ["source", "name"] and schema["additionalProperties"] is False
    assert json.loads(open("docs/raw-lead.schema.json").read()) == schema, "run `leadstream schema export`"


def test_ingest_prepare_keeps_bad_rows_with_their_line(tmp_path):
    path = tmp_path / "leads.jsonl"
    path.write_text('{"source":"csv","name":"A","zip":"10002"}\n{not json\n\n{"source":"csv","zip":"10002"}\n')
    items = prepare(path)
    assert [(i.line, i.problem is None) for i in items] == [(1, True), (2, False), (4, False)]
    assert "name" in items[2].problem and items[0].geo_key == "NY"
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text("name,zip,phone\nAcme,10002,2125550101\nNoZip,,\n")
    rows = prepare(csv_path)
    assert rows[0].problem is None and rows[1].problem and rows[1].line == 3


def test_a_location_is_optional_additive_and_travels_from_raw_lead_to_lead():
    # Round 17 (docs/dedupe-rounds.md): the search APIs' coordinates, an optional field (no version bump).
    raw = RawLead(source="yelp", name="A", zip="15213", latitude=40.4443, longitude=-79.9436)
    lead = Lead.from_raw(raw)
    assert (lead.latitude, lead.longitude) == (40.4443, -79.9436)
    assert orjson.loads(encode_lead(lead, LEADS_SCRAPED))["latitude"] == 40.4443
    older = Lead.model_validate({"lead_id": "ld_1", "geo_key": "PA", "source": "csv", "name": "A"})  # written before
    assert older.latitude is None and older.longitude is None and older.schema_version == 1
    assert RawLead(source="csv", name="A", zip="15213").latitude is None
    with pytest.raises(ValidationError, match="both or neither"):
        RawLead(source="csv", name="A", zip="15213", latitude=40.4)
    with pytest.raises(ValidationError, match="both or neither"):
        Lead(lead_id="ld_1", geo_key="PA", source="csv", name="A", longitude=-79.9)
    for lat, lng in ((91, 0), (0, -181), (float("nan"), 0)):
        with pytest.raises(ValidationError):
            RawLead(source="csv", name="A", zip="15213", latitude=lat, longitude=lng)
