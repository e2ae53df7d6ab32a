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

**Isolation** (docs/security.md, docs/operating.md): Chromium runs third-party
JavaScript, so it is launched

* with its sandbox (`LaunchPolicy.sandbox`, on by default): renderers run in
  their own user, PID and network namespaces under seccomp-bpf, and cannot see
  or reach this worker. The kernel must allow unprivileged user namespaces and
  the container's seccomp profile must allow creating them; where it cannot,
  the operator turns the sandbox off explicitly and Chromium gets
  ``--no-sandbox`` (then the worker makes itself non-dumpable, so a process of
  the same user cannot read its memory or ``/proc/<pid>/environ``);
* with an environment of its own (`browser_environment`): PATH, HOME, locale
  and font settings, never the worker's credentials; the Playwright driver is
  started with the credentials taken out of the environment as well;
* as an unprivileged user (`LaunchPolicy.user`, ``nobody``) when the worker
  itself runs as root (a developer machine, CI): Chromium refuses to run its
  sandbox as root, and root is the wrong owner for a renderer anyway.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import pwd
import shlex
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Browser, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from providers import metrics
from providers.http import TransientProviderError

log = logging.getLogger(__name__)

PROVIDER = "chromium"
# Playwright's own --disable-features list (playwright 1.65, its chromium launcher defaults; the Edge-only ones left out). Chromium keeps only the
# last --disable-features switch, so ours must repeat it: without it HttpsUpgrades would turn http:// navigations
# into https:// ones (tests/enrich/test_chromium_isolation.py checks both lists are in effect).
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
)
# Headless Chromium (the full browser's headless mode) still builds a window's omnibox popups: two WebUI
# pages (chrome://omnibox-popup.top-chrome/), each with a renderer process, per browser context — started for
# every mockup page and every site render, and repainted as pages change titles. Nobody sees them.
HEADLESS_UI_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "WebUIOmniboxFullPopup", "PreloadTopChromeWebUI")
DISABLED_FEATURES = PLAYWRIGHT_DISABLED_FEATURES + HEADLESS_UI_FEATURES
# Rendering cost (perf/bench_mockup.py, perf/reports/2026-12-03/report.md). With --disable-gpu, the GPU process
# only composites in software; in the browser process it saves a process hop per frame. It ran without a
# seccomp filter (/proc/<pid>/status: Seccomp 0), as the browser's user in the browser's network namespace, so
# it gave no boundary the browser process does not have; the renderers keep their sandbox. Every compositor
# stage before a frame is drawn: `providers.html_render` needs it for begin-frame screenshots (one frame per
# mockup view, made on demand) on the headless shell.
BEGIN_FRAME_SWITCH = "--run-all-compositor-stages-before-draw"
RENDER_COST_ARGS = ("--in-process-gpu", BEGIN_FRAME_SWITCH)
CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--dns-prefetch-disable",
    # WebRTC would send STUN/TURN packets to any address a page names, outside request routing.
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    # The same for the headless shell, which has no browser preferences and reads only this switch.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=" + ",".join(DISABLED_FEATURES),
    *RENDER_COST_ARGS,
)
# Debian's chromium-headless-shell (the same Chromium release, its "old" headless mode as a program of its own:
# no browser windows, tabs or UI pages) costs about a third less CPU per site render and ~15 % less per mockup
# than the full browser's headless mode (perf/bench_fetch.py, perf/bench_mockup.py); the full browser when only
# it is installed.
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
FULL_CHROMIUM = "/usr/bin/chromium"
DEFAULT_EXECUTABLE = HEADLESS_SHELL if os.path.exists(HEADLESS_SHELL) else FULL_CHROMIUM
# What Chromium's environment may contain: how to find programs, fonts and the locale, and where to write.
BROWSER_ENV_KEYS = ("PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
BROWSER_ENV_PREFIXES = ("FONTCONFIG_",)
# Kept for the Playwright driver (node) besides those: its own settings.
DRIVER_ENV_PREFIXES = ("PLAYWRIGHT_", "PW_", "NODE_", "DEBUG")
_SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH")
_PR_SET_DUMPABLE = 4


@dataclass(frozen=True)
class LaunchPolicy:
    """How the process's Chromium is isolated; see the module docstring. Set once per process."""

    sandbox: bool = True
    user: str = "nobody"  # who Chromium runs as when this worker runs as root


def browser_environment() -> dict[str, str]:
    """The environment Chromium gets: the allowed variables of ours, nothing else."""
    return {
        key: value
        for key, value in os.environ.items()
        if key in BROWSER_ENV_KEYS or key.startswith(BROWSER_ENV_PREFIXES)
    }


def _secret_variable(key: str) -> bool:
    if key in BROWSER_ENV_KEYS or key.startswith(BROWSER_ENV_PREFIXES + DRIVER_ENV_PREFIXES):
        return False
    return key.startswith("LEADSTREAM_") or any(word in key.upper() for word in _SECRET_WORDS)


@contextmanager
def _credentials_out_of_environment() -> Iterator[None]:
    """While the Playwright driver is spawned (it copies os.environ), leave our credentials out.

    The driver is a long-lived process of our user; what it inherits a
    compromised browser could read. Restored at once: only the spawn sees it.
    """
    removed = {key: os.environ.pop(key) for key in [k for k in os.environ if _secret_variable(k)]}
    try:
        yield
    finally:
        os.environ.update(removed)


def _make_undumpable() -> None:
    """prctl(PR_SET_DUMPABLE, 0): processes of our user can no longer read our memory or environment."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            log.warning("could not make the worker non-dumpable (errno %s)", ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        log.warning("could not make the worker non-dumpable: %s", exc)


_AS_USER = """#!/bin/sh
# Written by providers/chromium.py: Playwright runs this as root; Chromium runs as an unprivileged user.
set -eu
for arg in "$@"; do
  case "$arg" in --user-data-dir=*) chown -R {uid}:{gid} "${{arg#--user-data-dir=}}"; export HOME="${{arg#--user-data-dir=}}";; esac
