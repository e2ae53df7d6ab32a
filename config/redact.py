"""Credentials never reach output: masking for URLs in settings listings and in every log line.

API keys travel as query parameters (PageSpeed ``key=``, Hunter ``api_key=``)
and passwords inside connection URLs (``postgresql://app:pw@db/leads``,
``redis://:pw@cache``, ``…?password=pw``); httpx logs each request URL at
INFO, and libraries log connection strings. `redact` masks those shapes in
any text; `install_log_redaction` makes every log record pass through it (a
log record factory, so records of every logger are covered, whatever
handlers are configured later).
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "***"
_SECRET_PARAMS = (
    "key|api_key|apikey|api-key|access_token|refresh_token|token|auth|secret|client_secret|password|passwd|pwd"
    "|sslpassword|signature|sig"
)
_QUERY_SECRET = re.compile(rf"(?i)([?&;](?:{_SECRET_PARAMS})=)[^&;#\s\"'<>]+")
# scheme://user:password@host — the password is whatever lies between the first ":" after the scheme's
# "//" and the "@" that ends the userinfo; neither part can contain "/", whitespace or "@".
_USERINFO_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,30}://[^\s/@:]{0,256}:)[^\s/@]{1,512}@")
_BEARER = re.compile(r"(?i)\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}")


def redact(text: str) -> str:
    """`text` with URL passwords, secret query parameters and bearer tokens replaced by ***."""
    if "=" in text:
        text = _QUERY_SECRET.sub(rf"\g<1>{MASK}", text)
    if "@" in text:
        text = _USERINFO_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    if "earer" in text:
        text = _BEARER.sub(rf"\g<1>{MASK}", text)
    return text


class _RedactingFactory:
    """Wraps the current log record factory: each record's message is rendered and redacted once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.inner(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it itself, later
            return record
        masked = redact(message)
        if masked != message:
            # Empty tuple, not None: mode's log formatter wraps a non-tuple into (None,) and `%` then fails.
            record.msg, record.args = masked, ()
        return record


def install_log_redaction() -> None:
    """Make every log record of this process pass through `redact` (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(current))
