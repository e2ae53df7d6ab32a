"""Mockup (the GPU group): an LLM redesign concept rendered to PNG with Chromium.

Runs in its own worker group with `leadstream worker --stages mockup`; it
consumes mockups.requested and hands the lead to emails.queued with its mockup.
"""

from __future__ import annotations

from schemas import Lead
from streams.envelope import Envelope
from streams.stage import Output, Stage
from streams.topology import EMAILS_QUEUED, MOCKUPS_REQUESTED


class MockupStage(Stage[Lead]):
    name = "mockup"

    def __init__(self, maker, renderer) -> None:
        self.maker, self.renderer = maker, renderer

    async def start(self) -> None:
        await self.renderer.start()

    async def stop(self) -> None:
        await self.renderer.close()

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        ref = await self.maker.make(lead)
        return [Output(lead.model_copy(update={"mockup": ref}), topics=(EMAILS_QUEUED,))]


def register(rt) -> None:
    async def factory(rt) -> MockupStage:
        from providers.llm import FallbackConcepts, OllamaConcepts, OpenAIConcepts
        from stages.mockup import MockupMaker
        from providers.html_render import ChromiumRenderer
        from storage.blobs import LocalBlobStore

        s = rt.settings
        openai = OpenAIConcepts(s.openai_base_url, s.openai_api_key, s.openai_model, timeout_s=30.0, max_retries=1)
        ollama = OllamaConcepts(s.ollama_host, s.ollama_model, timeout_s=60.0)
        chain = [openai, ollama] if s.llm_provider == "openai" else [ollama, openai]
        renderer = ChromiumRenderer(s.chromium_path, max_concurrency=s.render_concurrency)
        maker = MockupMaker(FallbackConcepts(chain), renderer, LocalBlobStore(s.blob_dir))
        stage = MockupStage(maker, renderer)
        stage.max_concurrency = s.render_concurrency * 2  # each mockup holds a render slot most of its life
        return stage

    rt.stage_agent(factory, MOCKUPS_REQUESTED, "mockup")
