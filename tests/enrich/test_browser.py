"""PageRenderer: real Chromium, the simulator as the websites' proxy, lab metrics of simulated JS sites."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from providers.browser import MOBILE_VIEWPORT, PageRenderer
from providers.chromium import DEFAULT_EXECUTABLE, HOST
from providers.http import TransientProviderError
from providers.netguard import FetchRefused, NetGuard
from providers.web import SiteError, WebFetcher
from simulator.websites import domain_for_profile, site_profile, site_spec
from simulator.websites_js import INTERNAL_TARGETS, REDIRECTED_TARGET
from stages.enrich.contacts import find_emails
from stages.enrich.detect import TechDetector
from stages.enrich.enricher import Enricher
from stages.enrich.sources import EnrichSources
from stages.enrich.stage import EnrichStage
from tests.enrich.sites import domain
from tests.waiting import until


@contextlib.asynccontextmanager
async def local_site(app: web.Application) -> AsyncIterator[tuple[int, NetGuard]]:
    """Serve `app` on a free loopback port; yield the port and a guard that lets the renderer reach that site only."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield port, NetGuard([f"127.0.0.1:{port}"], resolve_names=False)
    finally:
        await runner.cleanup()


CHROMIUM = DEFAULT_EXECUTABLE  # what workers run: the headless shell when installed


@pytest_asyncio.fixture(scope="module")
async def renderer(simulator):
    """One renderer for the module, through the simulator as proxy; its guard (proxy mode) allowlists nothing."""
    proxy, _ = simulator
    async with PageRenderer(CHROMIUM, proxy=proxy, max_concurrency=2, timeout_s=15.0) as pages:
        yield pages


@pytest.fixture(scope="module")
def detector() -> TechDetector:
    return TechDetector.from_file()


def _spa_with_home_emails(seed: int) -> str:
    """A spa_react domain with a contact page and emails on its home page (most have both; not all)."""
    for n in range(5000):
        host = f"spa{n}.com"
        if site_profile(seed, host) != "spa_react":
            continue
        spec = site_spec(seed, host)
        if spec.contact_path and any(e.page == "/" for e in spec.emails):
            return host
    raise LookupError("no spa_react domain with home-page emails")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


async def test_spa_emails_and_react_only_appear_when_rendered(web_sim, renderer, detector) -> None:
    proxy, sim = web_sim
    host = _spa_with_home_emails(sim.config.seed)
    spec = site_spec(sim.config.seed, host)
    expected = {e.address for e in spec.emails if e.page == "/"}
    fetcher = WebFetcher(proxy, timeout_s=5.0)
    try:
        plain = await fetcher.fetch(f"http://{host}/")
    finally:
        await fetcher.aclose()
    plain_tech = {t.name for t in detector.detect(plain.final_url, plain.headers, plain.text(), plain.cookies)}
    assert "enable JavaScript" in plain.text() and not {f.email for f in find_emails(plain.text())}
    assert "React" not in plain_tech

    result = await renderer.render(f"http://{host}/", js_paths=detector.js_paths)

    assert result.status == 200 and result.final_url == f"http://{host}/"
    assert expected <= {f.email for f in find_emails(result.html)}
    assert f'href="{spec.contact_path}"' in result.html and f'href="{spec.contact_path}"' not in plain.text()
    assert result.js["React.version"] == "18.2.0" and "Vue.version" not in result.js
    tech = {
        t.name: t.version
        for t in detector.detect(result.final_url, result.headers, result.html, result.cookies, js=result.js)
    }
    assert tech["React"] == "18.2.0" and tech["jQuery"] == "3.6.0"
    assert result.requests == 2 and result.blocked == []  # the shell and its bundle


async def test_heavy_page_has_long_tasks_a_late_lcp_and_overflows(web_sim, renderer) -> None:
    _, sim = web_sim
    result = await renderer.render(f"http://{domain(sim, 'heavy_js')}/")
    assert result.tbt_ms is not None and result.tbt_ms > 600
    assert result.lcp_ms is not None and result.lcp_ms > 2500 and result.fcp_ms is not None and result.fcp_ms < 1000
    assert result.page_bytes > 800_000 and result.load_ms is not None and result.load_ms > 2500
    assert result.mobile_responsive is False  # a viewport meta, but a 640 px image on a 390 px screen


