"""Business websites that only a browser sees properly: client-rendered, heavy, shifting, fast, hostile.

These profiles exist for the page renderer (`providers.browser`) and its lab
Core Web Vitals. Each one has a known lab outcome when rendered unthrottled:

* ``spa_react``: a JS shell (``<div id="root">``, a ``<noscript>``); a script
  the simulator serves builds the page — heading, contact link, the site's
  emails — and sets ``React.version`` and ``jQuery.fn.jquery``. A plain HTTP
  fetch sees none of it: the fragments ship base64-encoded inside the script.
* ``heavy_js``: four 300 ms busy loops after first contentful paint (TBT
  ≈ 1000 ms) and a ~0.9 MB hero image answered after 3.2 s (LCP > 3 s); the
  image has a fixed 640 px width, so the page overflows a phone's viewport
  although it has a viewport meta.
* ``layout_shift``: a 400 px banner inserted above the content after load
  (CLS ≈ 0.47 on a 390×844 viewport).
* ``fast_modern``: tiny, a viewport meta, no scripts (LCP ≈ FCP, CLS 0, TBT 0).
* ``ssrf_assets``: subresources aimed at cloud metadata, loopback and private
  addresses, directly and through a same-site redirect.
* ``endless_stream``: the home page never finishes (a paragraph every 0.2 s).

Everything is derived from the `SiteSpec` (seed and domain); `websites.py`
owns the profile draw, robots.txt, faults and the emails' HTML.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import random
import struct
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from simulator.websites import SiteSpec

# Appended after the classic profiles: small weights, drawn separately so classic domains keep theirs.
JS_PROFILES: dict[str, int] = {
    "spa_react": 3,
    "heavy_js": 2,
    "layout_shift": 2,
    "fast_modern": 3,
    "ssrf_assets": 1,
    "endless_stream": 1,
}
HERO_DELAY_S = 3.2
HERO_SIZE = (640, 480)
BURN_MS, BURNS = 300, 4
BANNER_PX = 400
INTERNAL_TARGETS = (
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://127.0.0.1:6379/",
    "http://10.0.0.7/internal.css",
    "http://localhost:8080/admin",
)
REDIRECTED_TARGET = "http://169.254.169.254/latest/user-data"
ENDLESS_LIMIT_S = 120.0


def _title(spec: SiteSpec) -> str:
    return spec.domain.split(".")[0].replace("-", " ").title()


def _asset_tag(spec: SiteSpec) -> str:
    return f"{spec.rng_seed:08x}"[:8]


def spa_script_path(spec: SiteSpec) -> str:
    return f"/static/js/main.{_asset_tag(spec)}.js"


def _content(spec: SiteSpec, path: str, emails: Mapping[str, str]) -> str:
    """Navigation, heading, copy and the emails of `path`: what every profile shows in its body."""
    nav = f'<a href="{spec.contact_path}">Contact</a>' if spec.contact_path else ""
    heading = "Contact us" if path != "/" else f"Welcome to {_title(spec)}"
    return (
        f"<nav><a href='/'>Home</a> {nav}</nav><h1>{heading}</h1>"
        f"<p>Family owned, serving the valley since 1998. Licensed, insured, on time.</p>{emails.get(path, '')}"
    )


def render_page(spec: SiteSpec, path: str, emails: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """(headers, HTML) of a home or contact page; `emails` maps a page path to its emails' HTML."""
    title = _title(spec)
    head = f'<meta charset="utf-8"><title>{title}</title>'
    viewport = '<meta name="viewport" content="width=device-width, initial-scale=1">'
    body = _content(spec, path, emails)
    if spec.profile == "spa_react":
        return {"Server": "nginx/1.25.3"}, (
            f'<!DOCTYPE html><html lang="en"><head>{head}{viewport}<script defer src="{spa_script_path(spec)}"></script>'
            '</head><body><noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>'
            "</body></html>"
        )
    if spec.profile == "heavy_js":
        width, height = HERO_SIZE
        head += viewport + "<style>body{font-family:Georgia,serif;margin:0 12px}</style>" + _burn_script()
        body += f'<img src="/static/img/hero.png" width="{width}" height="{height}" alt="Our team at work">'
        return {"Server": "Apache/2.4.41 (Ubuntu)", "X-Powered-By": "PHP/7.4.3"}, _document(head, body)
    if spec.profile == "layout_shift":
        head += viewport + (
            f"<style>body{{margin:0;font-family:sans-serif}}.promo{{height:{BANNER_PX}px;background:#ffd54f}}"
            ".hero{min-height:900px;padding:16px;background:#e3f2fd}</style>"
        )
        body = f'<div class="hero">{body}</div>' + _banner_script()
        return {"Server": "nginx"}, _document(head, body)
    if spec.profile == "ssrf_assets":
        metadata, loopback, private, localhost = INTERNAL_TARGETS
        head += viewport + f'<link rel="stylesheet" href="{private}"><script src="{loopback}"></script>'
        body += (
            f'<img src="{metadata}" alt=""><img src="/assets/pixel.gif" alt="">'
            f'<iframe src="{localhost}" title="status" width="1" height="1"></iframe>'
        )
        return {"Server": "nginx"}, _document(head, body)
    # fast_modern (and endless_stream's look, should anything render it without streaming)
    head += (
        viewport + "<style>body{margin:0 auto;max-width:40rem;padding:1rem;font:16px/1.5 system-ui,sans-serif}</style>"
    )
    return {"Server": "cloudflare", "CF-RAY": f"8{spec.rng_seed % 10**9:09d}-SJC"}, _document(head, body)


