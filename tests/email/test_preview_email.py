"""The email carries the mockup's preview, not its desktop PNG: a mockup made by the real mockup stage
(Chromium, local blobs), emailed by the email stage through the real outbox to the SendGrid simulator."""

from __future__ import annotations

import base64

import pytest
import pytest_asyncio

from providers.chromium import DEFAULT_EXECUTABLE
from providers.html_render import ChromiumRenderer
from schemas import Contact, Enrichment, Lead, MockupRef, TerminalState
from simulator import sendgrid as sim_sendgrid
from stages.email.stage import EmailStage
from stages.mockup.maker import MockupMaker
from storage.blobs import LocalBlobStore
from streams.envelope import Envelope
from tests.email.test_delivery import delivery

pytestmark = pytest.mark.services

PREVIEW_BUDGET = 60_000  # bytes of the preview JPEG
REQUEST_BUDGET = 100_000  # bytes of the whole SendGrid request (base64 preview, HTML, text): ~0.7 MB with the PNG


@pytest_asyncio.fixture(scope="module")
async def renderer():
    async with ChromiumRenderer(DEFAULT_EXECUTABLE, max_concurrency=2) as chromium:
        yield chromium


def _lead(lead_id: str) -> Lead:
    return Lead(
        lead_id=lead_id,
        geo_key="IL:627",
        source="yelp",
        name="Joe's Plumbing",
        city="Springfield",
        state="IL",
        vertical="plumber",
        website="http://joesplumbing.example",
        enrichment=Enrichment(contacts=[Contact(email=f"owner@{lead_id.replace('_', '-')}.com", kind="personal")]),
    )


async def _mockup(renderer, blobs: LocalBlobStore, lead: Lead) -> Lead:
    ref = await MockupMaker(None, renderer, blobs).make(lead)
    return lead.model_copy(update={"mockup": ref})


async def test_the_email_carries_the_preview_inline_not_the_desktop_png(pool, fresh_sim, renderer, tmp_path):
    base_url, sim = fresh_sim
    blobs = LocalBlobStore(tmp_path / "blobs")
    lead = await _mockup(renderer, blobs, _lead("ld_preview1"))
    preview, desktop = await blobs.get(lead.mockup.preview_uri), await blobs.get(lead.mockup.uri)
    assert preview[:3] == b"\xff\xd8\xff" and len(preview) <= PREVIEW_BUDGET < len(desktop)
    stage = EmailStage(delivery(pool, base_url), blobs)
    [out] = await stage.handle(lead, Envelope(b""))
    assert out.terminal == TerminalState.emailed
    [sent] = sim_sendgrid.sent_messages(sim)
    payload = sent["payload"]
    [image] = payload["attachments"]
    assert (image["type"], image["disposition"], image["filename"]) == ("image/jpeg", "inline", "mockup.jpg")
    assert base64.b64decode(image["content"]) == preview  # the preview, byte for byte; not the PNG
    html = next(c["value"] for c in payload["content"] if c["type"] == "text/html")
    assert f'src="cid:{image["content_id"]}"' in html and 'width="600" height="400"' in html
    assert sent["bytes"] <= REQUEST_BUDGET < len(desktop), sent["bytes"]


async def test_a_mockup_made_before_previews_is_emailed_without_an_image(pool, fresh_sim, renderer, tmp_path):
    """An older lead's mockup has a desktop PNG but no preview: no image at all rather than the 0.5 MB PNG."""
    base_url, sim = fresh_sim
    blobs = LocalBlobStore(tmp_path / "blobs")
    made = await _mockup(renderer, blobs, _lead("ld_preview2"))
    old = made.model_copy(update={"mockup": MockupRef(uri=made.mockup.uri, concept_source="template")})
    assert old.mockup.preview_uri is None and await blobs.get(old.mockup.uri)  # the PNG is there
    [out] = await EmailStage(delivery(pool, base_url), blobs).handle(old, Envelope(b""))
    assert out.terminal == TerminalState.emailed
    [sent] = sim_sendgrid.sent_messages(sim)
    assert "attachments" not in sent["payload"]
    html = next(c["value"] for c in sent["payload"]["content"] if c["type"] == "text/html")
    assert "cid:" not in html and "sketch" not in html


async def test_a_preview_uri_outside_the_blob_store_is_refused(pool, fresh_sim, renderer, tmp_path):
    """The email stage reads images only from its blob store: a lead naming another file sends nothing."""
    base_url, sim = fresh_sim
    blobs = LocalBlobStore(tmp_path / "blobs")
    made = await _mockup(renderer, blobs, _lead("ld_preview3"))
    hostile = made.model_copy(update={"mockup": made.mockup.model_copy(update={"preview_uri": "file:///etc/passwd"})})
    with pytest.raises(ValueError, match="outside the blob root"):
        await EmailStage(delivery(pool, base_url), blobs).handle(hostile, Envelope(b""))
    assert sim_sendgrid.sent_messages(sim) == []