async def test_banner_inserted_after_load_shifts_the_layout(web_sim, renderer) -> None:
    _, sim = web_sim
    result = await renderer.render(f"http://{domain(sim, 'layout_shift')}/")
    assert result.cls > 0.25 and result.tbt_ms is not None and result.tbt_ms < 200


async def test_fast_modern_site_is_fast_stable_responsive_with_a_screenshot(web_sim, renderer) -> None:
    _, sim = web_sim
    host = domain(sim, "fast_modern")
    result = await renderer.render(f"http://{host}/", screenshot=True)
    assert result.lcp_ms is not None and result.lcp_ms < 2500 and result.fcp_ms is not None
    assert result.cls < 0.1 and result.tbt_ms is not None and result.tbt_ms < 200
    assert result.mobile_responsive is True
    assert result.ttfb_ms is not None and 0 < result.ttfb_ms <= result.load_ms
    assert result.headers["cf-ray"] and "set-cookie" not in result.headers
    assert result.screenshot_png is not None and _png_size(result.screenshot_png) == MOBILE_VIEWPORT
    assert {r["user_agent"] for r in sim.records["web"] if r["domain"] == host} == {renderer.user_agent}


async def test_site_without_viewport_meta_is_not_responsive(web_sim, renderer) -> None:
    _, sim = web_sim
    url = f"http://{domain(sim, 'joomla')}/"
    mobile = await renderer.render(url)
    desktop = await renderer.render(url, mobile=False)
    assert mobile.mobile_responsive is False and mobile.status == 200
    assert desktop.mobile_responsive is None


async def test_requests_to_internal_addresses_are_blocked_with_reasons(web_sim, renderer) -> None:
    _, sim = web_sim
    host = domain(sim, "ssrf_assets")
    result = await renderer.render(f"http://{host}/")
    metadata, loopback, private, localhost = INTERNAL_TARGETS
    assert sorted(result.blocked) == sorted(
        [
            (metadata, "address 169.254.169.254 is link-local"),
            (loopback, "address 127.0.0.1 is loopback"),
            (private, "address 10.0.0.7 is private"),
            (localhost, "localhost resolves to 127.0.0.1 (loopback)"),
            (REDIRECTED_TARGET, "address 169.254.169.254 is link-local"),  # a same-site image redirecting there
        ]
    )
    assert result.status == 200 and result.lcp_ms is not None
    assert {r["path"] for r in sim.records["web"] if r["domain"] == host} == {"/", "/assets/pixel.gif"}


async def test_refused_document_raises(web_sim, renderer) -> None:
    _, sim = web_sim
    with pytest.raises(FetchRefused, match="address 10.0.0.1 is private"):
        await renderer.render("http://10.0.0.1/")
    with pytest.raises(FetchRefused, match="address 169.254.169.254 is link-local"):
        await renderer.render(f"http://{domain(sim, 'redirect_private')}/")  # refused at the redirect hop
    chain = await renderer.render(f"http://{domain(sim, 'redirect_chain')}/")
    assert chain.final_url.endswith("/home/") and len(chain.redirects) == 3 and chain.status == 200


async def test_page_that_never_finishes_hits_the_deadline(web_sim) -> None:
    proxy, sim = web_sim
    async with PageRenderer(CHROMIUM, proxy=proxy, timeout_s=2.0) as quick:
        # The page never finishes loading: only the render's own deadline ends it, and its message says so.
        with pytest.raises(SiteError, match=r"^render timeout after 2s$"):
            await quick.render(f"http://{domain(sim, 'endless_stream')}/")
        assert quick.active == 0  # the context was closed


