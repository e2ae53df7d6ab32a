"""The mockup stage as configured: the concept LLMs in the configured order, Chromium, the blob store."""

from __future__ import annotations

from config import Settings
from providers.chromium import LaunchPolicy, configure_launch
from providers.html_render import ChromiumRenderer
from providers.llm import ConceptProvider, FallbackConcepts, OllamaConcepts, OpenAIConcepts
from stages.mockup.maker import PREVIEW, MockupMaker
from stages.mockup.preview import Preview
from stages.mockup.stage import MockupStage
from storage.blobs import LocalBlobStore
from storage.db import Pool


async def build_mockup(settings: Settings, pool: Pool | None = None) -> MockupStage:
    """The stage writes no SQL of its own (`pool` is unused; the runner records the leads)."""
    s = settings
    openai = OpenAIConcepts(s.openai_base_url, s.openai_api_key, s.openai_model, timeout_s=30.0)
    ollama = OllamaConcepts(s.ollama_host, s.ollama_model, timeout_s=60.0)
    chain: list[ConceptProvider] = [openai, ollama] if s.llm_provider == "openai" else [ollama, openai]
    configure_launch(LaunchPolicy(sandbox=s.chromium_sandbox, user=s.chromium_user))
    renderer = ChromiumRenderer(s.chromium_path, max_concurrency=s.render_concurrency)
    preview = Preview(PREVIEW.width, PREVIEW.height, quality=s.mockup_preview_quality)
    maker = MockupMaker(FallbackConcepts(chain), renderer, LocalBlobStore(s.blob_dir), preview=preview)
    stage = MockupStage(maker, renderer)
    stage.max_concurrency = s.render_concurrency * 2  # each mockup holds a render slot most of its life
    return stage
