"""SendGrid v3: the request built by the official `sendgrid` library's helpers, sent with httpx (base URL
configurable). The library's own transport is synchronous (a thread per send); the send itself, on
every emailed lead, is async. The Email Activity lookup (rare: an unknown outcome) still uses the
library in a worker thread. SendGrid has no
idempotency key: the outbox (storage/outbox.py) provides one, carried here in
``custom_args`` and used to look a send up in the Email Activity API when its
outcome is unknown.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import urllib.error
from dataclasses import dataclass, field

import httpx
from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    Category,
    ContentId,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    Header,
    Mail,
    To,
)

from providers.http import PermanentProviderError, TransientProviderError, make_client

PROVIDER = "sendgrid"
# What may go verbatim into an Email Activity query's quoted value (and the custom arg it matches).
_QUERY_SAFE = re.compile(r"[A-Za-z0-9._:@+-]{1,128}")


def activity_key(idempotency_key: str) -> str:
    """The idempotency key as carried in ``custom_args`` and searched for in the Email Activity API.

    The activity query is a string SendGrid parses (``unique_args['k']="v"``), and
    a key comes from a lead id a producer chose: a quote in it would end the
    value and append query terms of the producer's. Keys of safe characters (all
    the ids leadstream derives) are used as they are; any other becomes
    ``sha256:<hex>`` in both places, so the lookup still finds its send.
    """
    if _QUERY_SAFE.fullmatch(idempotency_key):
        return idempotency_key
    return "sha256:" + hashlib.sha256(idempotency_key.encode()).hexdigest()


class SendOutcomeUnknown(TransientProviderError):
    """The request may have reached SendGrid (e.g. a read timeout): reconcile before sending again."""


@dataclass
class InlineImage:
    content: bytes
    filename: str
    content_id: str
    mime_type: str = "image/png"


@dataclass
class OutgoingEmail:
    to: str
    subject: str
    html: str
    text: str
    idempotency_key: str
    lead_id: str
    categories: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    images: list[InlineImage] = field(default_factory=list)


class SendGridMailer:
    def __init__(self, base_url: str, api_key: str, from_email: str, from_name: str, timeout_s: float = 10.0) -> None:
        self.client = SendGridAPIClient(api_key=api_key, host=base_url.rstrip("/"))
        self.client.client.timeout = timeout_s
        self.from_email, self.from_name = from_email, from_name
        self.base_url, self.timeout_s = base_url.rstrip("/"), timeout_s
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop:  # a client belongs to the loop that made it
            self._http = make_client(self.base_url, timeout_s=self.timeout_s, keep_cookies=False)
            self._loop = loop
        return self._http

    def build(self, email: OutgoingEmail) -> Mail:
        """The v3 request. Refuses (`PermanentProviderError`) a recipient SendGrid's helper would re-parse
        into another address, and CR/LF in the subject or any header: the caller validates both first."""
        recipient = To(email.to)
        if recipient.email != email.to or recipient.name is not None:
            raise PermanentProviderError(PROVIDER, "recipient is not one bare address")
        single_line = [email.subject, self.from_name, *email.headers, *email.headers.values()]
        if any(c in value for value in single_line for c in "\r\n\x00"):
            raise PermanentProviderError(PROVIDER, "line break in the subject or a header")
        mail = Mail(
            from_email=(self.from_email, self.from_name),
            to_emails=recipient,
            subject=email.subject,
            plain_text_content=email.text,
            html_content=email.html,
        )
        # custom_args are kept long-term by SendGrid: opaque ids only, no personal data.
        mail.custom_arg = [
            CustomArg("idempotency_key", activity_key(email.idempotency_key)),
            CustomArg("lead_id", email.lead_id),
        ]
        mail.category = [Category(c) for c in email.categories[:10]]
        for name, value in email.headers.items():
            mail.header = Header(name, value)
        for image in email.images:
            mail.attachment = Attachment(
                FileContent(base64.b64encode(image.content).decode()),
                FileName(image.filename),
                FileType(image.mime_type),
                Disposition("inline"),
                ContentId(image.content_id),
            )
        return mail

    async def send(self, email: OutgoingEmail, deadline: float | None = None) -> str | None:
        """Send; return SendGrid's message id. Raises on refusal; `SendOutcomeUnknown` when it cannot tell.

        `deadline` (event-loop time, default now + `timeout_s`): the request leaves before it or not at all,
        and the call gives up at it. So a send started at t can reach SendGrid only before t + `timeout_s`,
        which is what lets another worker reconcile a key this one left ``pending`` (`stages.email`).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s if deadline is None else deadline
        body = json.dumps(self.build(email).get()).encode()
        headers = {**self._auth, "Content-Type": "application/json", "Accept": "application/json"}
        if loop.time() >= deadline:  # e.g. this worker was starved: nothing is sent
            raise TransientProviderError(PROVIDER, "send deadline passed before the request left")
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._client().post("/v3/mail/send", content=body, headers=headers)
        except TimeoutError as exc:  # the request may have arrived
            raise SendOutcomeUnknown(PROVIDER, "no answer before the send deadline") from exc
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # nothing was sent
            raise TransientProviderError(PROVIDER, f"connection failed: {type(exc).__name__}") from exc
        except httpx.TimeoutException as exc:  # the request may have arrived
            raise SendOutcomeUnknown(PROVIDER, "timed out waiting for the response") from exc
        except httpx.TransportError as exc:  # cut off mid-exchange: it may have arrived too
            raise SendOutcomeUnknown(PROVIDER, f"connection lost: {type(exc).__name__}") from exc
        status = response.status_code
        if status >= 400:
            text = response.content[:300]
            if status == 429 or status >= 500:
                raise TransientProviderError(PROVIDER, f"HTTP {status}: {text!r}")
            raise PermanentProviderError(PROVIDER, f"HTTP {status}: {text!r}")
        return response.headers.get("X-Message-Id")

    async def find_sent(self, idempotency_key: str) -> str | None:
        """Message id of a send carrying this key, per the Email Activity API; None when there is none."""
        return await asyncio.to_thread(self._find_sync, idempotency_key)

    def _find_sync(self, key: str) -> str | None:
        value = activity_key(key)
        if not _QUERY_SAFE.fullmatch(value):  # by construction; the query must never carry anything else
            raise PermanentProviderError(PROVIDER, "unsafe activity query value")
        query = f"unique_args['idempotency_key']=\"{value}\""
        try:
            response = self.client.client.messages.get(query_params={"query": query, "limit": 10})
        except http_errors.HTTPError as exc:
            raise TransientProviderError(PROVIDER, f"activity lookup HTTP {getattr(exc, 'status_code', 0)}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise TransientProviderError(PROVIDER, f"activity lookup failed: {exc}") from exc
        messages = json.loads(response.body or b"{}").get("messages", [])
        return messages[0].get("msg_id") if messages else None
