"""Rendering business websites in headless Chromium: the DOM after JavaScript, and lab Core Web Vitals.

`PageRenderer.render(url)` loads a page in the process's shared Chromium
(`providers.chromium`), at most `max_concurrency` at once, and returns the
rendered HTML, JS globals for technology detection, lab metrics and
optionally a screenshot.

Tabs are reused: a new browser context and page cost more CPU than rendering
a small site (headless Chromium builds a window per page), so each render
leases a tab (a context with one page) and gives it back clean: the page is
navigated to ``about:blank`` (the site's renderer process exits; a
cross-site navigation gets a new one anyway, site isolation being on), the
context's cookies are cleared, and every origin the render fetched from has
its storage cleared (``Storage.clearDataForOrigin``, all types). Routing
disables Chromium's HTTP cache, so nothing is served from a previous render.
A tab whose render failed or timed out is closed, never reused, and a tab is
retired after `tab_renders` renders (`tab_renders=1`: a fresh context per
page, as before).

Not fetched (`block_media`, on by default): audio and video (``media``
requests). Nothing the enrichment extracts needs them, a background video
would be fetched in full (up to `max_bytes`) and decoded for the whole
settle; a video's poster is an image and still loads, so a poster can still
be the LCP element, a video's first frame cannot (and its bytes are not in
the page weight). Screenshots use DevTools' fast PNG encoding (`fast_png`).

Network: Chromium itself never connects anywhere. Every request the page
makes is intercepted (`context.route("**/*")`), checked by `NetGuard`, fetched
here with httpx (through `proxy` when set, else connected to exactly the
addresses the guard checked, `providers.pinned`; with our user agent, a body
cap of `max_bytes` and the render's deadline) and handed to the page. Playwright does
not route redirect hops, so redirects are followed here: a subresource's hops
are each guarded before they are fetched, and the document's redirects make
the renderer navigate to the next URL itself (each hop guarded, the page's URL
right). The context's own proxy is a local port nobody listens on, so anything
that escapes routing (preconnects, a socket opened outside `fetch`) fails;
websockets are refused; WebRTC is confined by a Chromium flag. Refused
requests are aborted and listed in `RenderResult.blocked`; a refused document
raises `FetchRefused`.

Lab metrics come from PerformanceObservers registered by an init script
before any page script runs:

* LCP: the last ``largest-contentful-paint`` entry (renderTime, else loadTime);
  FCP: the ``first-contentful-paint`` paint entry. Both from the start of the
  first navigation, so document redirects count.
* CLS: ``layout-shift`` entries grouped in session windows (gaps < 1 s,
  windows < 5 s); the largest window, as in web-vitals. Unlike web-vitals,
  shifts flagged ``hadRecentInput`` count too: we never send input, and
  Chromium's mobile emulation flags every shift of the first ~500 ms as if
  there had been some, which would hide real early shifts.
* TBT: for every ``longtask``, the part after its first 50 ms that falls
  between FCP and the moment the metrics are read (load, then up to
  `settle_s` until the network has been quiet for `quiet_s`) — Lighthouse
  ends the window at TTI instead.
* TTFB: first navigation start to the document's arrival here, redirects
  included (the body is read in full before the page gets it, so for a big or
  slow document this is closer to its download time); load: first navigation
  start to the ``load`` event (None when ``load`` did not come before the
  deadline's reserve).
* page weight: response body bytes as received over the network (compressed
  size when compressed), of every response the page got, redirect hops
  included; `requests` counts those responses. Measured on our side of the
  proxy, so it works through any proxy and needs no DevTools protocol.

These are *lab* values from an unthrottled desktop-class CPU and a loopback or
datacenter network: Lighthouse/PageSpeed throttle the CPU (4×) and the
network (slow 4G), so the values here are optimistic — a page that is slow
here is slow for real; a fast one may not be. TBT stands in for INP, which
needs real user input. Renders share the machine's CPU: more concurrent renders
than cores inflate every timing.

`mobile_responsive` (mobile renders only): a viewport meta with
``width=device-width`` or an ``initial-scale``, and no horizontal overflow at
390 CSS px (``scrollWidth <= innerWidth + 1``, with innerWidth capped at the
layout viewport's width, since a phone zooms out to fit overflowing content).

Errors: a refused URL raises `FetchRefused`; a document that cannot be loaded
(connection failure, reset, navigation error) raises `SiteError` with the
reason, and a render past `timeout_s` raises ``SiteError("render timeout
after Ns")``; our proxy unreachable or the site's 429 for the document raise
`TransientProviderError("web", ...)`. If Chromium dies mid-render the render
raises `TransientProviderError("chromium", ...)` and the next render relaunches
it; retrying is the stage runner's decision, never the renderer's.

robots.txt and per-domain politeness are the caller's (the enrich stage
fetches the page with `WebFetcher` first, which checks both).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

from playwright.async_api import Browser, BrowserContext, CDPSession, Page, Route, WebSocketRoute
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from providers import metrics
from providers.browser_scripts import READ_SCRIPT, VITALS_SCRIPT
from providers.chromium import (
    CHROMIUM_ARGS,
    DEFAULT_EXECUTABLE,
    acquire_browser,
    discard_browser,
    release_browser,
    shared_browser,
)
from providers.http import USER_AGENT, TransientProviderError, make_client
from providers.netguard import FetchRefused, NetGuard
from providers.web import REDIRECT_STATUSES, SiteError, raise_for_site_429, read_capped, site_request_errors

log = logging.getLogger(__name__)

CHROMIUM = "chromium"
MOBILE_VIEWPORT = (390, 844)
DESKTOP_VIEWPORT = (1350, 940)
# Request headers the page's own requests keep; the user agent is always ours, hop-by-hop ones are httpx's.
FORWARDED_HEADERS = frozenset(
    {"accept", "accept-language", "cookie", "referer", "content-type", "origin", "range", "x-requested-with"}
)
# Not handed to the page: the body is already decoded and re-framed by Chromium.
DROPPED_RESPONSE_HEADERS = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"}
)


@dataclass
class RenderResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]  # the document's, lowercased, without set-cookie (see cookies)
    cookies: dict[str, str]  # the context's cookies for final_url (set by headers or by scripts)
    html: str  # the DOM after the page settled, at most max_html_chars
    js: dict[str, str]  # requested JS globals that exist: primitives as text, objects as ""
    lcp_ms: float | None
    fcp_ms: float | None
    cls: float
    tbt_ms: float | None
    ttfb_ms: float | None
    load_ms: float | None
    page_bytes: int
    requests: int
    mobile_responsive: bool | None  # None for desktop renders
    screenshot_png: bytes | None
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (url, reason) of refused requests
    render_ms: float = 0.0
    redirects: list[str] = field(default_factory=list)  # the document's redirect hops


@dataclass
class _Fetched:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    wire_bytes: int
    truncated: bool

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def for_page(self) -> dict[str, str]:
        """Headers for `route.fulfill`: repeated ones (set-cookie) joined by newlines, as Playwright expects."""
        out: dict[str, str] = {}
        for key, value in self.headers:
            key = key.lower()
            if key not in DROPPED_RESPONSE_HEADERS:
                out[key] = f"{out[key]}\n{value}" if key in out else value
        return out

    def for_result(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in self.headers:
            key = key.lower()
            if key != "set-cookie":
                out[key] = f"{out[key]}, {value}" if key in out else value
        return out


@dataclass
class _RenderState:
    """What one render's route handlers and its navigation share."""

    deadline: float  # loop time
    last_activity: float
    page: Page | None = None
    blocked: list[tuple[str, str]] = field(default_factory=list)
    page_bytes: int = 0
    requests: int = 0
    inflight: int = 0
    handlers: set[asyncio.Task[Any]] = field(default_factory=set)
    next_document: str | None = None  # where the document redirected to
    document_refused: str | None = None
    document_error: Exception | None = None
    document: _Fetched | None = None
    document_at: float | None = None  # perf_counter when the document's response arrived
    origins: set[str] = field(default_factory=set)  # whose storage is cleared before the tab is reused


