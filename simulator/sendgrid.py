"""SendGrid v3: mail send (validated like the real API) and a minimal Activity Feed.

Every accepted message is recorded exactly as received (kind
``sendgrid.send``: ``message_id``, ``payload``, ``at``), so tests and the
control routes can see duplicate sends, per-recipient counts and rebuild the
mail. ``sendgrid.send`` records are the only store: indexes are derived from
them, so a reset cannot leave a stale index behind.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiohttp import web

from simulator.core import Simulator

MAX_PERSONALIZATIONS = 1000
MAX_CATEGORIES = 10
MAX_CUSTOM_ARGS_BYTES = 10_000
RESERVED_HEADERS = {
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "content-type",
    "content-transfer-encoding",
    "to",
    "from",
    "subject",
    "reply-to",
    "cc",
    "bcc",
}
_EMAIL_RE = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_QUERY_TERM = re.compile(r"""^\s*(unique_args\[['"]([^'"]+)['"]\]|\w+)\s*=\s*"([^"]*)"\s*$""")


def setup(app: web.Application, sim: Simulator) -> None:
    app.router.add_post("/v3/mail/send", partial(mail_send, sim=sim))
    app.router.add_get("/v3/messages", partial(activity_feed, sim=sim))


def _errors(*items: tuple[str, str | None]) -> web.Response:
    return web.json_response(
        {"errors": [{"message": message, "field": field, "help": None} for message, field in items]}, status=400
    )


def _auth(request: web.Request) -> web.Response | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip() or key.strip().lower().startswith("invalid"):
        return web.json_response(
            {
                "errors": [
                    {
                        "message": "The provided authorization grant is invalid, expired, or revoked",
                        "field": None,
                        "help": None,
                    }
                ]
            },
            status=401,
        )
    return None