async def test_concurrency_bound_holds(web_sim, renderer) -> None:
    _, sim = web_sim
    sim.config.family("web").latency_median_ms = 300  # every request to a site waits, so renders overlap
    sim.config.family("web").latency_p95_ms = 400
    hosts = [domain_for_profile(sim.config.seed, "fast_modern", prefix=f"c{n}x") for n in range(6)]
    browser = HOST.running
    assert browser is not None
    # Idle tabs of earlier renders are reused (one context each): at most max_concurrency more appear.
    baseline, peak, extra, done = len(browser.contexts), 0, 0, asyncio.Event()

    async def sample() -> None:
        nonlocal peak, extra
        while not done.is_set():
            peak = max(peak, renderer.active)
            extra = max(extra, len(browser.contexts) - baseline)
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    try:
        results = await asyncio.gather(*(renderer.render(f"http://{h}/") for h in hosts))
    finally:
        done.set()
        await sampler
    assert [r.status for r in results] == [200] * 6
    assert peak == 2 and renderer.peak_active == 2 and extra <= 2


async def test_browser_dying_mid_render_is_a_transient_error_and_the_next_render_relaunches_it(web_sim) -> None:
    proxy, sim = web_sim
    sim.config.family("web").latency_median_ms = 600  # the document is still on its way when Chromium dies
    sim.config.family("web").latency_p95_ms = 700
    site = domain(sim, "fast_modern")
    async with PageRenderer(CHROMIUM, proxy=proxy, timeout_s=10.0) as pages:
        render = asyncio.create_task(pages.render(f"http://{site}/"))
        await until(lambda: any(r["domain"] == site for r in sim.records["web"]), timeout_s=10, what="the request")
        doomed = HOST.running
        assert doomed is not None
        await doomed.close()  # as if Chromium crashed mid-render
        with pytest.raises(TransientProviderError, match="chromium: browser died while rendering"):
            await render  # not retried here: the stage runner decides
        assert pages.restarts == 1 and pages.renders == 0
        sim.config.family("web").latency_median_ms = 0
        sim.config.family("web").latency_p95_ms = 0
        result = await pages.render(f"http://{site}/")  # the runner's retry
        assert HOST.running is not None and HOST.running is not doomed
    assert result.status == 200 and pages.renders == 1


