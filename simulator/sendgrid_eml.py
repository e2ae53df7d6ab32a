"""Rebuild a mail the SendGrid simulator accepted as an RFC 5322 message.

Only what the payload says goes in (plus Date = when it was received, and
X-Message-Id = the id the API returned): From/To/Cc/Reply-To/Subject, the
custom headers, the content blocks as alternatives, inline attachments as
related parts with their Content-ID, other attachments as attachments.
"""

from __future__ import annotations

import base64
import email.policy
import email.utils
from email.message import EmailMessage


def _address(obj: dict) -> str:
    return email.utils.formataddr((obj.get("name") or "", obj["email"]))


def build_eml(record: dict, personalization: int = 0) -> bytes:
    """The message one personalization's recipients got, as bytes (CRLF line ends)."""
    payload = record["payload"]
    blocks = payload["personalizations"]
    if not 0 <= personalization < len(blocks):
        raise IndexError(f"personalization {personalization} out of range (0..{len(blocks) - 1})")
    p = blocks[personalization]
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = _address(payload["from"])
    msg["To"] = ", ".join(_address(to) for to in p["to"])
    if p.get("cc"):
        msg["Cc"] = ", ".join(_address(cc) for cc in p["cc"])
    if payload.get("reply_to"):
        msg["Reply-To"] = _address(payload["reply_to"])
    msg["Subject"] = p.get("subject") or payload.get("subject") or ""
    msg["Date"] = email.utils.formatdate(record["at"], usegmt=True)
    msg["X-Message-Id"] = record["message_id"]
    for name, value in {**(payload.get("headers") or {}), **(p.get("headers") or {})}.items():
        msg[name] = value

    html_part, has_body = None, False
    for block in payload.get("content") or []:
        maintype, _, subtype = block["type"].partition("/")
        if maintype != "text":
            continue
        if not has_body:
            msg.set_content(block["value"], subtype=subtype)
            has_body = True
        else:
            msg.add_alternative(block["value"], subtype=subtype)
        if subtype == "html":
            html_part = msg if not msg.is_multipart() else list(msg.iter_parts())[-1]

    for item in payload.get("attachments") or []:
        data = base64.b64decode(item["content"])
        maintype, _, subtype = (item.get("type") or "application/octet-stream").partition("/")
        if item.get("disposition") == "inline" and html_part is not None:
            html_part.add_related(
                data, maintype, subtype, cid=f"<{item['content_id']}>", filename=item["filename"], disposition="inline"
            )
        else:
            msg.add_attachment(
                data,
                maintype,
                subtype,
                filename=item["filename"],
                disposition=item.get("disposition") or "attachment",
                cid=f"<{item['content_id']}>" if item.get("content_id") else None,
            )
    return msg.as_bytes()