def _document(head: str, body: str) -> str:
    return f'<!DOCTYPE html><html lang="en"><head>{head}</head><body>{body}</body></html>'


def _burn_script() -> str:
    """Long tasks that start once the page has painted, so they count toward TBT."""
    return (
        "<script>window.jQuery = window.$ = {fn: {jquery: '1.11.3'}};"
        "(function () {"
        f"  var left = {BURNS};"
        f"  function burn() {{ var end = performance.now() + {BURN_MS}; while (performance.now() < end) {{}}"
        "    if (--left > 0) setTimeout(burn, 30); }"
        "  new PerformanceObserver(function (list, observer) {"
        "    if (list.getEntriesByName('first-contentful-paint').length) { observer.disconnect(); setTimeout(burn, 0); }"
        "  }).observe({type: 'paint', buffered: true});"
        "})();</script>"
    )


def _banner_script() -> str:
    """A promo banner pushed in above the fold shortly after load: the classic layout shift."""
    return (
        "<script>window.addEventListener('load', function () { setTimeout(function () {"
        "  var banner = document.createElement('div'); banner.className = 'promo';"
        "  banner.textContent = 'Spring special: 20% off every repair booked this week!';"
        "  document.body.insertBefore(banner, document.body.firstChild);"
        "}, 150); });</script>"
    )


def spa_script(spec: SiteSpec, emails: Mapping[str, str]) -> str:
    """The SPA bundle: sets the framework globals and renders the page for `location.pathname`."""
    pages = ["/"] + ([spec.contact_path] if spec.contact_path else [])
    fragments = {page: base64.b64encode(_content(spec, page, emails).encode()).decode() for page in pages}
    return (
        "(function () {"
        "  window.React = {version: '18.2.0'};"
        "  window.jQuery = window.$ = {fn: {jquery: '3.6.0'}};"
        f"  var pages = {json.dumps(fragments)};"
        "  var path = location.pathname.replace(/\\/+$/, '') || '/';"
        "  var root = document.getElementById('root');"
        "  root.innerHTML = atob(pages[path] || pages['/']);"
        "})();"
    )


@functools.lru_cache(maxsize=8)
def noise_png(seed: int, width: int, height: int) -> bytes:
    """A truecolor PNG of random pixels: incompressible (heavy) and high-entropy (an LCP candidate)."""
    rng = random.Random(seed)
    raw = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")


async def answer(request: web.Request, spec: SiteSpec, emails: Mapping[str, str]) -> web.StreamResponse | None:
    """The profile's own answer (assets, the endless page), or None to serve the page normally."""
    path = request.path
    if spec.profile == "spa_react" and path == spa_script_path(spec):
        return web.Response(text=spa_script(spec, emails), content_type="application/javascript")
    if spec.profile == "heavy_js" and path == "/static/img/hero.png":
        await asyncio.sleep(HERO_DELAY_S)
        return web.Response(body=noise_png(spec.rng_seed, *HERO_SIZE), content_type="image/png")
    if spec.profile == "ssrf_assets" and path == "/assets/pixel.gif":
        raise web.HTTPFound(REDIRECTED_TARGET)
    if spec.profile == "endless_stream" and path in ("/", "/index.html"):
        return await _endless(request, spec)
    return None


async def _endless(request: web.Request, spec: SiteSpec) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8", "Server": "Apache"})
    await response.prepare(request)
    try:
        await response.write(f"<!DOCTYPE html><html><head><title>{_title(spec)}</title></head><body>".encode())
        for n in range(int(ENDLESS_LIMIT_S / 0.2)):
            if request.transport is None or request.transport.is_closing():
                break
            await response.write(f"<p>Live update #{n}: still loading our specials…</p>\n".encode())
            await asyncio.sleep(0.2)
    except (ConnectionResetError, ConnectionError):
        pass
    return response