async def test_websockets_and_webrtc_never_leave_the_page() -> None:
    """Traffic that is not an HTTP request escapes request routing: it must still go nowhere."""
    stun = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stun.bind(("127.0.0.1", 0))
    stun.setblocking(False)
    hits: list[str] = []

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            content_type="text/html",
            text=f"""<html><body><h1>Chat with us</h1><script>
            try {{ new WebSocket('ws://' + location.host + '/ws'); }} catch (e) {{}}
            const peer = new RTCPeerConnection({{iceServers: [{{urls: 'stun:127.0.0.1:{stun.getsockname()[1]}'}}]}});
            peer.createDataChannel('chat');
            peer.createOffer().then((offer) => peer.setLocalDescription(offer));
            </script></body></html>""",
        )

    async def websocket(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(status=400)

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/ws", websocket)
    async with (
        local_site(app) as (port, guard),
        PageRenderer(CHROMIUM, guard=guard, timeout_s=8.0, quiet_s=1.0) as pages,
    ):  # the test site itself, nothing else
        result = await pages.render(f"http://127.0.0.1:{port}/")
    packets = 0
    try:
        while stun.recvfrom(2048):
            packets += 1
    except BlockingIOError:
        pass
    finally:
        stun.close()
    assert result.status == 200 and "Chat with us" in result.html
    assert result.blocked == [(f"ws://127.0.0.1:{port}/ws", "websockets are not opened by the renderer")]
    assert hits == [] and packets == 0


async def test_a_reused_tab_keeps_nothing_of_the_last_render() -> None:
    """One tab, three renders: cookies, storage and late requests of a render never reach the next one."""
    hits: list[str] = []

    async def page(request: web.Request) -> web.Response:
        hits.append(request.path)
        script = """
        window.__seen = [document.cookie, localStorage.getItem('k'), sessionStorage.getItem('k')].join('|');
        document.cookie = 'js=1; path=/'; localStorage.setItem('k', 'v'); sessionStorage.setItem('k', 'v');
        window.addEventListener('pagehide', () => { navigator.sendBeacon('/late'); fetch('/late'); });
        """
        response = web.Response(content_type="text/html", text=f"<html><body><h1>Hi</h1><script>{script}</script>")
        response.set_cookie("server", "1")
        return response

    async def late(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_route("*", "/late", late)
    async with (
        local_site(app) as (port, guard),
        PageRenderer(CHROMIUM, guard=guard, max_concurrency=1, timeout_s=10.0, quiet_s=0.2) as pages,
    ):
        results = [await pages.render(f"http://127.0.0.1:{port}/", js_paths=["__seen"]) for _ in range(3)]
        assert pages.tabs_opened == 1  # one tab did all three
        assert len(pages._idle) == 1 and await pages._idle[0].context.cookies() == []
    for result in results:
        assert result.status == 200 and result.js == {"__seen": "server=1||"}, result.js  # only this response's cookie
        assert result.cookies == {"server": "1", "js": "1"}
    assert hits == ["/", "/", "/"]  # the pagehide requests came between renders: refused


async def test_audio_and_video_are_not_fetched_but_the_poster_is() -> None:
    hits: list[str] = []

    async def page(request: web.Request) -> web.Response:
        body = (
            '<html><body><h1>Our work</h1><video autoplay muted loop poster="/poster.png" src="/hero.mp4"></video>'
            '<audio autoplay src="/jingle.mp3"></audio></body></html>'
        )
        return web.Response(content_type="text/html", text=body)

    async def asset(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"\0" * 1000, content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/{name}", asset)
    async with (
        local_site(app) as (port, guard),
        PageRenderer(CHROMIUM, guard=guard, timeout_s=10.0, quiet_s=0.3) as pages,
    ):
        result = await pages.render(f"http://127.0.0.1:{port}/")
    assert result.status == 200 and "Our work" in result.html
    assert hits == ["/poster.png"]


async def test_warm_up_opens_the_tab_the_first_render_uses():
    """A worker starts Chromium and a tab while it joins its group (EnrichStage.start), not in its first render."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(content_type="text/html", text="<html><body><h1>Hi</h1></body></html>")

    app = web.Application()
    app.router.add_get("/", page)
    async with local_site(app) as (port, guard):
        pages = PageRenderer(CHROMIUM, guard=guard, max_concurrency=1, timeout_s=10.0, quiet_s=0.2, idle_tab_s=None)
        try:
            await pages.warm_up()
            await pages.warm_up()  # again (a stage restarted in the same process): still one tab
            assert HOST.running is not None and pages.tabs_opened == 1 and len(pages._idle) == 1
            result = await pages.render(f"http://127.0.0.1:{port}/")
            assert result.status == 200
            assert pages.tabs_opened == 1  # the render took the warm tab
        finally:
            await pages.close()


async def test_a_warm_tab_no_render_takes_is_closed_like_any_idle_tab():
    pages = PageRenderer(CHROMIUM, max_concurrency=1, timeout_s=10.0, idle_tab_s=0.05)
    try:
        await pages.warm_up()
        await until(lambda: pages.tabs_reaped == 1, timeout_s=60, what="the warm tab closed")
        assert not pages._idle and HOST.running is not None  # Chromium stays up for the first render
    finally:
        await pages.close()


def _enrich_stage() -> tuple[EnrichStage, PageRenderer]:
    pages = PageRenderer(CHROMIUM, max_concurrency=1, timeout_s=10.0, idle_tab_s=None)
    fetcher = WebFetcher(timeout_s=5.0)
    stage = EnrichStage(
        Enricher(fetcher, TechDetector.from_file(), sources=EnrichSources(renderer=pages)),
        closers=[fetcher.aclose, pages.close],
    )
    return stage, pages


async def test_the_enrich_stage_starts_chromium_in_the_background_and_stops_it():
    # The module's `renderer` fixture may hold a reference of its own (one event loop for the session):
    # the stage must give back exactly the one it took.
    users = HOST.users
    stage, pages = _enrich_stage()
    await stage.start()  # returns before Chromium is up: events do not wait for it
    try:
        await until(lambda: len(pages._idle) == 1, timeout_s=60, what="the warm tab")
        assert HOST.running is not None and pages.tabs_opened == 1 and HOST.users == users + 1
    finally:
        await stage.stop()
    assert HOST.users == users and not pages._idle
    if users == 0:
        assert HOST.running is None  # the last user closed Chromium


async def test_an_enrich_stage_stopped_while_chromium_starts_leaves_nothing_behind():
    """A worker stopped right after it started: the warm-up's launch ends and its reference is released."""
    users = HOST.users
    stage, pages = _enrich_stage()
    await stage.start()
    await stage.stop()  # the warm-up has not even begun to launch yet
    assert HOST.users == users and not pages._idle
    if users == 0:
        assert HOST.running is None


def _hello_site(gate: asyncio.Event | None = None) -> web.Application:
    """`/` answers at once; `/slow` once `gate` is set."""

    async def page(request: web.Request) -> web.Response:
        if request.path == "/slow" and gate is not None:
            await gate.wait()
        return web.Response(content_type="text/html", text="<html><body><h1>Hello</h1></body></html>")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/slow", page)
    return app


async def test_idle_tabs_are_closed_after_idle_tab_s_while_others_render() -> None:
    """Idle tabs keep the headless shell compositing: each is closed once idle `idle_tab_s`, a rendering one never."""
    gate = asyncio.Event()
    async with (
        local_site(_hello_site(gate)) as (port, guard),
        PageRenderer(CHROMIUM, guard=guard, max_concurrency=2, timeout_s=15.0, quiet_s=0.1, idle_tab_s=0.1) as pages,
    ):
        slow = asyncio.create_task(pages.render(f"http://127.0.0.1:{port}/slow"))
        await until(lambda: pages.active == 1, timeout_s=10, what="the slow render's tab")
        fast = await pages.render(f"http://127.0.0.1:{port}/")  # a second tab, given back idle
        await until(lambda: pages.tabs_reaped == 1, timeout_s=10, what="the idle tab closed")
        assert pages.tabs_opened == 2 and not pages._idle and not slow.done()  # the rendering tab was not touched
        gate.set()
        result = await slow
        await until(lambda: pages.tabs_reaped == 2, timeout_s=10, what="the slow render's tab closed")
        browser = HOST.running
        assert browser is not None and pages._reaper is not None
        await until(pages._reaper.done, timeout_s=10, what="the reaper to end")  # nothing idle: it stops
        assert not pages._idle and not pages._reaping
        again = await pages.render(f"http://127.0.0.1:{port}/")  # a new tab, and the reaper starts again
        assert pages.tabs_opened == 3 and not pages._reaper.done()
    assert fast.status == result.status == again.status == 200 and "Hello" in result.html


async def test_a_tab_reused_within_idle_tab_s_is_not_closed() -> None:
    async with (
        local_site(_hello_site()) as (port, guard),
        PageRenderer(CHROMIUM, guard=guard, max_concurrency=1, timeout_s=15.0, quiet_s=0.1, idle_tab_s=60.0) as pages,
    ):
        for _ in range(3):
            assert (await pages.render(f"http://127.0.0.1:{port}/")).status == 200
        assert pages.tabs_opened == 1 and pages.tabs_reaped == 0  # one tab did all three
        assert len(pages._idle) == 1 and pages._idle[0].page is not None and not pages._idle[0].page.is_closed()
        assert pages._reaper is not None and not pages._reaper.done()  # waiting for the tab's idle_tab_s


async def test_close_with_a_pending_reaper_leaves_nothing_running() -> None:
    async with local_site(_hello_site()) as (port, guard):
        pages = PageRenderer(CHROMIUM, guard=guard, timeout_s=15.0, quiet_s=0.1, idle_tab_s=60.0)
        await pages.start()
        try:
            await pages.render(f"http://127.0.0.1:{port}/")
            reaper, (tab,) = pages._reaper, pages._idle
            assert reaper is not None and not reaper.done()
        finally:
            await pages.close()
        assert reaper.cancelled() and pages._reaper is None and not pages._idle and not pages._reaping
        assert tab.page is not None and tab.page.is_closed() and pages.tabs_reaped == 0  # closed by close()
        assert [t for t in asyncio.all_tasks() if t.get_coro().__qualname__.startswith("PageRenderer.")] == []
