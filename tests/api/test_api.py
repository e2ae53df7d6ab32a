"""Every status path of the API: auth, scopes, revocation, limits, bodies, and what each route answers."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from leadstream.api.app import openapi_document
from schemas import DedupeDecision, EmailOutcome, Lead, RuleHit, Score
from storage.records import LeadRecords, RecordUpdate
from streams.admin import bootstrap_servers
from streams.envelope import H_LEAD_ID
from streams.topology import LEADS_SCRAPED, message_key

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
LEAD = {"source": "api", "name": "Acme Plumbing", "zip": "10002", "phone": "212-555-0101", "vertical": "plumber"}

ROUTES = [
    ("POST", "/v1/leads"),
    ("POST", "/v1/scrape-jobs"),
    ("GET", "/v1/leads"),
    ("GET", "/v1/leads/ld_x"),
    ("GET", "/v1/stats"),
    ("GET", "/v1/api-keys"),
    ("POST", "/v1/api-keys"),
    ("DELETE", "/v1/api-keys/abc"),
    ("GET", "/metrics"),
]


def auth(token: str) -> dict[str, str]:
    return {"X-API-Key": token}


def problem(response, status: int, kind: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    if kind:
        assert body["type"].endswith("/" + kind), body
    return body


async def test_health_needs_no_key(client):
    response = await client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_but_health_refuses_a_request_without_a_key(client, method, path):
    response = await client.request(method, path, json={})
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_openapi_and_docs_are_not_served(client):
    for path in ("/openapi.json", "/docs", "/redoc"):
        problem(await client.get(path), 404)


async def test_unknown_malformed_and_revoked_keys_are_refused(client, tokens):
    problem(await client.get("/v1/stats", headers=auth("nope")), 401)
    problem(await client.get("/v1/stats", headers=auth("lsk_0123456789abcdef_wrongsecret")), 401)
    good = tokens["read"]
    key_id = good[4:20]
    problem(await client.get("/v1/stats", headers=auth(good[:-1] + ("A" if good[-1] != "A" else "B"))), 401)
    assert (await client.get("/v1/stats", headers=auth(good))).status_code == 200
    assert (await client.get("/v1/stats", headers={"Authorization": f"Bearer {good}"})).status_code == 200
    assert (await client.delete(f"/v1/api-keys/{key_id}", headers=auth(tokens["admin"]))).status_code == 204
    problem(await client.get("/v1/stats", headers=auth(good)), 401)
    problem(await client.delete(f"/v1/api-keys/{key_id}", headers=auth(tokens["admin"])), 404)


async def test_a_key_without_the_scope_is_forbidden(client, tokens):
    problem(await client.post("/v1/leads", json=LEAD, headers=auth(tokens["read"])), 403, "forbidden")
    problem(await client.get("/v1/stats", headers=auth(tokens["ingest"])), 403)
    problem(await client.get("/v1/leads/ld_x", headers=auth(tokens["ingest"])), 403)
    problem(await client.get("/v1/api-keys", headers=auth(tokens["both"])), 403)
    # admin holds every scope
    assert (await client.get("/v1/stats", headers=auth(tokens["admin"]))).status_code == 200


async def test_post_one_lead_is_202_once_on_kafka_with_its_id_and_key(client, tokens, api_settings):
    response = await client.post("/v1/leads", json=LEAD, headers=auth(tokens["ingest"]))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 1 and body["lead_ids"][0].startswith("ld_")
    consumer = AIOKafkaConsumer(
        api_settings.topic_prefix + "leads.scraped",
        bootstrap_servers=bootstrap_servers(api_settings.kafka_broker),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=10_000)
        messages = [m for batch in batches.values() for m in batch]
    finally:
        await consumer.stop()
    assert len(messages) == 1
    message = messages[0]
    assert message.key == message_key(LEADS_SCRAPED, body["lead_ids"][0], "NY")  # the pipeline's own key
    assert orjson.loads(message.value)["lead_id"] == body["lead_ids"][0]
    assert dict(message.headers)[H_LEAD_ID] == body["lead_ids"][0].encode()


async def test_post_a_batch_returns_ids_in_order(client, tokens):
    leads = [{**LEAD, "lead_id": f"ld_batch_{i}", "name": f"Shop {i}"} for i in range(3)]
    response = await client.post("/v1/leads", json=leads, headers=auth(tokens["ingest"]))
    assert response.status_code == 202
    assert response.json()["lead_ids"] == ["ld_batch_0", "ld_batch_1", "ld_batch_2"]


async def test_batch_over_500_and_empty_batch_are_refused(client, tokens, api_settings):
    many = [{**LEAD, "lead_id": f"ld_{i}"} for i in range(501)]
    # the body limit is 64 KiB in these tests: allow the big batch through it to reach the count check
    body = json.dumps(many).encode()
    assert len(body) < 128 * 1024
    api_settings.api.max_body_bytes = 1024 * 1024
    problem(
        await client.post(
            "/v1/leads", content=body, headers={**auth(tokens["ingest"]), "content-type": "application/json"}
        ),
        422,
    )
    problem(await client.post("/v1/leads", json=[], headers=auth(tokens["ingest"])), 422)


async def test_malformed_and_invalid_bodies(client, tokens):
    headers = {**auth(tokens["ingest"]), "content-type": "application/json"}
    problem(await client.post("/v1/leads", content=b'{"name": ', headers=headers), 400, "malformed-body")
    body = problem(await client.post("/v1/leads", json={"source": "api"}, headers=headers), 422, "validation-error")
    assert any("name" in e["loc"] for e in body["errors"])
    problem(await client.post("/v1/leads", json={**LEAD, "colour": "red"}, headers=headers), 422)
    problem(await client.post("/v1/leads", json={**LEAD, "zip": "1"}, headers=headers), 422)
    problem(await client.post("/v1/leads", json={"source": "api", "name": "Nowhere"}, headers=headers), 422)
    problem(await client.post("/v1/leads", json="just a string", headers=headers), 422)
    problem(await client.post("/v1/scrape-jobs", json={"zip": "abc", "vertical": "hvac"}, headers=headers), 422)
    problem(await client.get("/v1/leads?cursor=notacursor", headers=auth(tokens["read"])), 400, "bad-cursor")
    problem(await client.get("/v1/leads?limit=0", headers=auth(tokens["read"])), 422)
    problem(await client.get("/v1/leads?state=lost", headers=auth(tokens["read"])), 422)


async def test_oversized_bodies_are_413_declared_or_streamed(client, tokens):
    big = json.dumps([{**LEAD, "name": "x" * 200, "lead_id": f"ld_{i}"} for i in range(400)]).encode()
    assert len(big) > 64 * 1024
    headers = {**auth(tokens["ingest"]), "content-type": "application/json"}
    problem(await client.post("/v1/leads", content=big, headers=headers), 413, "payload-too-large")

    async def chunks():  # no Content-Length: counted while read
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    problem(await client.post("/v1/leads", content=chunks(), headers=headers), 413, "payload-too-large")


async def test_rate_limit_answers_429_with_retry_after(client, resources):
    from leadstream.api.keys import create_key

    key, _ = await create_key(resources.keys, "slow", ["read"], rate="2/minute")
    for _ in range(2):
        assert (await client.get("/v1/stats", headers=auth(key.token))).status_code == 200
    response = await client.get("/v1/stats", headers=auth(key.token))
    problem(response, 429, "rate-limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_method_not_allowed_is_a_problem(client, tokens):
    problem(await client.put("/v1/stats", headers=auth(tokens["read"])), 405)


async def test_kafka_unavailable_is_503(client, tokens, resources):
    await resources.publisher.producer.producer.stop()
    response = await client.post("/v1/leads", json=LEAD, headers=auth(tokens["ingest"]))
    problem(response, 503, "unavailable")
    assert response.headers["retry-after"] == "5"


async def test_scrape_jobs_are_queued(client, tokens):
    response = await client.post(
        "/v1/scrape-jobs", json=[{"zip": "10002", "vertical": "plumber"}], headers=auth(tokens["ingest"])
    )
    assert response.status_code == 202 and response.json() == {"accepted": 1, "job_ids": ["plumber@10002"]}


def _lead(lead_id: str, **extra) -> Lead:
    fields = {"geo_key": "NY", "source": "api", "name": lead_id, "zip": "10002", "vertical": "plumber", **extra}
    return Lead(lead_id=lead_id, **fields)


async def _write(pool, lead: Lead, stage: str, state=None, reason=None, ingest_ms=1_700_000_000_000):
    await LeadRecords(pool).write([RecordUpdate(lead, stage, "t" * 32, ingest_ms, state, reason)])


async def test_lead_detail_tells_the_whole_story(client, tokens, pool):
    from schemas import TerminalState

    score = Score(
        value=71.5, tier="A", qualified=True, rules_version="r1", base=50, rules=[RuleHit(rule="old_site", delta=21.5)]
    )
    dedupe = DedupeDecision(decision="new", entity_id="ent_1")
    first = _lead("ld_one")
    await _write(pool, first, "ingest")
    await _write(pool, first.model_copy(update={"dedupe": dedupe}), "dedupe")
    await _write(pool, first.model_copy(update={"dedupe": dedupe, "score": score}), "score")
    outcome = EmailOutcome(idempotency_key="ld_one:intro", status="sent", message_id="m1", to="a@b.example")
    await pool.execute(
        "INSERT INTO email_outbox (idempotency_key, lead_id, campaign_step, recipient, status, message_id) "
        "VALUES ('ld_one:intro', 'ld_one', 'intro', 'a@b.example', 'sent', 'm1')"
    )
    await _write(
        pool,
        first.model_copy(update={"dedupe": dedupe, "score": score, "email_outcome": outcome}),
        "email",
        TerminalState.emailed,
    )
    dup = _lead("ld_two", dedupe=DedupeDecision(decision="duplicate", entity_id="ent_1", duplicate_of="ld_one"))
    await _write(pool, dup, "dedupe", TerminalState.duplicate, "duplicate of ld_one")

    response = await client.get("/v1/leads/ld_one", headers=auth(tokens["read"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "emailed" and body["stage"] == "email"
    assert [s["stage"] for s in body["stages"]] == ["ingest", "dedupe", "score", "email"]
    assert body["score"]["value"] == 71.5 and body["score"]["rules_version"] == "r1"
    assert "old_site" in body["score"]["explanation"] and body["score"]["rules"][0]["delta"] == 21.5
    assert body["entity_id"] == "ent_1" and body["duplicates"] == ["ld_two"]
    assert body["email"]["status"] == "sent" and body["email"]["outbox"][0]["status"] == "sent"
    assert body["dead_letter"] is None and body["schema_version"] == 1

    two = (await client.get("/v1/leads/ld_two", headers=auth(tokens["read"]))).json()
    assert two["state"] == "duplicate" and two["duplicate_of"] == "ld_one" and two["duplicates"] == ["ld_one"]
    assert not two["stands_in"] and not body["stands_in"]
    # a duplicate that went on in place of a first lead without an address says so (`merge.stand_in`)
    stand_in = DedupeDecision(decision="duplicate", entity_id="ent_1", duplicate_of="ld_one", stands_in=True)
    await _write(pool, _lead("ld_three", dedupe=stand_in), "dedupe")
    three = (await client.get("/v1/leads/ld_three", headers=auth(tokens["read"]))).json()
    assert three["state"] == "in_flight" and three["duplicate_of"] == "ld_one" and three["stands_in"]
    problem(await client.get("/v1/leads/ld_missing", headers=auth(tokens["read"])), 404, "not-found")


async def test_dead_lettered_lead_shows_its_reason(client, tokens, pool):
    from storage.records import DeadLetter

    await LeadRecords(pool).dead_letter(
        [
            DeadLetter(
                "enrich", "ld_dead", "NY", "t", 0, 7, "ValueError", "bad website", 4, b"{}", "t" * 32, 1_700_000_000_000
            )
        ]
    )
    body = (await client.get("/v1/leads/ld_dead", headers=auth(tokens["read"]))).json()
    assert body["state"] == "dead_lettered"
    assert body["dead_letter"]["reason"] == "bad website" and body["dead_letter"]["stage"] == "enrich"


async def test_list_filters_and_pages_with_a_cursor(client, tokens, pool):
    from schemas import TerminalState

    for i in range(7):
        lead = _lead(f"ld_p{i}", vertical="vet" if i % 2 else "plumber")
        await _write(
            pool, lead, "score", TerminalState.disqualified if i < 3 else None, ingest_ms=1_700_000_000_000 + i * 1000
        )
    seen, cursor = [], None
    while True:
        url = "/v1/leads?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=auth(tokens["read"]))).json()
        seen += [i["lead_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"ld_p{i}" for i in reversed(range(7))]
    got = (await client.get("/v1/leads?vertical=vet&state=in_flight", headers=auth(tokens["read"]))).json()
    assert [i["lead_id"] for i in got["items"]] == ["ld_p5", "ld_p3"]
    got = (await client.get("/v1/leads?state=disqualified&geography=NY", headers=auth(tokens["read"]))).json()
    assert len(got["items"]) == 3
    got = (await client.get("/v1/leads?since=2023-11-14T22:13:22Z", headers=auth(tokens["read"]))).json()
    assert [i["lead_id"] for i in got["items"]] == ["ld_p6", "ld_p5", "ld_p4", "ld_p3", "ld_p2"]
    assert (await client.get("/v1/leads?geography=CA", headers=auth(tokens["read"]))).json()["items"] == []

    stats = (await client.get("/v1/stats", headers=auth(tokens["read"]))).json()
    assert stats == {
        "total": 7,
        "in_flight": 4,
        "dead_letters": 0,
        "by_stage": {"score": 4},
        "by_state": {"disqualified": 3},
    }


async def test_admin_creates_keys_over_http(client, tokens):
    response = await client.post(
        "/v1/api-keys", json={"name": "partner", "scopes": ["ingest"]}, headers=auth(tokens["admin"])
    )
    assert response.status_code == 201
    token = response.json()["token"]
    assert (await client.post("/v1/leads", json=LEAD, headers=auth(token))).status_code == 202
    problem(
        await client.post("/v1/api-keys", json={"name": "x", "scopes": ["root"]}, headers=auth(tokens["admin"])), 422
    )
    listed = (await client.get("/v1/api-keys", headers=auth(tokens["admin"]))).json()
    assert "partner" in {k["name"] for k in listed} and all("token" not in k for k in listed)


async def test_metrics_count_requests_by_route_template(client, tokens):
    await client.get("/v1/leads/ld_a", headers=auth(tokens["read"]))
    text = (await client.get("/metrics", headers=auth(tokens["read"]))).text
    assert 'leadstream_api_requests_total{method="GET",route="/v1/leads/{lead_id}",status="404"} 1.0' in text


def test_committed_openapi_document_is_current():
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(openapi_document())), "run: python -m leadstream schema openapi"