done
exec setpriv --reuid={uid} --regid={gid} --clear-groups --inh-caps=-all -- {executable} "$@"
"""


_LAUNCHERS: dict[tuple[str, str], str] = {}


def _as_user(executable_path: str, user: str) -> str:
    """A launcher that gives Playwright's profile directory to `user` and runs Chromium as that user."""
    if (executable_path, user) in _LAUNCHERS:
        return _LAUNCHERS[(executable_path, user)]
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise TransientProviderError(PROVIDER, f"the worker runs as root and user {user!r} does not exist") from None
    if entry.pw_uid == 0:
        raise TransientProviderError(PROVIDER, f"user {user!r} is root: Chromium must not run as root")
    directory = tempfile.mkdtemp(prefix="leadstream-chromium-")
    launcher = os.path.join(directory, "chromium-as-user")
    with open(launcher, "w") as out:
        out.write(_AS_USER.format(uid=entry.pw_uid, gid=entry.pw_gid, executable=shlex.quote(executable_path)))
    os.chmod(launcher, stat.S_IRWXU)
    _LAUNCHERS[(executable_path, user)] = launcher
    return launcher


def launch_options(executable_path: str, args: Sequence[str], policy: LaunchPolicy) -> dict[str, Any]:
    """Playwright's `chromium.launch` arguments for `policy`; see the module docstring."""
    options: dict[str, Any] = {
        "executable_path": executable_path,
        "args": [arg for arg in args if arg != "--no-sandbox"],
        "headless": True,
        "chromium_sandbox": policy.sandbox,  # False makes Playwright add --no-sandbox
        "env": browser_environment(),
    }
    if os.geteuid() == 0:
        options["executable_path"] = _as_user(executable_path, policy.user)
    if not policy.sandbox:
        log.warning("chromium runs without its sandbox (LEADSTREAM_CHROMIUM_SANDBOX=false): see docs/operating.md")
        _make_undumpable()
    return options


class ChromiumHost:
    """One Playwright driver and one Chromium, relaunched when the browser is gone."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self.users = 0
        self.launches = 0
        self.policy = LaunchPolicy()

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
                with _credentials_out_of_environment():
                    self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(**launch_options(executable_path, args, self.policy))
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
metrics.BROWSERS.set_function(lambda: 1 if HOST.running is not None else 0)


def configure_launch(policy: LaunchPolicy) -> None:
    """How this process's Chromium is launched from now on (the stage builders pass the settings)."""
    HOST.policy = policy


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
