"""The whole mockup stage: simulator LLMs, sanitizing, real Chromium, local blobs."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from aiohttp import web
from PIL import Image, ImageChops, ImageStat

from providers.chromium import DEFAULT_EXECUTABLE
from providers.html_render import MOBILE_SCALE, ChromiumRenderer
from providers.llm import FallbackConcepts, OllamaConcepts, OpenAIConcepts
from schemas.concept import Concept, problems_for
from stages.mockup.maker import PREVIEW, MockupMaker, render_html, template_concept
from stages.mockup.preview import Preview, make_preview
from storage.blobs import LocalBlobStore

PREVIEW_BUDGET = 60_000  # bytes: the email's image (the desktop PNG is ~0.5 MB)
DANGEROUS = ("<script", "alert(", "onerror", "onmouseover", "evil.example", "javascript:", "<img", "<iframe", "url(")


def _providers(base_url: str) -> FallbackConcepts:
    return FallbackConcepts(
        [
            OpenAIConcepts(f"{base_url}/v1", "sk-sim", "gpt-4o", timeout_s=10),
            OllamaConcepts(base_url, "llama3.1", timeout_s=10),
        ]
    )


async def test_llm_mockup_renders_two_pngs_and_a_preview(llm_sim, renderer, blob_root, make_lead, png_size, jpeg_size):
    base_url, sim = llm_sim
    blobs = LocalBlobStore(blob_root)
    maker = MockupMaker(_providers(base_url), renderer, blobs, quality_threshold=0.7)
    ref = await maker.make(make_lead())
    await maker.concepts.aclose()
    assert (ref.concept_source, ref.provider) == ("llm", "openai:gpt-4o")
    assert ref.quality >= 0.9
    assert ref.uri.startswith("file://") and ref.uri.endswith("mockups/ld_test1/desktop.png")
    assert png_size(await blobs.get(ref.uri)) == (1200, 800)
    assert png_size(await blobs.get(ref.mobile_uri)) == (390 * MOBILE_SCALE, 844 * MOBILE_SCALE)
    assert ref.preview_uri.endswith("mockups/ld_test1/preview.jpg")
    preview = await blobs.get(ref.preview_uri)
    assert jpeg_size(preview) == (PREVIEW.width, PREVIEW.height) == (600, 400)
    assert len(preview) <= PREVIEW_BUDGET, len(preview)
    assert renderer.blocked_urls == []
    assert [r["family"] for r in sim.records["llm"]] == ["openai"]


async def test_garbage_from_every_llm_falls_back_to_the_template(llm_sim, renderer, blob_root, make_lead, png_size):
    base_url, sim = llm_sim
    sim.config.update({"openai": {"garbage_rate": 1.0}, "ollama": {"garbage_rate": 1.0}})
    maker = MockupMaker(_providers(base_url), renderer, LocalBlobStore(blob_root), quality_threshold=0.7)
    kinds = []
    for n in range(3):
        lead = make_lead(lead_id=f"ld_garbage{n}")
        ref = await maker.make(lead)
        assert (ref.concept_source, ref.provider, ref.quality) == ("template", "template", 1.0)
        assert png_size(await maker.blobs.get(ref.uri)) == (1200, 800)
        kinds.extend(r["garbage"] for r in sim.records["llm"])
    await maker.concepts.aclose()
    assert None not in kinds and len(kinds) >= 3


async def test_malicious_llm_text_never_reaches_the_html(llm_sim, make_lead, renderer):
    base_url, sim = llm_sim
    sim.config.update({"openai": {"garbage_rate": 1.0}})
    provider = OpenAIConcepts(f"{base_url}/v1", "sk-sim", "gpt-4o", timeout_s=10)
    lead = make_lead()
    concept = None
    for _ in range(20):  # the simulator picks the garbage kind; wait for the malicious one
        try:
            candidate = await provider.concept(lead, problems_for(lead))
        except Exception:
            continue
        if sim.records["llm"][-1]["garbage"] == "malicious":
            concept = candidate
            break
    await provider.aclose()
    assert concept is not None, "the simulator never served a malicious concept"
    raw = json.dumps(concept.model_dump())
    assert all(marker in raw for marker in ("<script>", "onerror=", "https://evil.example/x.png"))
    page = render_html(lead, concept)
    lowered = page.lower()
    for marker in DANGEROUS:
        assert marker not in lowered, marker
    assert "<b>Great</b> service" in page  # the allowed inline tag survives, without its handler
    before = len(renderer.blocked_urls)
    await renderer.render(page, 1200, 800)
    assert renderer.blocked_urls[before:] == []


async def test_no_request_leaves_the_page(renderer):
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"", content_type="image/png")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    origin = f"http://127.0.0.1:{port}"
    page = (
        f'<html><head><link rel="stylesheet" href="{origin}/a.css"><style>body{{background:url({origin}/b.png)}}</style>'
        f'</head><body><img src="{origin}/c.png"><iframe src="{origin}/d"></iframe>'
        f'<script src="{origin}/e.js"></script><script>fetch("{origin}/f")</script></body></html>'
    )
    before = len(renderer.blocked_urls)
    png = await renderer.render(page, 800, 600)
    await runner.cleanup()
    assert png[:4] == b"\x89PNG"
    assert hits == []
    attempted = {url.rsplit("/", 1)[1] for url in renderer.blocked_urls[before:]}
    assert {"a.css", "b.png", "c.png", "d"} <= attempted  # the page tried, the route refused


async def test_openai_down_uses_ollama(llm_sim, renderer, blob_root, make_lead):
    base_url, sim = llm_sim
    sim.config.update({"openai": {"down": True}})
    maker = MockupMaker(_providers(base_url), renderer, LocalBlobStore(blob_root), quality_threshold=0.7)
    ref = await maker.make(make_lead())
    await maker.concepts.aclose()
    assert (ref.concept_source, ref.provider) == ("llm", "ollama:llama3.1")
    assert sim.counters["openai.503"] == 1 and [r["family"] for r in sim.records["llm"]] == ["ollama"]


async def test_all_llms_down_or_below_threshold_means_template(llm_sim, renderer, blob_root, make_lead):
    base_url, sim = llm_sim
    strict = MockupMaker(_providers(base_url), renderer, LocalBlobStore(blob_root), quality_threshold=1.01)
    assert (await strict.make(make_lead())).concept_source == "template"  # good LLM concept, impossible bar
    sim.config.update({"openai": {"down": True}, "ollama": {"down": True}})
    down = MockupMaker(_providers(base_url), renderer, LocalBlobStore(blob_root), quality_threshold=0.7)
    ref = await down.make(make_lead())
    await strict.concepts.aclose()
    await down.concepts.aclose()
    assert ref.concept_source == "template"
    no_llm = MockupMaker(None, renderer, LocalBlobStore(blob_root))
    assert (await no_llm.make(make_lead(website=None, enrichment=None))).concept_source == "template"


async def test_redelivery_overwrites_the_same_keys(llm_sim, renderer, blob_root, make_lead):
    base_url, _ = llm_sim
    maker = MockupMaker(_providers(base_url), renderer, LocalBlobStore(blob_root), quality_threshold=0.7)
    first = await maker.make(make_lead())
    first_bytes = await maker.blobs.get(first.uri)
    first_preview = await maker.blobs.get(first.preview_uri)
    second = await maker.make(make_lead())
    await maker.concepts.aclose()
    assert (first.uri, first.mobile_uri, first.preview_uri) == (second.uri, second.mobile_uri, second.preview_uri)
    assert await maker.blobs.get(second.uri) == first_bytes  # same concept, same pixels
    assert await maker.blobs.get(second.preview_uri) == first_preview
    files = sorted(p.relative_to(blob_root).as_posix() for p in blob_root.rglob("*") if p.is_file())
    assert files == [  # no temp files left
        "mockups/ld_test1/desktop.png",
        "mockups/ld_test1/mobile.png",
        "mockups/ld_test1/preview.jpg",
    ]


async def test_odd_lead_ids_stay_inside_the_blob_root(renderer, blob_root, make_lead):
    maker = MockupMaker(None, renderer, LocalBlobStore(blob_root))
    ref = await maker.make(make_lead(lead_id="../../etc/x"))
    written = [p.resolve() for p in blob_root.rglob("*") if p.is_file()]
    assert len(written) == 3 and all(p.parent.parent == (blob_root / "mockups").resolve() for p in written)
    assert {Path(unquote(urlparse(uri).path)) for uri in (ref.uri, ref.mobile_uri, ref.preview_uri)} == set(written)
    with pytest.raises(ValueError):
        await maker.blobs.put("../escape.png", b"x", "image/png")
    with pytest.raises(ValueError):
        await maker.blobs.get("file:///etc/passwd")


async def test_template_html_is_self_contained_and_responsive(make_lead):
    lead = make_lead(name="Tom & Jerry's <Pest> Control")
    page = render_html(lead, template_concept(lead, problems_for(lead)))
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@media (max-width: 720px)" in page
    assert "Tom &amp; Jerry&#39;s &lt;Pest&gt; Control" in page and "<Pest>" not in page
    for marker in ("http://", "https://", "<script", "<img", "<link"):
        assert marker not in page, marker


async def test_browser_is_relaunched_after_it_dies(png_size):
    renderer = ChromiumRenderer(DEFAULT_EXECUTABLE, max_concurrency=1)
    await renderer.start()
    try:
        await renderer.browser.close()  # as if the process crashed: the connection is gone
        png = await renderer.render("<h1>back</h1>", 320, 200)
        assert png_size(png) == (320, 200) and renderer.restarts == 1
    finally:
        await renderer.close()


async def test_reused_pages_show_the_new_mockup_not_the_last_one(renderer, make_lead, png_size):
    """Views rendered at once on reused pages (begin-frame pages on the headless shell): each is its own page's."""
    if "headless-shell" in DEFAULT_EXECUTABLE:
        assert renderer.begin_frames  # the defaults: one frame per view, made on demand
    pages = [render_html(lead, template_concept(lead, [])) for lead in (make_lead(name=f"Shop {n}") for n in range(3))]
    views = [(1200, 800, False), (390, 844, True)]

    async def shots() -> list[bytes]:
        return list(
            await asyncio.gather(*(renderer.render(page, w, h, mobile=m) for page in pages for w, h, m in views))
        )

    first, again = await shots(), await shots()
    assert [png_size(png) for png in first] == [
        (w * (MOBILE_SCALE if m else 1), h * (MOBILE_SCALE if m else 1)) for _ in pages for w, h, m in views
    ]
    assert len(set(first)) == len(first)  # three businesses, two views: six different pictures
    assert again == first  # the same HTML again, on whichever page is idle: the same picture


