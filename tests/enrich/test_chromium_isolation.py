"""Chromium runs third-party JavaScript: its renderers are sandboxed and no Chromium process
(nor the Playwright driver) holds this worker's credentials.

Checked from /proc on the real processes after a real render: each renderer
under seccomp-bpf (``Seccomp: 2``) in a user and PID namespace of its own,
never as root; the canary credential set in our environment before the launch
absent from every Chromium and driver process's environment.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Route

from providers.browser import PageRenderer
from providers.chromium import (
    DEFAULT_EXECUTABLE,
    LaunchPolicy,
    acquire_browser,
    close_shared_browser,
    configure_launch,
    release_browser,
)
from providers.netguard import NetGuard

CHROMIUM = DEFAULT_EXECUTABLE  # what workers run: the headless shell when installed
CANARY = "canary-credential-3f9a1c"


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:  # gone meanwhile
        return ""


def _inspect(pid: int) -> tuple[dict[str, str], str, str, bytes | None] | None:
    """(status, user namespace, PID namespace, environment or None if unreadable); None once it has exited."""
    try:
        status, userns, pidns = _status(pid), os.readlink(f"/proc/{pid}/ns/user"), os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None
    try:
        environment: bytes | None = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        environment = None
    return status, userns, pidns, environment


async def _page_server(image_requested: asyncio.Event, release: asyncio.Event) -> tuple[web.AppRunner, int]:
    """A page whose image is held back until `release`, so the render (and its renderer) is alive meanwhile."""

    async def page(request: web.Request) -> web.Response:
        body = '<html><body><h1>Sandboxed</h1><img src="/slow.png"><script>1+1</script></body></html>'
        return web.Response(text=body, content_type="text/html")

    async def slow(request: web.Request) -> web.Response:
        image_requested.set()
        await release.wait()
        return web.Response(body=b"", content_type="image/png")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/slow.png", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, runner.addresses[0][1]


@pytest.fixture
async def fresh_chromium(monkeypatch):
    """A Chromium launched by this test (with a canary credential in our environment), closed afterwards."""
    await close_shared_browser()
    monkeypatch.setenv("LEADSTREAM_SENDGRID_API_KEY", CANARY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY)
    configure_launch(LaunchPolicy())
    yield
    await close_shared_browser()


async def test_renderers_are_sandboxed_and_hold_no_credentials(fresh_chromium) -> None:
    image_requested, release = asyncio.Event(), asyncio.Event()
    runner, port = await _page_server(image_requested, release)
    try:
        guard = NetGuard([f"127.0.0.1:{port}"], resolve_names=False)
        async with PageRenderer(CHROMIUM, guard=guard, timeout_s=20.0) as pages:
            render = asyncio.create_task(pages.render(f"http://127.0.0.1:{port}/"))
            await asyncio.wait_for(image_requested.wait(), 15.0)  # the page is loaded and waiting: inspect now
            # Chromium's processes and the Playwright driver; not other children of the test process
            # (a Kafka broker restarted by a chaos test inherits the suite's environment, rightly).
            processes = [
                pid for pid in _descendants(os.getpid()) if any(n in _cmdline(pid) for n in ("chromium", "playwright"))
            ]
            chromium = [pid for pid in processes if "chromium" in _cmdline(pid)]
            renderers = [pid for pid in chromium if "--type=renderer" in _cmdline(pid)]
            seen = {pid: _inspect(pid) for pid in processes}
            release.set()
            result = await render
        assert result.status == 200 and "Sandboxed" in result.html
        assert chromium and renderers, "no Chromium renderer found"
        our_userns, our_pidns = os.readlink("/proc/self/ns/user"), os.readlink("/proc/self/ns/pid")
        checked = [pid for pid in renderers if seen[pid] is not None]
        assert checked, "every renderer exited before it could be inspected"
        for pid in checked:
            status, userns, pidns, _ = seen[pid]
            assert status["Seccomp"] == "2", f"renderer {pid} is not under seccomp-bpf"
            assert userns != our_userns and pidns != our_pidns, f"renderer {pid} shares our namespaces"
            assert status["Uid"].split()[0] != "0", f"renderer {pid} runs as root"
        for pid, found in seen.items():  # Chromium's processes and the Playwright driver
            if found is None or found[3] is None:
                continue  # gone, or a sandboxed process we may not read (which cannot read us either)
            environment = found[3]
            assert CANARY.encode() not in environment, f"{_cmdline(pid)[:80]!r} inherited a credential"
            assert b"LEADSTREAM_" not in environment, f"{_cmdline(pid)[:80]!r} inherited LEADSTREAM_ variables"
    finally:
        release.set()
        await runner.cleanup()
    assert os.environ["LEADSTREAM_SENDGRID_API_KEY"] == CANARY  # ours is untouched


async def test_playwrights_disabled_features_stay_disabled_with_ours(fresh_chromium) -> None:
    """Chromium keeps only the last --disable-features: ours (the omnibox popups) must not re-enable Playwright's.

    HttpsUpgrades on would turn a site's http:// document into an https:// request; the popups on show up as
    ``browser_ui`` targets (chrome://omnibox-popup.top-chrome/), one renderer each, per browser context.
    """
    browser = await acquire_browser(CHROMIUM)
    try:
        context = await browser.new_context()
        requested: list[str] = []

        async def answer(route: Route) -> None:
            requested.append(route.request.url)
            await route.fulfill(body="<p>plain http</p>", content_type="text/html")

        await context.route("**/*", answer)
        page = await context.new_page()
        await page.goto("http://plain-http.example/")
        session = await browser.new_browser_cdp_session()
        targets = (await session.send("Target.getTargets", {"filter": [{}]}))["targetInfos"]
        await context.close()
    finally:
        await release_browser()
    assert requested == ["http://plain-http.example/"], "HttpsUpgrades is on: Playwright's list was overridden"
    assert not [t["url"] for t in targets if t["type"] == "browser_ui"], "headless UI pages are built"