def _valid_email(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 320 and bool(_EMAIL_RE.match(value))


def _check_address(obj: Any, field: str, errors: list) -> str | None:
    if not isinstance(obj, dict) or not _valid_email(obj.get("email")):
        errors.append(("Does not contain a valid address.", f"{field}.email"))
        return None
    return obj["email"].lower()


def validate_mail(body: Any) -> list[tuple[str, str | None]]:
    """The (message, field) errors the real API would report for this payload."""
    if not isinstance(body, dict):
        return [("Bad Request", None)]
    errors: list[tuple[str, str | None]] = []
    has_template = isinstance(body.get("template_id"), str) and bool(body["template_id"])
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(
            ("The personalizations field is required and must have at least one personalization.", "personalizations")
        )
        personalizations = []
    elif len(personalizations) > MAX_PERSONALIZATIONS:
        errors.append(
            (f"The personalizations field must have at most {MAX_PERSONALIZATIONS} items.", "personalizations")
        )
    all_have_subject = bool(personalizations)
    recipients = 0
    for i, p in enumerate(personalizations):
        field = f"personalizations.{i}"
        if not isinstance(p, dict) or not isinstance(p.get("to"), list) or not p["to"]:
            errors.append(
                (
                    "The to array is required for all personalization objects, and must have at least one "
                    "email object with a valid email address.",
                    f"{field}.to",
                )
            )
            all_have_subject = False
            continue
        seen: set[str] = set()
        for kind in ("to", "cc", "bcc"):
            for j, address in enumerate(p.get(kind) or []):
                email = _check_address(address, f"{field}.{kind}.{j}", errors)
                recipients += 1
                if email in seen:
                    errors.append(
                        (
                            "Each email address in the personalization block should be unique between to, cc, "
                            f"and bcc. We found the first duplicate instance of [{email}] in the "
                            f"personalizations.{i}.{kind} field.",
                            f"{field}.{kind}",
                        )
                    )
                seen.add(email or f"#{j}")
        if not (isinstance(p.get("subject"), str) and p["subject"]):
            all_have_subject = False
        _check_headers(p.get("headers"), f"{field}.headers", errors)
        _check_custom_args(p.get("custom_args"), f"{field}.custom_args", errors)
    if recipients > MAX_PERSONALIZATIONS:
        errors.append(("The total number of recipients must be less than 1000.", "personalizations"))
    if not isinstance(body.get("from"), dict):
        errors.append(
            (
                "The from object must be provided for every email send. It is an object that requires the "
                "email parameter, but may also contain a name parameter.",
                "from",
            )
        )
    elif not _valid_email(body["from"].get("email")):
        errors.append(("The from email does not contain a valid address.", "from.email"))
    if body.get("reply_to") is not None:
        _check_address(body["reply_to"], "reply_to", errors)
    subject = body.get("subject")
    if not (isinstance(subject, str) and subject) and not all_have_subject and not has_template:
        errors.append(
            (
                "The subject is required. You can get around this requirement if you use a template with a "
                "subject defined or if every personalization has a subject defined.",
                "subject",
            )
        )
    _check_content(body.get("content"), has_template, errors)
    _check_attachments(body.get("attachments"), errors)
    _check_headers(body.get("headers"), "headers", errors)
    _check_custom_args(body.get("custom_args"), "custom_args", errors)
    categories = body.get("categories")
    if categories is not None:
        if not isinstance(categories, list) or not all(isinstance(c, str) and 0 < len(c) <= 255 for c in categories):
            errors.append(
                (
                    "The categories parameter must be an array of non-empty strings of at most 255 characters.",
                    "categories",
                )
            )
        elif len(categories) > MAX_CATEGORIES:
            errors.append(("The categories parameter may not have more than 10 items.", "categories"))
        elif len(set(categories)) != len(categories):
            errors.append(("The categories parameter may not contain duplicates.", "categories"))
    send_at = body.get("send_at")
    if send_at is not None and (not isinstance(send_at, int) or send_at > time.time() + 72 * 3600):
        errors.append(("The send_at parameter must be a unix timestamp at most 72 hours in the future.", "send_at"))
    return errors


def _check_content(content: Any, has_template: bool, errors: list) -> None:
    if content is None or content == []:
        if not has_template:
            errors.append(
                (
                    "Unless a valid template_id is provided, the content parameter is required. There must be "
                    "at least one defined content block.",
                    "content",
                )
            )
        return
    if not isinstance(content, list):
        errors.append(("The content parameter must be an array.", "content"))
        return
    types = []
    for i, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if not isinstance(kind, str) or not kind or any(c in kind for c in ";\r\n"):
            errors.append(("The content type must be a string without ';' or line breaks.", f"content.{i}.type"))
        if not isinstance(block, dict) or not isinstance(block.get("value"), str) or not block["value"]:
            errors.append(
                ("The content value must be a string at least one character in length.", f"content.{i}.value")
            )
        types.append(kind)
    order = [t for t in types if t in ("text/plain", "text/html")]
    if ("text/plain" in types and types.index("text/plain") != 0) or order not in (
        [],
        ["text/plain"],
        ["text/html"],
        ["text/plain", "text/html"],
    ):
        errors.append(
            (
                "If present, text/plain content must be first, followed by text/html, followed by any other content.",
                "content",
            )
        )


def _check_attachments(attachments: Any, errors: list) -> None:
    if attachments is None:
        return
    if not isinstance(attachments, list):
        errors.append(("The attachments parameter must be an array.", "attachments"))
        return
    for i, item in enumerate(attachments):
        field = f"attachments.{i}"
        item = item if isinstance(item, dict) else {}
        content = item.get("content")
        if not isinstance(content, str) or not content:
            errors.append(("The attachment content is required.", f"{field}.content"))
        else:
            try:
                base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                errors.append(("The attachment content must be base64 encoded.", f"{field}.content"))
        if not isinstance(item.get("filename"), str) or not item["filename"]:
            errors.append(("The attachment filename parameter is required.", f"{field}.filename"))
        disposition = item.get("disposition", "attachment")
        if disposition not in ("inline", "attachment"):
            errors.append(
                ("The disposition of your attachment can be either 'inline' or 'attachment'.", f"{field}.disposition")
            )
        if disposition == "inline" and not (isinstance(item.get("content_id"), str) and item["content_id"]):
            errors.append(
                ("The content_id parameter is required if the disposition is set to inline.", f"{field}.content_id")
            )
        if item.get("type") is not None and (not isinstance(item["type"], str) or "/" not in item["type"]):
            errors.append(("The attachment type must be a MIME type string.", f"{field}.type"))


def _check_headers(headers: Any, field: str, errors: list) -> None:
    if headers is None:
        return
    if not isinstance(headers, dict):
        errors.append(("Headers must be an object of string keys and values.", field))
        return
    for name, value in headers.items():
        if name.lower() in RESERVED_HEADERS:
            errors.append((f"The following header is reserved and cannot be used: {name}", field))
        elif not isinstance(value, str) or any(c in value for c in "\r\n"):
            errors.append((f"Invalid type. Expected: string, given: {type(value).__name__}.", f"{field}.{name}"))


def _check_custom_args(args: Any, field: str, errors: list) -> None:
    if args is None:
        return
    if not isinstance(args, dict):
        errors.append(("custom_args must be an object.", field))
        return
    for name, value in args.items():
        if not isinstance(value, str):
            errors.append((f"Invalid type. Expected: string, given: {type(value).__name__}.", f"{field}.{name}"))
    if sum(len(k) + len(str(v)) for k, v in args.items()) > MAX_CUSTOM_ARGS_BYTES:
        errors.append(("The custom_args may not exceed 10,000 bytes.", field))


async def mail_send(request: web.Request, sim: Simulator) -> web.Response:
    if (failure := await sim.fault("sendgrid", request.headers.get("Authorization", ""))) is not None:
        return failure
    if (denied := _auth(request)) is not None:
        return denied
    try:
        body = await request.json()
    except ValueError:
        return _errors(("Bad Request", None))
    errors = validate_mail(body)
    if errors:
        sim.counters["sendgrid.400"] += 1
        return _errors(*errors)
    if ((body.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable"):
        return web.Response(status=200)  # the real API validates and sends nothing
    message_id = secrets.token_urlsafe(16)[:22]
    # bytes: the request body as it came over HTTP (what SendGrid bills bandwidth and parses for)
    sim.record("sendgrid.send", message_id=message_id, payload=body, bytes=len(await request.read()))
    return web.Response(status=202, headers={"X-Message-Id": message_id})


# -- what was received ---------------------------------------------------------------


def sent_messages(sim: Simulator) -> list[dict]:
    """Every accepted send in arrival order: ``{at, message_id, payload, bytes}``."""
    return sim.records.get("sendgrid.send", [])


def deliveries(sim: Simulator) -> Iterator[dict]:
    """One row per (message, personalization, to-recipient), as the Activity Feed sees it."""
    for record in sent_messages(sim):
        payload = record["payload"]
        top_args = payload.get("custom_args") or {}
        for i, p in enumerate(payload["personalizations"]):
            args = {**top_args, **(p.get("custom_args") or {})}
            for j, to in enumerate(p["to"]):
                yield {
                    "msg_id": f"{record['message_id']}.filterdrecv-sim-{i}-{j}.0",
                    "message_id": record["message_id"],
                    "from_email": payload["from"]["email"],
                    "to_email": to["email"],
                    "subject": p.get("subject") or payload.get("subject", ""),
                    "status": "delivered",
                    "opens_count": 0,
                    "clicks_count": 0,
                    "last_event_time": datetime.fromtimestamp(record["at"], UTC).isoformat(),
                    "unique_args": args,
                }


def summary(sim: Simulator) -> dict:
    """Sends per idempotency key and per recipient, and the keys sent more than once."""
    per_key: Counter[str] = Counter()
    per_recipient: Counter[str] = Counter()
    for row in deliveries(sim):
        per_recipient[row["to_email"].lower()] += 1
        if "idempotency_key" in row["unique_args"]:
            per_key[row["unique_args"]["idempotency_key"]] += 1
    return {
        "messages": len(sent_messages(sim)),
        "by_idempotency_key": dict(per_key),
        "by_recipient": dict(per_recipient),
        "duplicate_keys": sorted(k for k, n in per_key.items() if n > 1),
    }


async def activity_feed(request: web.Request, sim: Simulator) -> web.Response:
    """``GET /v3/messages?query=...``: AND-ed ``field="value"`` terms, incl. ``unique_args['k']="v"``."""
    if (failure := await sim.fault("sendgrid", request.headers.get("Authorization", ""))) is not None:
        return failure
    if (denied := _auth(request)) is not None:
        return denied
    try:
        limit = int(request.query.get("limit", "10"))
    except ValueError:
        limit = -1
    if not 1 <= limit <= 1000:
        return _errors(("limit must be an integer between 1 and 1000", "limit"))
    terms = []
    for raw in filter(None, re.split(r"\s+AND\s+", request.query.get("query", "").strip())):
        match = _QUERY_TERM.match(raw)
        if not match or (
            match.group(2) is None and match.group(1) not in {"to_email", "from_email", "subject", "msg_id", "status"}
        ):
            return _errors((f"invalid query term: {raw}", "query"))
        terms.append((match.group(1), match.group(2), match.group(3)))

    def matches(row: dict) -> bool:
        for field, arg, value in terms:
            actual = row["unique_args"].get(arg) if arg else row.get(field)
            if field == "to_email" or field == "from_email":
                actual, value = (actual or "").lower(), value.lower()
            if actual != value:
                return False
        return True

    found = [row for row in deliveries(sim) if matches(row)][-limit:]
    sim.record("sendgrid.activity_query", query=request.query.get("query", ""), returned=len(found))
    return web.json_response({"messages": [{k: v for k, v in row.items() if k != "message_id"} for row in found]})
