"""No loss on the ingest path: every lead the API answered 202 for reaches a terminal state in a real worker."""

from __future__ import annotations

import orjson
import pytest
from httpx import ASGITransport, AsyncClient

from config import load_settings
from leadstream.api.app import Publisher, Resources, create_app
from leadstream.api.keys import KeyRateLimiter, KeyVerifier, create_key
from leadstream.demo import Demo, DemoOptions
from leadstream.producer import LeadProducer
from leadstream.progress import missing_terminal
from simulator.leads import generate_leads
from storage.api_keys import ApiKeys
from storage.lead_status import LeadStatus

pytestmark = [pytest.mark.services, pytest.mark.slow]


async def test_every_202_reaches_a_terminal_state(kafka_broker, database_url, redis_url, unique):
    demo = Demo(DemoOptions(leads=0, seed=23, partitions=2, timeout_s=300))
    await demo.start()
    producer = None
    try:
        env = demo.env
        settings = load_settings(
            kafka_broker=env["LEADSTREAM_KAFKA_BROKER"],
            topic_prefix=env["LEADSTREAM_TOPIC_PREFIX"],
            api={"key_cache_s": 0},
        )
        producer = LeadProducer(settings.kafka_broker, settings.topic_prefix)
        await producer.__aenter__()
        keys = ApiKeys(demo.pool)
        resources = Resources(
            primary=demo.pool,
            reads=demo.pool,
            publisher=Publisher(producer),
            limiter=KeyRateLimiter(redis_url, "1000/second", prefix=f"leadstream:api-e2e:{unique}"),
            keys=keys,
            verifier=KeyVerifier(keys, 0),
            status=LeadStatus(demo.pool),
        )
        key, _ = await create_key(keys, "e2e", ["ingest", "read"])
        headers = {"X-API-Key": key.token, "content-type": "application/json"}
        generated = generate_leads(150, 23)
        valid = [orjson.loads(g.payload) for g in generated if g.expected_valid]
        invalid = [g.payload for g in generated if not g.expected_valid]
        accepted: list[str] = []
        app = create_app(settings, resources)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://api") as client:
            for i in range(0, len(valid), 40):
                response = await client.post("/v1/leads", json=valid[i : i + 40], headers=headers)
                assert response.status_code == 202, response.text
                accepted += response.json()["lead_ids"]
            for payload in invalid:  # refused at the door (400/422), so never a 202 that could be lost
                response = await client.post("/v1/leads", content=payload, headers=headers)
                assert response.status_code in (400, 422), (payload, response.text)
            await demo.wait_until_drained(accepted)
            assert await missing_terminal(demo.pool, accepted) == []
            # and the API tells each one's end
            states = set()
            for lead_id in accepted[:20]:
                body = (await client.get(f"/v1/leads/{lead_id}", headers=headers)).json()
                states.add(body["state"])
                assert body["state"] != "in_flight" and body["stages"], body
            stats = (await client.get("/v1/stats", headers=headers)).json()
        assert len(accepted) == len(valid) and invalid
        assert stats["in_flight"] == 0 and stats["total"] >= len(set(accepted))
        assert states <= {"emailed", "duplicate", "disqualified", "suppressed", "dead_lettered"}
    finally:
        if producer is not None:
            await producer.producer.stop()
        await demo.stop()