@dataclass
class _Tab:
    """A browser context with one page, leased to one render at a time; requests outside a render are refused."""

    context: BrowserContext
    mobile: bool
    page: Page | None = None
    cdp: CDPSession | None = None
    state: _RenderState | None = None
    renders: int = 0


class PageRenderer:
    """Render pages with JavaScript in the shared Chromium; see the module docstring."""

    def __init__(
        self,
        executable_path: str = DEFAULT_EXECUTABLE,
        *,
        proxy: str | None = None,
        guard: NetGuard | None = None,
        max_concurrency: int = 2,
        timeout_s: float = 20.0,
        user_agent: str = USER_AGENT,
        max_bytes: int = 5_000_000,
        max_html_chars: int = 1_000_000,
        max_js_chars: int = 200,
        max_redirects: int = 5,
        settle_s: float = 2.0,
        quiet_s: float = 0.5,
        args: Sequence[str] = CHROMIUM_ARGS,
        tab_renders: int = 25,
        fast_png: bool = True,
        block_media: bool = True,
    ) -> None:
        self.executable_path = executable_path
        self.args = tuple(args)  # used if this renderer launches the process's Chromium
        self.proxy = proxy
        # With a proxy, the proxy resolves names: see providers.netguard for what is checked then.
        self.guard = guard or NetGuard(resolve_names=proxy is None)
        self.timeout_s = timeout_s
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self.max_html_chars = max_html_chars
        self.max_js_chars = max_js_chars
        self.max_redirects = max_redirects
        self.settle_s = settle_s
        self.quiet_s = quiet_s
        self._slots = asyncio.Semaphore(max_concurrency)
        self._client = make_client(
            timeout_s=timeout_s,
            proxy=proxy,
            max_keepalive=16,
            keep_cookies=False,
            headers={"User-Agent": user_agent, "Accept": "*/*"},
            guard=self.guard,  # direct mode: connect only to the addresses the guard checked
        )
        self._acquired = False
        self._sink: socket.socket | None = None
        self.renders = 0
        self.screenshots = 0  # renders that took one
        metrics.init_chromium("site")
        self.restarts = 0
        self.active = 0  # tabs rendering right now
        self.peak_active = 0
        self.tab_renders = max(1, tab_renders)
        self.fast_png = fast_png
        self.block_media = block_media
        self._idle: list[_Tab] = []
        self.tabs_opened = 0

    async def start(self) -> PageRenderer:
        await self._browser()
        return self

    async def close(self) -> None:
        """Close the idle tabs, release the shared browser (it closes with its last user) and our HTTP client."""
        idle, self._idle = self._idle, []
        for tab in idle:
            await _close_quietly(tab.context)
        if self._acquired:
            self._acquired = False
            await release_browser()
        await self._client.aclose()
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    async def __aenter__(self) -> PageRenderer:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def render(
        self, url: str, *, js_paths: Sequence[str] = (), screenshot: bool = False, mobile: bool = True
    ) -> RenderResult:
        """Load `url`, let it settle, and measure it; see the module docstring for errors."""
        await self.guard.check(url)
        async with metrics.render_slot(self._slots, "site"):
            browser = await self._browser()
            try:
                with metrics.render("site"):
                    result = await self._render_in_context(browser, url, tuple(js_paths), screenshot, mobile)
            except PlaywrightError as exc:
                message = (exc.message or str(exc)).splitlines()[0][:200]
                if await _responsive(browser):
                    raise SiteError(f"render failed: {message}") from None
                await discard_browser(browser)  # the next render relaunches it
                self.restarts += 1
                log.warning("chromium died while rendering %s; it is relaunched for the next render", url)
                raise TransientProviderError(CHROMIUM, f"browser died while rendering: {message}") from exc
            self.renders += 1
            self.screenshots += result.screenshot_png is not None
            return result

    async def _browser(self) -> Browser:
        if not self._acquired:
            self._acquired = True  # before the await: concurrent first renders take one reference
            try:
                return await acquire_browser(self.executable_path, self.args)
            except BaseException:
                self._acquired = False
                raise
        return await shared_browser(self.executable_path, self.args)

    @property
    def _reserve_s(self) -> float:
        """Time kept at the end of the deadline for reading metrics, the DOM and the screenshot."""
        return min(3.0, self.timeout_s * 0.25)

    def _sink_proxy(self) -> str:
        """A loopback port that is bound but never listens: connections to it are refused at once."""
        if self._sink is None:
            self._sink = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._sink.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{self._sink.getsockname()[1]}"

    async def _lease(self, browser: Browser, mobile: bool) -> _Tab:
        """An idle tab of this browser and viewport, else a new one."""
        while self._idle:
            for tab in self._idle:
                if tab.mobile == mobile:
                    self._idle.remove(tab)
                    break
            else:
                break
            if tab.context.browser is browser and tab.page is not None and not tab.page.is_closed():
                return tab
            await _close_quietly(tab.context)
        return await self._new_tab(browser, mobile)

    async def _new_tab(self, browser: Browser, mobile: bool) -> _Tab:
        context = await self._new_context(browser, mobile)
        tab = _Tab(context, mobile)
        try:
            context.set_default_timeout(self.timeout_s * 1000)
            await context.add_init_script(VITALS_SCRIPT)
            await context.route("**/*", lambda route: self._route_tab(route, tab))
            await context.route_web_socket("**/*", lambda ws: self._refuse_websocket(ws, tab.state))
            tab.page = await context.new_page()
            tab.cdp = await context.new_cdp_session(tab.page)
        except BaseException:
            await _close_quietly(context)
            raise
        self.tabs_opened += 1
        return tab

    async def _give_back(self, tab: _Tab, state: _RenderState, reusable: bool) -> None:
        """Clean `tab` for the next render (see the module docstring), or close it."""
        tab.state = None
        tab.renders += 1
        if reusable and tab.renders < self.tab_renders and tab.page is not None and tab.cdp is not None:
            try:
                async with asyncio.timeout(5.0):
                    await tab.page.goto("about:blank", wait_until="commit")
                    await tab.context.clear_cookies()
                    for origin in sorted(state.origins):
                        await tab.cdp.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
            except (PlaywrightError, TimeoutError):
                pass
            else:
                self._idle.append(tab)
                return
        await _close_quietly(tab.context)

    async def _screenshot(self, tab: _Tab) -> bytes:
        """The viewport as a PNG; DevTools' fast encoding unless `fast_png` is off (see providers.html_render)."""
        assert tab.cdp is not None
        shot = await tab.cdp.send(
            "Page.captureScreenshot",
            {"format": "png", "optimizeForSpeed": self.fast_png, "captureBeyondViewport": False},
        )
        return base64.b64decode(shot["data"])

    async def _route_tab(self, route: Route, tab: _Tab) -> None:
        state = tab.state
        if state is None:  # between renders (a late request of the last page): nobody's, refused
            try:
                await route.abort("blockedbyclient")
            except PlaywrightError:
                pass
            return
        await self._route(route, state)

    async def _new_context(self, browser: Browser, mobile: bool) -> BrowserContext:
        width, height = MOBILE_VIEWPORT if mobile else DESKTOP_VIEWPORT
        return await browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=1,
            is_mobile=mobile,
            has_touch=mobile,
            user_agent=self.user_agent,
            proxy={"server": self._sink_proxy(), "bypass": "<-loopback>"},
            service_workers="block",
            accept_downloads=False,
        )

    async def _render_in_context(
        self, browser: Browser, url: str, js_paths: tuple[str, ...], screenshot: bool, mobile: bool
    ) -> RenderResult:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        state = _RenderState(deadline=loop.time() + self.timeout_s, last_activity=loop.time())
        tab: _Tab | None = None
        finished = False
        try:
            async with asyncio.timeout_at(state.deadline):
                tab = await self._lease(browser, mobile)
                tab.state = state
                self.active += 1
                self.peak_active = max(self.peak_active, self.active)
                context = tab.context
                assert tab.page is not None
                page = state.page = tab.page
                first_nav = time.perf_counter()
                redirects, final_nav = await self._navigate(page, url, state)
                load_ms = await self._wait_for_load(page, state, first_nav)
                await self._settle(state)
                measured = await self._read(page, js_paths)
                html = (await page.content())[: self.max_html_chars]
                png = await self._screenshot(tab) if screenshot else None
                final_url = page.url
                cookies = await context.cookies([final_url]) if final_url.startswith(("http://", "https://")) else []
                finished = True
        except TimeoutError:
            raise SiteError(f"render timeout after {self.timeout_s:g}s") from None
        finally:
            for task in state.handlers:
                task.cancel()
            if tab is not None:
                self.active -= 1
                await self._give_back(tab, state, reusable=finished)
        vitals = measured.get("vitals") or {}
        offset_ms = (final_nav - first_nav) * 1000  # page clocks start at the last navigation
        document = state.document
        return RenderResult(
            url=url,
            final_url=final_url,
            status=document.status if document else 0,
            headers=document.for_result() if document else {},
            cookies={c["name"]: c["value"] for c in cookies},
            html=html,
            js={str(k): str(v) for k, v in (measured.get("js") or {}).items()},
            lcp_ms=_shifted(vitals.get("lcp"), offset_ms),
            fcp_ms=_shifted(vitals.get("fcp"), offset_ms),
            cls=round(float(vitals.get("cls") or 0.0), 4),
            tbt_ms=_shifted(vitals.get("tbt"), 0.0),
            ttfb_ms=(state.document_at - first_nav) * 1000 if state.document_at else None,
            load_ms=load_ms,
            page_bytes=state.page_bytes,
            requests=state.requests,
            mobile_responsive=bool(measured.get("viewportMeta")) and not measured.get("overflow") if mobile else None,
            screenshot_png=png,
            blocked=list(state.blocked),
            render_ms=(time.perf_counter() - started) * 1000,
            redirects=redirects,
        )

    async def _navigate(self, page: Page, url: str, state: _RenderState) -> tuple[list[str], float]:
        """Open the document, following its redirects ourselves; (redirect hops, when the last navigation began)."""
        current, redirects = url, list[str]()
        for _ in range(self.max_redirects + 1):
            await self.guard.check(current)
            state.next_document = None
            nav_started = time.perf_counter()
            try:
                await page.goto(current, wait_until="commit", timeout=0)
            except PlaywrightError:
                if state.document_refused is not None:
                    raise FetchRefused(state.document_refused) from None
                if state.next_document is not None:
                    current = state.next_document
                    redirects.append(current)
                    continue
                if state.document_error is not None:
                    raise state.document_error from None
                raise  # not ours: a download, or the browser going away (`render` tells which)
            return redirects, nav_started
        raise SiteError(f"more than {self.max_redirects} redirects")

    async def _wait_for_load(self, page: Page, state: _RenderState, first_nav: float) -> float | None:
        """ms from the first navigation to ``load``; None when a hanging subresource holds it past our reserve."""
        budget_s = state.deadline - asyncio.get_running_loop().time() - self._reserve_s
        try:
            await page.wait_for_load_state("load", timeout=max(budget_s, 0.05) * 1000)
        except PlaywrightTimeoutError:
            return None
        return (time.perf_counter() - first_nav) * 1000

    async def _settle(self, state: _RenderState) -> None:
        """Up to `settle_s` for the network to stay quiet `quiet_s`, so late LCP candidates and long tasks land."""
        loop = asyncio.get_running_loop()
        until = min(loop.time() + self.settle_s, state.deadline - self._reserve_s)
        while loop.time() < until:
            if state.inflight == 0 and loop.time() - state.last_activity >= self.quiet_s:
                return
            await asyncio.sleep(0.05)

    async def _read(self, page: Page, js_paths: tuple[str, ...]) -> dict[str, Any]:
        """Vitals, JS globals and the responsive check in one call; retried once if the page navigated meanwhile."""
        for attempt in (1, 2):
            try:
                return await page.evaluate(READ_SCRIPT, [list(js_paths), self.max_js_chars])
            except PlaywrightError:
                if attempt == 2 or page.is_closed():
                    raise
                await page.wait_for_load_state("load")
        raise AssertionError("unreachable")

    async def _route(self, route: Route, state: _RenderState) -> None:
        """Answer one intercepted request (see `_answer`), tracking what is in flight for settling and cleanup."""
        task = asyncio.current_task()
        if task is not None:
            state.handlers.add(task)
        state.inflight += 1
        state.last_activity = asyncio.get_running_loop().time()
        try:
            await self._answer(route, state)
        except PlaywrightError:
            pass  # the page or its context went away while we were answering
        finally:
            state.inflight -= 1
            state.last_activity = asyncio.get_running_loop().time()
            if task is not None:
                state.handlers.discard(task)

    async def _answer(self, route: Route, state: _RenderState) -> None:
        request = route.request
        url = request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            state.origins.add(f"{parts.scheme}://{parts.netloc}")
        is_document = _is_main_document(route, state.page)
        if self.block_media and request.resource_type == "media":
            await route.abort("blockedbyclient")  # audio and video streams: nothing we measure (the poster is an image)
            return
        try:
            await self.guard.check(url)
        except FetchRefused as exc:
            state.blocked.append((url, exc.reason))
            if is_document:
                state.document_refused = exc.reason
            await route.abort("blockedbyclient")
            return
        headers = {k: v for k, v in (await request.all_headers()).items() if k in FORWARDED_HEADERS}
        method, body = request.method, request.post_data_buffer
        for _ in range(self.max_redirects + 1):
            try:
                fetched = await self._fetch(method, url, headers, body, state, document=is_document)
            except FetchRefused as exc:  # refused at connect: the name now resolves somewhere internal
                state.blocked.append((url, exc.reason))
                if is_document:
                    state.document_refused = exc.reason
                await route.abort("blockedbyclient")
                return
            except (SiteError, TransientProviderError) as exc:
                if is_document:
                    state.document_error = exc
                await route.abort("failed")
                return
            state.requests += 1
            state.page_bytes += fetched.wire_bytes
            location = fetched.header("location")
            if fetched.status not in REDIRECT_STATUSES or not location:
                break
            target = urljoin(url, location.strip())
            if is_document:  # the render navigates there itself, so the page's URL is the final one
                state.next_document = target
                await route.abort("aborted")
                return
            try:
                await self.guard.check(target)
            except FetchRefused as exc:
                state.blocked.append((target, exc.reason))
                await route.abort("blockedbyclient")
                return
            if urlsplit(target).netloc != urlsplit(url).netloc:
                headers.pop("cookie", None)  # the page's cookies belong to the first host
            if fetched.status == 303 or (fetched.status in (301, 302) and method == "POST"):
                method, body = "GET", None
            url = target
        else:
            await route.abort("failed")  # a subresource redirecting more than max_redirects times
            return
        if is_document:  # a later navigation by the page's own script replaces the document, not its TTFB
            state.document, state.document_at = fetched, state.document_at or time.perf_counter()
        await route.fulfill(status=fetched.status, headers=fetched.for_page(), body=fetched.body)

    async def _fetch(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, state: _RenderState, *, document: bool
    ) -> _Fetched:
        """One request without redirects, its body capped at `max_bytes`, inside the render's deadline."""
        with site_request_errors(
            url, timeout_s=self.timeout_s, proxy=self.proxy, timeout_reason=f"render timeout after {self.timeout_s:g}s"
        ):
            async with asyncio.timeout_at(state.deadline):
                async with self._client.stream(method, url, headers=headers, content=body) as response:
                    if document:
                        raise_for_site_429(response, urlsplit(url).hostname or "")
                    data, truncated = b"", False
                    if response.status_code not in REDIRECT_STATUSES:
                        data, truncated = await read_capped(response, self.max_bytes)
                    return _Fetched(
                        response.status_code,
                        response.headers.multi_items(),
                        data,
                        response.num_bytes_downloaded,
                        truncated,
                    )
        raise AssertionError("unreachable")  # the context manager re-raises every error as ours

    async def _refuse_websocket(self, ws: WebSocketRoute, state: _RenderState | None) -> None:
        if state is not None:
            state.blocked.append((ws.url, "websockets are not opened by the renderer"))
        try:
            await ws.close(code=1008, reason="blocked")
        except PlaywrightError:
            pass


async def _responsive(browser: Browser) -> bool:
    """Whether Chromium still works: a failure it caused must not be blamed on the site."""
    if not browser.is_connected():
        return False
    try:
        async with asyncio.timeout(3.0):
            probe = await browser.new_context()
            await probe.close()
    except (PlaywrightError, TimeoutError):
        return False
    return True


def _is_main_document(route: Route, page: Page | None) -> bool:
    try:
        return page is not None and route.request.is_navigation_request() and route.request.frame == page.main_frame
    except PlaywrightError:  # requests without a frame (workers)
        return False


def _shifted(value: Any, offset_ms: float) -> float | None:
    return None if value is None else round(float(value) + offset_ms, 1)


async def _close_quietly(context: BrowserContext) -> None:
    try:
        await asyncio.wait_for(context.close(), 5.0)
    except (PlaywrightError, TimeoutError):
        pass
