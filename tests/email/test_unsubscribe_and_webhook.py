"""One-click unsubscribe and SendGrid's signed Event Webhook, served by a real aiohttp
server on loopback and backed by real PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from leadstream.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, routes
from stages.email.delivery import read_unsubscribe_token, unsubscribe_token
from storage.outbox import Outbox

pytestmark = pytest.mark.services

SECRET = "unsubscribe-test-secret"
EVENTS_URL = "/webhooks/sendgrid/events"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The verification key as SendGrid shows it: base64 of the DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
async def client(pool, signing_key):
    async def pool_provider():
        return pool

    app = web.Application()
    app.add_routes(
        routes(
            pool_provider, unsubscribe_secret=SECRET, webhook_public_key=_public_key_b64(signing_key), tolerance_s=300
        )
    )
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield client


def sign(key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers exactly as SendGrid sends them: ECDSA/SHA-256 over timestamp + body, DER, base64."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        TIMESTAMP_HEADER: stamp,
        "Content-Type": "application/json",
    }


def event(kind: str, email: str, *, msg: str = "msg1.filter", ts: int = 1_780_000_000, **extra) -> dict:
    return {
        "email": email,
        "event": kind,
        "timestamp": ts,
        "sg_message_id": msg,
        "sg_event_id": base64.b64encode(f"{kind}{ts}{time.monotonic_ns()}".encode()).decode(),
        **extra,
    }


async def post_events(client, key, events: list[dict], *, timestamp: int | None = None):
    body = orjson.dumps(events)
    return await client.post(EVENTS_URL, data=body, headers=sign(key, body, timestamp))


async def event_count(pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM email_events")


# --- Event Webhook -----------------------------------------------------------------------------------------------


async def test_genuine_events_are_recorded_and_bounce_suppresses(client, pool, signing_key):
    events = [
        event("delivered", "a@example.com", msg="m-a"),
        event("open", "a@example.com", msg="m-a"),
        event("bounce", "Gone@Example.org", msg="m-b", type="bounce", reason="550 no such user"),
        event("bounce", "soft@example.net", msg="m-c", type="blocked"),
    ]
    response = await post_events(client, signing_key, events)
    assert response.status == 200
    summary = await response.json()
    assert summary["new"] == 4 and summary["duplicates"] == 0 and summary["suppressed"] == 1
    assert summary["counts"] == {"delivered": 1, "open": 1, "bounce": 2}
    outbox = Outbox(pool)
    assert await outbox.suppression_reason("gone@example.org") == "bounce"
    assert await outbox.suppression_reason("soft@example.net") is None  # a blocked bounce is soft
    assert await outbox.suppression_reason("a@example.com") is None


async def test_duplicate_event_counts_once_even_with_a_new_event_id(client, pool, signing_key):
    first = event("spamreport", "angry@example.com", msg="m-s", ts=1_780_000_100)
    retried = dict(first, sg_event_id="a-different-id-on-retry")
    assert (await post_events(client, signing_key, [first])).status == 200
    response = await post_events(client, signing_key, [retried, event("delivered", "x@example.com", msg="m-x")])
    assert response.status == 200
    summary = await response.json()
    assert summary["new"] == 1 and summary["duplicates"] == 1 and summary["counts"] == {"delivered": 1}
    assert await event_count(pool) == 2
    assert await Outbox(pool).suppression_reason("angry@example.com") == "spamreport"


async def test_each_suppressing_event_kind_suppresses_with_its_reason(client, pool, signing_key):
    kinds = ["dropped", "unsubscribe", "group_unsubscribe"]
    events = [event(kind, f"{kind}@example.com", msg=f"m-{kind}") for kind in kinds]
    assert (await post_events(client, signing_key, events)).status == 200
    outbox = Outbox(pool)
    assert [await outbox.suppression_reason(f"{kind}@example.com") for kind in kinds] == kinds


async def test_forged_requests_are_refused(client, pool, signing_key):
    body = orjson.dumps([event("unsubscribe", "victim@example.com")])
    wrong_key = ec.generate_private_key(ec.SECP256R1())
    assert (await client.post(EVENTS_URL, data=body, headers=sign(wrong_key, body))).status == 403
    headers = sign(signing_key, body)
    altered = body.replace(b"victim@", b"other@")
    assert (await client.post(EVENTS_URL, data=altered, headers=headers)).status == 403
    bumped = dict(headers, **{TIMESTAMP_HEADER: str(int(headers[TIMESTAMP_HEADER]) + 1)})
    assert (await client.post(EVENTS_URL, data=body, headers=bumped)).status == 403
    garbage = dict(headers, **{SIGNATURE_HEADER: "not base64 !!"})
    assert (await client.post(EVENTS_URL, data=body, headers=garbage)).status == 403
    unsigned = await client.post(EVENTS_URL, data=body, headers={"Content-Type": "application/json"})
    assert unsigned.status == 403
    assert await event_count(pool) == 0
    assert await Outbox(pool).suppression_reason("victim@example.com") is None


async def test_stale_and_future_timestamps_are_refused(client, pool, signing_key):
    events = [event("delivered", "late@example.com")]
    assert (await post_events(client, signing_key, events, timestamp=int(time.time()) - 301)).status == 403
    assert (await post_events(client, signing_key, events, timestamp=int(time.time()) + 301)).status == 403
    assert (await post_events(client, signing_key, events, timestamp=int(time.time()) - 200)).status == 200


async def test_replayed_request_is_refused(client, pool, signing_key):
    body = orjson.dumps([event("delivered", "r@example.com", msg="m-r")])
    headers = sign(signing_key, body)
    assert (await client.post(EVENTS_URL, data=body, headers=headers)).status == 200
    replay = await client.post(EVENTS_URL, data=body, headers=headers)
    assert replay.status == 403
    assert await pool.fetchval("SELECT count(*) FROM webhook_signatures") == 1


async def test_signed_body_that_is_not_an_array_is_a_bad_request(client, pool, signing_key):
    body = orjson.dumps({"event": "delivered"})
    assert (await client.post(EVENTS_URL, data=body, headers=sign(signing_key, body))).status == 400


async def test_webhook_is_not_mounted_without_a_public_key(pool):
    async def pool_provider():
        return pool

    table = routes(pool_provider, unsubscribe_secret=SECRET, webhook_public_key=None)
    assert {(r.method, r.path) for r in table} == {("GET", "/u/{token}"), ("POST", "/u/{token}")}


# --- One-click unsubscribe ---------------------------------------------------------------------------------------


async def test_one_click_post_suppresses_address_for_every_later_lead(client, pool):
    token = unsubscribe_token(SECRET, "Owner@AcmePlumbing.com", "ld_1")
    response = await client.post(
        f"/u/{token}", data="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 200
    outbox = Outbox(pool)
    assert await outbox.suppression_reason("owner@acmeplumbing.com") == "unsubscribe"
    # A later lead for the same person is refused at claim time by EmailDelivery's suppression check.
    assert await outbox.suppression_reason(" OWNER@acmeplumbing.com ") == "unsubscribe"
    again = await client.post(f"/u/{token}", data=b"")  # idempotent, any body
    assert again.status == 200


async def test_get_shows_a_confirm_form_and_does_not_unsubscribe(client, pool):
    token = unsubscribe_token(SECRET, "reader@example.com", "ld_2")
    response = await client.get(f"/u/{token}")
    assert response.status == 200
    page = await response.text()
    assert '<form method="post"' in page and "reader@example.com" not in page
    assert response.headers["Cache-Control"] == "no-store"
    assert await Outbox(pool).suppression_reason("reader@example.com") is None


async def test_forged_token_is_refused_without_detail(client, pool):
    genuine = unsubscribe_token(SECRET, "someone@example.com", "ld_3")
    forged = unsubscribe_token("guessed-secret", "someone@example.com", "ld_3")
    tampered = genuine[:-1] + ("0" if genuine[-1] != "0" else "1")
    for token in (forged, tampered, "garbage", "Zm9v.", ".abc"):
        response = await client.post(f"/u/{token}", data="List-Unsubscribe=One-Click")
        assert response.status == 400
        assert "someone" not in await response.text()
    assert (await client.get(f"/u/{forged}")).status == 400
    assert await pool.fetchval("SELECT count(*) FROM suppressions") == 0


async def test_a_re_encoded_signature_is_still_a_replay(client, pool, signing_key):
    """ECDSA signatures are malleable: (r, n - s) verifies too. The replay guard keys on what is signed."""
    body = orjson.dumps([event("unsubscribe", "m@example.com", msg="m-m")])
    headers = sign(signing_key, body)
    assert (await client.post(EVENTS_URL, data=body, headers=headers)).status == 200
    r, s = decode_dss_signature(base64.b64decode(headers[SIGNATURE_HEADER]))
    malleated = base64.b64encode(encode_dss_signature(r, P256_ORDER - s)).decode()
    assert malleated != headers[SIGNATURE_HEADER]
    signing_key.public_key().verify(  # the other encoding is a valid signature of the same request
        base64.b64decode(malleated), headers[TIMESTAMP_HEADER].encode() + body, ec.ECDSA(hashes.SHA256())
    )
    replay = await client.post(EVENTS_URL, data=body, headers=dict(headers, **{SIGNATURE_HEADER: malleated}))
    assert replay.status == 403
    assert await pool.fetchval("SELECT count(*) FROM webhook_signatures") == 1


# --- Tokens: opaque, expiring, and never a 500 ---------------------------------------------------------------------


async def _client_at(pool, now: float):
    async def pool_provider():
        return pool

    app = web.Application()
    app.add_routes(routes(pool_provider, unsubscribe_secret=SECRET, webhook_public_key=None, clock=lambda: now))
    return TestClient(TestServer(app, host="127.0.0.1", port=0))


async def test_non_ascii_and_oversized_tokens_are_a_bad_request_not_a_crash(client, pool):
    for token in ("ü", "Zm9v.ü", "u1.ä" + "A" * 40, "%00", "u1." + "A" * 2000, "u1.", "u1.@@@"):
        assert (await client.get(f"/u/{token}")).status == 400, token
        assert (await client.post(f"/u/{token}", data=b"")).status == 400, token
    assert await pool.fetchval("SELECT count(*) FROM suppressions") == 0


def test_tokens_are_opaque() -> None:
    token = unsubscribe_token(SECRET, "owner@acmeplumbing.com", "ld_opaque")
    body = token.split(".", 1)[1]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert b"owner" not in raw and b"acmeplumbing" not in raw and b"ld_opaque" not in raw
    assert unsubscribe_token(SECRET, "owner@acmeplumbing.com", "ld_opaque") != token  # a fresh nonce each time
    assert read_unsubscribe_token(SECRET, token) == ("owner@acmeplumbing.com", "ld_opaque")


async def test_a_token_works_for_its_validity_then_says_it_expired(pool):
    issued = 1_780_000_000.0
    token = unsubscribe_token(SECRET, "late@example.com", "ld_exp", now=issued)
    async with await _client_at(pool, issued + 89 * 86400) as within:
        assert (await within.get(f"/u/{token}")).status == 200
    async with await _client_at(pool, issued + 91 * 86400) as after:
        response = await after.post(f"/u/{token}", data=b"")
        assert response.status == 400 and "has expired" in await response.text()
    assert await Outbox(pool).suppression_reason("late@example.com") is None


async def test_links_in_emails_sent_before_encryption_still_unsubscribe(client, pool):
    body = base64.urlsafe_b64encode(b"old@example.com|ld_old").decode().rstrip("=")
    legacy = f"{body}.{hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()[:32]}"
    assert (await client.post(f"/u/{legacy}", data=b"")).status == 200
    assert await Outbox(pool).suppression_reason("old@example.com") == "unsubscribe"
