"""The one headless Chromium of a worker process, shared by every renderer in it.

A Chromium costs ~100 MB and half a second to start, so the mockup renderer
(`providers.html_render.ChromiumRenderer`) and the page renderer
(`providers.browser.PageRenderer`) share one browser and one Playwright
driver per process; each render isolates itself in its own browser context.

Ownership is reference-counted: a renderer calls `acquire_browser()` when it
starts and `release_browser()` when it closes, and the last release closes
Chromium and the driver — so no renderer can close the browser under another.
`shared_browser()` hands out the live browser (relaunching it when it died)
without taking a reference; callers must hold one. The process owner (the
worker's shutdown, after every stage stopped) may call
`close_shared_browser()` as a backstop: it closes whatever is left, once,
whatever the count says.

The first launch decides the executable and arguments; later callers get the
running browser whatever they ask for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from playwright.async_api import Browser, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from providers.http import TransientProviderError

log = logging.getLogger(__name__)

PROVIDER = "chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--dns-prefetch-disable",
    # WebRTC would send STUN/TURN packets to any address a page names, outside request routing.
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
)
DEFAULT_EXECUTABLE = "/usr/bin/chromium"


class ChromiumHost:
    """One Playwright driver and one Chromium, relaunched when the browser is gone."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self.users = 0
        self.launches = 0

    def _lock_for_this_loop(self) -> asyncio.Lock:
        """Playwright objects belong to the loop that made them; a new loop starts from scratch."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._lock is None:
            self._loop, self._lock = loop, asyncio.Lock()
            self._playwright, self._browser, self.users = None, None, 0
        return self._lock

    async def acquire(self, executable_path: str = DEFAULT_EXECUTABLE, args: Sequence[str] = CHROMIUM_ARGS) -> Browser:
        """Take a reference and return the live browser (launching it if needed)."""
        async with self._lock_for_this_loop():
            browser = await self._live(executable_path, args)
            self.users += 1
            return browser

    async def browser(self, executable_path: str = DEFAULT_EXECUTABLE, args: Sequence[str] = CHROMIUM_ARGS) -> Browser:
        """The live browser, relaunched if it crashed or was closed; no reference is taken."""
        async with self._lock_for_this_loop():
            return await self._live(executable_path, args)

    async def release(self) -> None:
        """Give a reference back; the last one closes Chromium and the driver."""
        async with self._lock_for_this_loop():
            self.users = max(0, self.users - 1)
            if self.users == 0:
                await self._shutdown()

    async def close(self) -> None:
        """Close Chromium and the driver now, whoever still holds a reference (process exit)."""
        async with self._lock_for_this_loop():
            self.users = 0
            await self._shutdown()

    async def discard(self, browser: Browser) -> None:
        """A user saw `browser` fail: close it (if still current) so the next call relaunches."""
        async with self._lock_for_this_loop():
            if browser is not self._browser:
                return
            self._browser = None
            log.warning("chromium stopped answering; closing it for a relaunch")
        try:
            await asyncio.wait_for(browser.close(), 5.0)
        except (PlaywrightError, TimeoutError):
            pass

    @property
    def running(self) -> Browser | None:
        return self._browser if self._browser is not None and self._browser.is_connected() else None

    async def _live(self, executable_path: str, args: Sequence[str]) -> Browser:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        if self._browser is not None:
            log.warning("chromium is gone; relaunching")
        self._browser = None
        try:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=executable_path, args=list(args), headless=True
            )
        except PlaywrightError as exc:
            await self._shutdown()  # a dead driver is restarted by the next call
            raise TransientProviderError(PROVIDER, f"launch failed: {exc.message[:200]}") from exc
        self.launches += 1
        return self._browser

    async def _shutdown(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        if browser is not None:
            try:
                await browser.close()
            except PlaywrightError:
                pass
        if playwright is not None:
            try:
                await playwright.stop()
            except PlaywrightError:
                pass


HOST = ChromiumHost()


async def acquire_browser(executable_path: str = DEFAULT_EXECUTABLE, args: Sequence[str] = CHROMIUM_ARGS) -> Browser:
    return await HOST.acquire(executable_path, args)


async def release_browser() -> None:
    await HOST.release()


async def discard_browser(browser: Browser) -> None:
    await HOST.discard(browser)


async def shared_browser(executable_path: str = DEFAULT_EXECUTABLE, args: Sequence[str] = CHROMIUM_ARGS) -> Browser:
    return await HOST.browser(executable_path, args)


async def close_shared_browser() -> None:
    await HOST.close()
