"""The mockup stage: concept from an LLM (or the template), safe HTML, two screenshots and a preview, stored.

`MockupMaker.make(lead)` is the whole stage for one lead and never talks to
Kafka. The LLM is optional and never fatal: if it fails or its concept scores
below `quality_threshold`, the deterministic template concept is used and the
`MockupRef` says ``concept_source="template"``. Rendering or storage failures
propagate (as `TransientProviderError` for Chromium) so the runner retries.
Blob keys depend only on the lead id, so a redelivered lead overwrites the
same three files.

The preview is what the email shows (`stages.email`): the desktop view's first
screen as a 600 px wide JPEG (the email body's width), ~27 KB where the desktop
PNG is ~0.5 MB; made once, here, from the desktop PNG (`stages.mockup.preview`).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

from providers.html_render import DESKTOP, MOBILE, ChromiumRenderer
from providers.http import ProviderError
from providers.llm import ConceptProvider
from schemas.concept import Concept, problems_for
from schemas.lead import Lead, MockupRef
from stages.mockup.content import render_html, template_concept
from stages.mockup.preview import Preview, make_preview
from stages.mockup.quality import Quality, score_concept
from storage.blobs import BlobStore

__all__ = ["PREVIEW", "MockupMaker", "blob_keys", "render_html", "score_concept", "template_concept"]

log = logging.getLogger(__name__)

# The email's image: the whole first screen of the desktop view (1200×800 CSS px) at half scale, 600 px wide
# like the email body (stages/email/templates/intro.html.j2). Quality: LEADSTREAM_MOCKUP_PREVIEW_QUALITY.
PREVIEW = Preview(width=DESKTOP[0] // 2, height=DESKTOP[1] // 2, quality=80)


def blob_keys(lead_id: str) -> tuple[str, str, str]:
    """(desktop key, mobile key, preview key) for a lead: stable across redeliveries."""
    safe = quote(lead_id, safe="") if lead_id not in (".", "..") else quote(lead_id, safe="").replace(".", "%2E")
    return f"mockups/{safe}/desktop.png", f"mockups/{safe}/mobile.png", f"mockups/{safe}/preview.jpg"


class MockupMaker:
    def __init__(
        self,
        concepts: ConceptProvider | None,
        renderer: ChromiumRenderer,
        blobs: BlobStore,
        quality_threshold: float = 0.7,
        preview: Preview | None = PREVIEW,
    ) -> None:
        """`preview`: the email's image; None makes none (as before previews: perf/bench_mockup.py compares)."""
        self.concepts = concepts
        self.renderer = renderer
        self.blobs = blobs
        self.quality_threshold = quality_threshold
        self.preview = preview

    async def choose_concept(self, lead: Lead, problems: list[str]) -> tuple[Concept, str, str | None, Quality]:
        """(concept, source, provider, quality): the LLM's when good enough, else the template's."""
        if self.concepts is not None:
            try:
                concept = await self.concepts.concept(lead, problems)
            except ProviderError as exc:
                log.info("mockup %s: LLM failed (%s); using the template", lead.lead_id, exc)
            else:
                quality = score_concept(concept, problems)
                if quality.score >= self.quality_threshold:
                    return concept, "llm", concept.provider or self.concepts.name, quality
                log.info(
                    "mockup %s: LLM concept from %s scored %.2f < %.2f (%s); using the template",
                    lead.lead_id,
                    concept.provider,
                    quality.score,
                    self.quality_threshold,
                    "; ".join(quality.notes[:3]),
                )
        concept = template_concept(lead, problems)
        return concept, "template", "template", score_concept(concept, problems)

    async def make(self, lead: Lead) -> MockupRef:
        problems = problems_for(lead)
        concept, source, provider, quality = await self.choose_concept(lead, problems)
        html = render_html(lead, concept)
        desktop_png, mobile_png = await asyncio.gather(
            self.renderer.render(html, *DESKTOP), self.renderer.render(html, *MOBILE, mobile=True)
        )
        preview_jpeg = None
        if self.preview is not None:
            preview_jpeg = await asyncio.to_thread(make_preview, desktop_png, self.preview)
        desktop_key, mobile_key, preview_key = blob_keys(lead.lead_id)
        uri = await self.blobs.put(desktop_key, desktop_png, "image/png")
        mobile_uri = await self.blobs.put(mobile_key, mobile_png, "image/png")
        preview_uri = await self.blobs.put(preview_key, preview_jpeg, "image/jpeg") if preview_jpeg else None
        return MockupRef(
            uri=uri,
            mobile_uri=mobile_uri,
            preview_uri=preview_uri,
            concept_source=source,
            provider=provider,
            quality=quality.score,
        )
