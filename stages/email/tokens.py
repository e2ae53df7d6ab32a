"""One-click unsubscribe tokens: opaque, authenticated, and valid long enough for CAN-SPAM.

A token is ``u1.`` + base64url(nonce ‖ AES-256-GCM(address, lead id, issue
time)). The key is derived (HKDF-SHA256) from `LEADSTREAM_EMAIL__UNSUBSCRIBE_SECRET`,
so only the server can read a token (the address is not visible in the link)
and nobody can make one. Authenticated encryption rather than a random id
stored in PostgreSQL: composing an email writes nothing, and a link works on
any worker, after any restore, for as long as the secret is kept.

Tokens expire `TOKEN_DAYS` (default 90) days after the email was composed;
CAN-SPAM requires the opt-out to work for at least 30 days after sending, so
the setting cannot go below 30. An expired link says so and how else to opt
out (the email's reply address and postal address still work).

Tokens of the earlier format (``base64(address|lead).hmac``, readable and
without an issue time) are still accepted so the links in emails already sent
keep working; remove `_read_legacy` once every such email is older than 30
days (docs/security.md). Anything else — other secret, tampered, non-canonical
base64, non-ASCII, oversized — is simply invalid (`InvalidToken`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "u1"
TOKEN_DAYS = 90
MIN_TOKEN_DAYS = 30  # CAN-SPAM: a working opt-out for 30 days after the send
MAX_TOKEN_CHARS = 1024
_AAD = b"leadstream unsubscribe token v1"
_NONCE_BYTES = 12


class InvalidToken(ValueError):
    """Not a token this server issued (or not readable as one)."""


class ExpiredToken(InvalidToken):
    """A genuine token past its validity."""


def _key(secret: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_AAD).derive(secret.encode())
    return AESGCM(derived)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    """Strict: only the canonical encoding of some bytes decodes (a changed padding bit is a different token)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("not base64") from None
    if _b64encode(raw) != text:
        raise InvalidToken("not canonical base64")
    return raw


def unsubscribe_token(secret: str, address: str, lead_id: str, *, now: float | None = None) -> str:
    """A token for `address` (already normalised, `schemas.address.mailbox`) issued at `now`."""
    issued = int(time.time() if now is None else now)
    plaintext = issued.to_bytes(8, "big") + f"{address}\n{lead_id}".encode()
    nonce = os.urandom(_NONCE_BYTES)
    return f"{VERSION}.{_b64encode(nonce + _key(secret).encrypt(nonce, plaintext, _AAD))}"


def decode_unsubscribe_token(
    secret: str, token: str, *, now: float | None = None, max_age_days: int = TOKEN_DAYS
) -> tuple[str, str]:
    """(address, lead id) of a genuine, unexpired token; `InvalidToken` / `ExpiredToken` otherwise."""
    if not isinstance(token, str) or not token.isascii() or len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("malformed")
    version, dot, body = token.partition(".")
    if version != VERSION or not dot:
        return _read_legacy(secret, token)
    raw = _b64decode(body)
    if len(raw) < _NONCE_BYTES + 16 + 8:
        raise InvalidToken("too short")
    try:
        plaintext = _key(secret).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _AAD)
    except InvalidTag:
        raise InvalidToken("not ours") from None
    issued = int.from_bytes(plaintext[:8], "big")
    address, _, lead_id = plaintext[8:].decode().partition("\n")
    if (time.time() if now is None else now) - issued > max_age_days * 86400:
        raise ExpiredToken(f"issued {issued}, valid {max_age_days} days")
    return address, lead_id


def read_unsubscribe_token(
    secret: str, token: str, *, now: float | None = None, max_age_days: int = TOKEN_DAYS
) -> tuple[str, str] | None:
    """(address, lead id), or None for any token that is not genuine and current."""
    try:
        return decode_unsubscribe_token(secret, token, now=now, max_age_days=max_age_days)
    except InvalidToken:
        return None


def _read_legacy(secret: str, token: str) -> tuple[str, str]:
    """The earlier ``base64(address|lead).hmac32`` tokens, in emails sent before tokens were encrypted."""
    body, _, signature = token.partition(".")
    expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()[:32]
    if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise InvalidToken("bad signature")
    try:
        address, _, lead_id = _b64decode(body).decode().partition("|")
    except UnicodeDecodeError:
        raise InvalidToken("bad body") from None
    return address, lead_id
