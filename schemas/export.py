"""The JSON Schema of a raw lead: what any Kafka producer may push into leads.scraped."""

from __future__ import annotations

from typing import Any

from schemas.lead import RawLead


def raw_lead_schema() -> dict[str, Any]:
    schema = RawLead.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://leadstream.example/schemas/raw-lead.v1.json"
    schema["description"] = (
        "A business as found by a scraper or any producer, pushed to `leads.scraped` keyed by geography. "
        "Headers (optional): lead-id, trace-id (32 hex), ingest-ts (epoch ms)."
    )
    return schema
