"""The mockup stage (the GPU group): an LLM redesign concept rendered to PNG with Chromium.

Runs in its own worker group with `leadstream worker --stages mockup`; it
consumes mockups.requested and hands the lead to emails.queued with its mockup.
"""

from __future__ import annotations

from providers.html_render import ChromiumRenderer
from schemas import Lead
from stages.mockup.maker import MockupMaker
from streams.envelope import Envelope
from streams.stage import Output, Stage
from streams.topology import EMAILS_QUEUED


class MockupStage(Stage[Lead]):
    name = "mockup"

    def __init__(self, maker: MockupMaker, renderer: ChromiumRenderer) -> None:
        self.maker, self.renderer = maker, renderer

    async def start(self) -> None:
        await self.renderer.start()

    async def stop(self) -> None:
        await self.renderer.close()

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        ref = await self.maker.make(lead)
        return [Output(lead.model_copy(update={"mockup": ref}), topics=(EMAILS_QUEUED,))]