def _pixels(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0–255."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


async def test_preview_is_the_desktop_views_first_screen_halved(renderer, blob_root, make_lead, jpeg_size):
    """The stored preview shows what the desktop PNG shows, at half size: close to the PNG scaled down
    (here by another filter than the stage's), far from another lead's."""
    maker = MockupMaker(None, renderer, LocalBlobStore(blob_root))
    leads = [make_lead("ld_joe", name="Joe's Plumbing"), make_lead("ld_ann", name="Ann's Vet Clinic", vertical="vet")]
    refs = [await maker.make(lead) for lead in leads]
    desktops = [await maker.blobs.get(ref.uri) for ref in refs]
    jpegs = [await maker.blobs.get(ref.preview_uri) for ref in refs]
    assert [jpeg_size(jpeg) for jpeg in jpegs] == [(600, 400)] * 2
    halved = [_pixels(png).resize((600, 400), Image.Resampling.BILINEAR) for png in desktops]
    previews = [_pixels(jpeg) for jpeg in jpegs]
    same = [_mean_difference(p, h) for p, h in zip(previews, halved)]
    crossed = [_mean_difference(previews[0], halved[1]), _mean_difference(previews[1], halved[0])]
    assert max(same) < 6 and min(crossed) > 5 * max(same), (same, crossed)
    # A shorter preview is the top of the same picture: the first 200 rows of the 400.
    top = make_preview(desktops[0], Preview(600, 200))
    assert jpeg_size(top) == (600, 200)
    assert _mean_difference(_pixels(top), previews[0].crop((0, 0, 600, 200))) < 4
    with pytest.raises(ValueError):  # not a view twice the preview's width: refused, not stretched
        make_preview(desktops[0], Preview(500, 400))


async def test_scripts_do_not_run_in_mockup_pages(renderer):
    """JavaScript stays off on every page the renderer makes (the begin-frame pages are created over DevTools)."""
    plain = '<body style="background:#fff"><p>hello</p></body>'
    scripted = plain.replace("</p>", '</p><script>document.body.style.background = "#f00"</script>')
    for width, height, mobile in ((1200, 800, False), (390, 844, True)):
        assert await renderer.render(scripted, width, height, mobile) == await renderer.render(
            plain, width, height, mobile
        )


async def test_concept_with_markup_in_allowed_tags_keeps_them(make_lead):
    lead = make_lead()
    base = template_concept(lead, []).model_dump()
    concept = Concept.model_validate(
        {**base, "subheadline": "Same-day <strong>emergency</strong> repairs & fair prices"}
    )
    page = render_html(lead, concept)
    assert "Same-day <strong>emergency</strong> repairs &amp; fair prices" in page
