"""Screenshots of mockup HTML with one headless Chromium per worker process.

Each render gets a fresh browser context (no shared cookies, cache or storage)
with JavaScript off, the context offline, and every request that is not
``data:``/``about:`` aborted by a route: a mockup can never fetch anything.
Renders are bounded by a semaphore; a browser process that died is relaunched
by the next render.

Cost (perf/bench_mockup.py): pages are reused (one per viewport; a new context
costs more than the screenshot), and the screenshot uses DevTools' fast PNG
encoding (`fast_png`, the default): Chromium's default encoding (zlib level 6,
adaptive row filters) was about two thirds of a mockup's CPU; the fast one (low
zlib level, one filter) takes about a third of that and makes PNGs about twice
as large (~0.5 MB for the desktop view). ``fast_png=False`` keeps the small,
slow encoding. On the headless shell launched with
``--run-all-compositor-stages-before-draw`` (`providers.chromium.CHROMIUM_ARGS`),
pages are created with begin-frame control (`begin_frames`): Chromium makes no
frame until ``HeadlessExperimental.beginFrame`` asks for one, and that one frame,
drawn once its raster is complete, is the screenshot; elsewhere
``Page.captureScreenshot`` takes it. Failures surface as
`TransientProviderError("chromium", ...)` and the stage runner decides whether
to retry them (the renderer never does).

The browser is the process-wide one of `providers.chromium` (shared with the
page renderer of the enrich stage): `start()` takes a reference on it and
`close()` closes this renderer's own contexts and gives the reference back,
so Chromium only stops when its last user is done.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import Sequence
from types import TracebackType

from playwright.async_api import Browser, CDPSession, Page, Route
from playwright.async_api import Error as PlaywrightError

from providers import metrics
from providers.chromium import BEGIN_FRAME_SWITCH, CHROMIUM_ARGS, acquire_browser, release_browser, shared_browser
from providers.http import TransientProviderError

log = logging.getLogger(__name__)

__all__ = ["CHROMIUM_ARGS", "DESKTOP", "MOBILE", "MOBILE_SCALE", "ChromiumRenderer"]

DESKTOP = (1200, 800)
MOBILE = (390, 844)
MOBILE_SCALE = 1


BEGIN_FRAME_TRIES = 3  # a frame without damage may come back without a screenshot


class ChromiumRenderer:
    """One Chromium for this process; one context per render; at most `max_concurrency` at once."""

    def __init__(
        self,
        executable_path: str = "/usr/bin/chromium",
        max_concurrency: int = 3,
        args: Sequence[str] = CHROMIUM_ARGS,
        render_timeout_s: float = 20.0,
        fast_png: bool = True,
        begin_frames: bool | None = None,
    ) -> None:
        self.executable_path = executable_path
        self.fast_png = fast_png
        self.args = list(args)
        if begin_frames is None:  # the headless shell launched with the switch
            begin_frames = BEGIN_FRAME_SWITCH in self.args and "headless-shell" in os.path.basename(executable_path)
        self.begin_frames = begin_frames
        self._frame_lock = asyncio.Lock()
        self._targets: tuple[Browser, CDPSession] | None = None  # a browser-level session, to create pages
        self.render_timeout_ms = render_timeout_s * 1000
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._browser: Browser | None = None
        self._started = False
        self.restarts = 0
        self.renders = 0
        metrics.init_chromium("mockup")
        self.blocked_urls: list[str] = []  # requests a page tried to make (all aborted)
        self._idle: dict[tuple[int, int, bool], list[tuple[Page, CDPSession]]] = {}

    async def start(self) -> ChromiumRenderer:
        if not self._started:
            self._browser = await acquire_browser(self.executable_path, self.args)
            self._started = True
        return self

    async def close(self) -> None:
        """Close this renderer's idle pages and release the shared browser (it stops with its last user)."""
        idle, self._idle = self._idle, {}
        for page, _ in (p for pages in idle.values() for p in pages):
            try:
                await page.context.close()
            except PlaywrightError:
                pass
        targets, self._targets = self._targets, None
        if targets is not None:
            try:
                await targets[1].detach()
            except PlaywrightError:
                pass
        if self._started:
            self._started = False
            self._browser = None
            await release_browser()

    async def __aenter__(self) -> ChromiumRenderer:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def browser(self) -> Browser | None:
        return self._browser

    async def _live_browser(self) -> Browser:
        if not self._started:
            raise RuntimeError("ChromiumRenderer.start() was not called")
        browser = await shared_browser(self.executable_path, self.args)
        if browser is not self._browser:
            if self._browser is not None:
                log.warning("chromium is gone; rendering on the relaunched browser")
                self.restarts += 1
            self._browser = browser
        return browser

    async def render(self, html: str, width: int, height: int, mobile: bool = False) -> bytes:
        """A PNG of the first `width`×`height` CSS pixels (×2 device pixels on mobile)."""
        async with metrics.render_slot(self._semaphore, "mockup"):
            browser = await self._live_browser()  # relaunched here if it died since the last render
            try:
                with metrics.render("mockup"):
                    png = await self._render_once(browser, html, width, height, mobile)
            except PlaywrightError as exc:
                raise TransientProviderError("chromium", f"render failed: {exc.message[:200]}") from exc
            self.renders += 1
            return png

    async def _render_once(self, browser: Browser, html: str, width: int, height: int, mobile: bool) -> bytes:
        """Render on an idle page of the same viewport when there is one.

        Creating a context costs more CPU than the screenshot itself, so pages
        are reused: with JavaScript off, offline and every request aborted, a
        page keeps nothing from one mockup to the next but its viewport.
        """
        idle = self._idle.setdefault((width, height, mobile), [])
        reused = None
        while idle and reused is None:
            candidate = idle.pop()
            if candidate[0].context.browser is browser and not candidate[0].is_closed():
                reused = candidate
        page, cdp = reused or await self._new_page(browser, width, height, mobile)
        try:
            await page.set_content(html, wait_until="load")
            png = base64.b64decode(await asyncio.wait_for(self._screenshot(cdp), self.render_timeout_ms / 1000))
        except (PlaywrightError, TimeoutError):
            try:
                await page.context.close()
            except PlaywrightError:
                pass
            raise
        idle.append((page, cdp))
        return png

    async def _screenshot(self, cdp: CDPSession) -> str:
        """The viewport as base64 PNG (JavaScript is off: nothing animates); Playwright's has no fast encoding."""
        if not self.begin_frames:
            shot = await cdp.send(
                "Page.captureScreenshot",
                {"format": "png", "optimizeForSpeed": self.fast_png, "captureBeyondViewport": False},
            )
            return str(shot["data"])
        for _ in range(BEGIN_FRAME_TRIES):
            # One frame at a time: two pages' beginFrame calls overlapping came back without screenshots.
            async with self._frame_lock:
                frame = await cdp.send(
                    "HeadlessExperimental.beginFrame",
                    {"screenshot": {"format": "png", "optimizeForSpeed": self.fast_png}},
                )
            if frame.get("screenshotData"):
                return str(frame["screenshotData"])
        raise PlaywrightError(f"no screenshot in {BEGIN_FRAME_TRIES} frames")

    async def _new_page(self, browser: Browser, width: int, height: int, mobile: bool) -> tuple[Page, CDPSession]:
        context = await browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=MOBILE_SCALE if mobile else 1,
            is_mobile=mobile,
            has_touch=mobile,
            java_script_enabled=False,
            offline=True,
            service_workers="block",
            accept_downloads=False,
        )
        try:
            context.set_default_timeout(self.render_timeout_ms)
            await context.route("**/*", self._only_inline)
            page = await context.new_page()
            cdp = await context.new_cdp_session(page)
            return (page, cdp) if not self.begin_frames else await self._begin_frame_page(browser, page, cdp)
        except PlaywrightError:
            try:
                await context.close()
            except PlaywrightError:
                pass
            raise

    async def _begin_frame_page(self, browser: Browser, page: Page, cdp: CDPSession) -> tuple[Page, CDPSession]:
        """A page of `page`'s context that makes frames only on request; `page` is closed."""
        context = page.context
        # Playwright cannot create a page with begin-frame control: DevTools creates it in this context (Playwright
        # attaches to it and sets it up like the first: viewport, offline, no JavaScript, the route), then the first
        # page, which only told us the context's id, goes.
        context_id = (await cdp.send("Target.getTargetInfo"))["targetInfo"]["browserContextId"]
        async with context.expect_page() as created:
            await (await self._target_session(browser)).send(
                "Target.createTarget",
                {"url": "about:blank", "browserContextId": context_id, "enableBeginFrameControl": True},
            )
        framed = await created.value
        await cdp.detach()
        await page.close()
        return framed, await context.new_cdp_session(framed)

    async def _target_session(self, browser: Browser) -> CDPSession:
        """A browser-level DevTools session (one per browser), for Target.createTarget."""
        if self._targets is None or self._targets[0] is not browser:
            self._targets = (browser, await browser.new_browser_cdp_session())
        return self._targets[1]

    async def _only_inline(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "about:")):
            await route.continue_()
            return
        self.blocked_urls.append(url)
        await route.abort("blockedbyclient")
