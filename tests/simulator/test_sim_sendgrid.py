"""The SendGrid simulator: validation, recording, idempotency index, activity feed, .eml rebuild."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy

import httpx
import pytest
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    ContentId,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    Header,
    Mail,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
AUTH = {"Authorization": "Bearer SG.test"}


def _payload(**overrides) -> dict:
    body = {
        "personalizations": [
            {"to": [{"email": "owner@joes-hvac.com"}], "custom_args": {"idempotency_key": "ld_1:intro"}}
        ],
        "from": {"email": "hello@leadstream.example", "name": "leadstream"},
        "subject": "A new look for Joe's HVAC",
        "content": [{"type": "text/plain", "value": "hi"}, {"type": "text/html", "value": "<p>hi</p>"}],
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    "change, field",
    [
        ({"personalizations": []}, "personalizations"),
        ({"personalizations": [{"to": []}]}, "personalizations.0.to"),
        ({"from": {"email": "not-an-address"}}, "from.email"),
        ({"subject": None}, "subject"),
        ({"content": [{"type": "text/html", "value": "<p>x</p>"}, {"type": "text/plain", "value": "x"}]}, "content"),
        ({"categories": [f"c{i}" for i in range(11)]}, "categories"),
        ({"custom_args": {"attempt": 2}}, "custom_args.attempt"),
        ({"headers": {"Subject": "override"}}, "headers"),
        (
            {"attachments": [{"content": "aGk=", "filename": "x.png", "disposition": "inline"}]},
            "attachments.0.content_id",
        ),
        ({"attachments": [{"content": "not base64!", "filename": "x.png"}]}, "attachments.0.content"),
    ],
)
async def test_invalid_payloads_get_the_real_apis_400(fresh_sim, change, field):
    base_url, sim = fresh_sim
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        response = await client.post("/v3/mail/send", json=_payload(**change), headers=AUTH)
    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]
    assert "sendgrid.send" not in sim.records


async def test_auth_sandbox_and_accepted_sends(fresh_sim):
    base_url, sim = fresh_sim
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        assert (await client.post("/v3/mail/send", json=_payload())).status_code == 401
        sandbox = await client.post(
            "/v3/mail/send", headers=AUTH, json=_payload(mail_settings={"sandbox_mode": {"enable": True}})
        )
        assert sandbox.status_code == 200 and "sendgrid.send" not in sim.records
        sent = await client.post("/v3/mail/send", json=_payload(), headers=AUTH)
    assert sent.status_code == 202 and sent.content == b"" and sent.headers["X-Message-Id"]
    assert sim.records["sendgrid.send"][0]["payload"] == _payload()


async def test_idempotency_index_summary_and_activity_feed(fresh_sim):
    base_url, sim = fresh_sim
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, headers=AUTH) as client:
        for key, to in (("ld_1:intro", "a@x.com"), ("ld_1:intro", "a@x.com"), ("ld_2:intro", "b@y.com")):
            personalization = {"to": [{"email": to}], "custom_args": {"idempotency_key": key}}
            assert (
                await client.post("/v3/mail/send", json=_payload(personalizations=[personalization]))
            ).status_code == 202
        summary = (await client.get("/_sim/emails/summary")).json()
        feed = (
            await client.get(
                "/v3/messages", params={"query": "unique_args['idempotency_key']=\"ld_1:intro\"", "limit": 10}
            )
        ).json()
        by_to = (await client.get("/v3/messages", params={"query": 'to_email="B@y.com" AND status="delivered"'})).json()
        listed = (await client.get("/_sim/emails", params={"idempotency_key": "ld_2:intro"})).json()["emails"]
        bad = await client.get("/v3/messages", params={"query": 'favourite_colour="blue"'})
    assert summary["by_idempotency_key"] == {"ld_1:intro": 2, "ld_2:intro": 1}
    assert summary["duplicate_keys"] == ["ld_1:intro"] and summary["by_recipient"] == {"a@x.com": 2, "b@y.com": 1}
    assert len(feed["messages"]) == 2 and {m["to_email"] for m in feed["messages"]} == {"a@x.com"}
    sent_ids = [r["message_id"] for r in sim.records["sendgrid.send"]]
    assert feed["messages"][0]["msg_id"].startswith(sent_ids[0]) and by_to["messages"][0]["msg_id"].startswith(
        sent_ids[2]
    )
    assert [e["n"] for e in listed] == [2] and bad.status_code == 400


async def test_library_built_mail_rebuilds_as_eml_with_inline_image(fresh_sim):
    base_url, sim = fresh_sim
    mail = Mail(
        from_email=("hello@leadstream.example", "leadstream"),
        to_emails="owner@joes-hvac.com",
        subject="Your new homepage",
        plain_text_content="See the mockup.",
        html_content='<p>See the mockup:</p><img src="cid:mockup-1">',
    )
    mail.header = Header("List-Unsubscribe", "<https://leadstream.example/u/tok123>")
    mail.header = Header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    mail.custom_arg = CustomArg("idempotency_key", "ld_9:intro")
    mail.attachment = Attachment(
        FileContent(base64.b64encode(PNG).decode()),
        FileName("mockup.png"),
        FileType("image/png"),
        Disposition("inline"),
        ContentId("mockup-1"),
    )
    client = SendGridAPIClient(api_key="SG.test", host=base_url)
    response = await asyncio.to_thread(client.send, mail)
    assert response.status_code == 202

    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
        eml = await http.get("/_sim/emails/0.eml")
        missing = await http.get("/_sim/emails/1.eml")
    message = email.message_from_bytes(eml.content, policy=email.policy.default)
    assert message["List-Unsubscribe"] == "<https://leadstream.example/u/tok123>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Subject"] == "Your new homepage" and message["To"] == "owner@joes-hvac.com"
    assert message["X-Message-Id"] == response.headers["X-Message-Id"]
    assert message.get_body(("plain",)).get_content().strip() == "See the mockup."
    assert 'src="cid:mockup-1"' in message.get_body(("html",)).get_content()
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == "<mockup-1>"
    assert images[0].get_content_disposition() == "inline" and images[0].get_content() == PNG
    assert missing.status_code == 404
