"""HTTP endpoints for email compliance: RFC 8058 one-click unsubscribe and SendGrid's signed Event Webhook.

Plain aiohttp route definitions, so they mount on any aiohttp application —
including the Faust worker's web server (`app.web.web_app`).
"""

from __future__ import annotations

import binascii
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader

from stages.email.events import EventStore, ReplayedRequest, parse_events
from stages.email.tokens import TOKEN_DAYS, ExpiredToken, InvalidToken, decode_unsubscribe_token
from storage.db import Pool
from storage.outbox import Outbox

PoolProvider = Callable[[], Awaitable[Pool]]
log = logging.getLogger(__name__)

SIGNATURE_HEADER = EventWebhookHeader.SIGNATURE  # X-Twilio-Email-Event-Webhook-Signature
TIMESTAMP_HEADER = EventWebhookHeader.TIMESTAMP  # X-Twilio-Email-Event-Webhook-Timestamp
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


INVALID = "This unsubscribe link is not valid."
EXPIRED = (
    "This unsubscribe link has expired. Use the link in our most recent email, or write to us at the postal "
    "address printed at the end of every email we send."
)


class WebhookRejected(Exception):
    """The request is not a fresh, genuine SendGrid post."""


class SignatureVerifier:
    """Checks SendGrid's ECDSA P-256 signature over `timestamp + raw body`, and the timestamp's freshness."""

    def __init__(self, public_key: str, tolerance_s: int = 300) -> None:
        self._helper = EventWebhook()
        self._key: ec.EllipticCurvePublicKey = self._helper.convert_public_key_to_ecdsa(public_key.strip())
        self.tolerance_s = tolerance_s

    def verify(
        self, body: bytes, signature: str | None, timestamp: str | None, *, now: float | None = None
    ) -> datetime:
        """The signed time of a genuine, fresh request; raises WebhookRejected otherwise."""
        if not signature or not timestamp:
            raise WebhookRejected("missing signature headers")
        try:
            signed_at = int(timestamp)
        except ValueError:
            raise WebhookRejected("malformed timestamp") from None
        if abs((now if now is not None else time.time()) - signed_at) > self.tolerance_s:
            raise WebhookRejected("stale timestamp")
        try:
            genuine = self._helper.verify_signature(body.decode("utf-8"), signature, timestamp, self._key)
        except (UnicodeDecodeError, binascii.Error, ValueError):
            genuine = False
        if not genuine:
            raise WebhookRejected("bad signature")
        return datetime.fromtimestamp(signed_at, UTC)


def replay_key(timestamp: str, body: bytes) -> str:
    """What identifies a signed request for the replay guard: a hash of what the signature covers.

    Not the signature string: an ECDSA signature has other valid encodings of
    the same (timestamp, body) — (r, n - s), a re-encoded DER — and each one
    would pass as new.
    """
    return "sha256:" + hashlib.sha256(timestamp.encode() + b"\n" + body).hexdigest()


def routes(
    pool_provider: PoolProvider,
    *,
    unsubscribe_secret: str,
    webhook_public_key: str | None,
    tolerance_s: int = 300,
    token_days: int = TOKEN_DAYS,
    clock: Callable[[], float] = time.time,
) -> list[web.RouteDef]:
    """The compliance routes. Without a webhook public key the event webhook is not mounted at all
    (an unsigned webhook could be used to suppress anyone or to pause sending)."""

    def address_of(request: web.Request) -> str | web.Response:
        """The token's address, or the 400 page that says why there is none."""
        try:
            address, _ = decode_unsubscribe_token(
                unsubscribe_secret, request.match_info["token"], now=clock(), max_age_days=token_days
            )
        except ExpiredToken:
            return _page(EXPIRED, status=400)
        except InvalidToken:
            return _page(INVALID, status=400)
        return address if "@" in address else _page(INVALID, status=400)

    async def unsubscribe_page(request: web.Request) -> web.Response:
        if isinstance(checked := address_of(request), web.Response):
            return checked
        return _page(
            "Stop receiving emails from us?"
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe</button></form>'
        )

    async def unsubscribe(request: web.Request) -> web.Response:
        await request.read()  # body is `List-Unsubscribe=One-Click`; any body is accepted
        if isinstance(address := address_of(request), web.Response):
            return address
        await Outbox(await pool_provider()).suppress(address, "unsubscribe")
        log.info("one-click unsubscribe recorded")
        return _page("You are unsubscribed. You will not receive further emails from us.")

    table: list[web.RouteDef] = [web.get("/u/{token}", unsubscribe_page), web.post("/u/{token}", unsubscribe)]
    if webhook_public_key:
        verifier = SignatureVerifier(webhook_public_key, tolerance_s)
        table.append(web.post("/webhooks/sendgrid/events", _event_handler(pool_provider, verifier)))
    return table


def _event_handler(pool_provider: PoolProvider, verifier: SignatureVerifier):
    async def sendgrid_events(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            signed_at = verifier.verify(
                body, request.headers.get(SIGNATURE_HEADER), request.headers.get(TIMESTAMP_HEADER)
            )
        except WebhookRejected as exc:
            log.warning("sendgrid webhook rejected: %s", exc)
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            events, invalid = parse_events(body)
        except ValueError:
            return web.json_response({"error": "body must be a JSON array of events"}, status=400)
        store = EventStore(await pool_provider())
        try:
            result = await store.record(
                events,
                replay_key=replay_key(request.headers.get(TIMESTAMP_HEADER, ""), body),
                signed_at=signed_at,
                invalid=invalid,
            )
        except ReplayedRequest:
            log.warning("sendgrid webhook replay rejected")
            return web.json_response({"error": "forbidden"}, status=403)
        await store.prune_signatures(older_than_s=2 * verifier.tolerance_s)
        return web.json_response(result.summary())

    return sendgrid_events


def _page(message: str, *, status: int = 200) -> web.Response:
    body = f"<!doctype html><meta charset=utf-8><title>Unsubscribe</title><p>{message}</p>"
    return web.Response(text=body, status=status, content_type="text/html", headers=_PAGE_HEADERS)
