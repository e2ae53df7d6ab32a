"""Business websites, served when the simulator is used as an HTTP proxy.

Every site is derived from ``(seed, domain)`` alone, so any domain exists and
looks the same on every run. `site_profile` names the kind of site and
`site_spec` exposes everything a test needs to know about it (emails and how
they are written, whether it has a contact page). Profiles carry real-world
tech signatures (headers, generator metas, script paths); misbehaving ones are
slow, fail, reset, hang, redirect badly, are huge, malformed or binary, or
restrict crawling in robots.txt. A leading ``www.`` is the same site.

Profiles that only a browser sees properly (client-rendered, heavy, shifting
layouts, hostile subresources) live in `simulator.websites_js`; they are
drawn separately after the classic draw, so adding them left every other
domain's profile as it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import dataclass, field

from aiohttp import web

from simulator import websites_js
from simulator.core import Simulator, first_domain
from simulator.websites_js import JS_PROFILES

# Well-behaved profiles, then misbehaving ones (which reuse a well-behaved look), with weights.
CLASSIC_PROFILES: dict[str, int] = {
    "wordpress_legacy": 14,
    "wordpress_modern": 10,
    "wix": 8,
    "squarespace": 6,
    "shopify": 4,
    "godaddy": 5,
    "static_bootstrap": 9,
    "nextjs": 7,
    "joomla": 2,
    "weebly": 2,
    "slow": 3,
    "error500": 3,
    "reset": 2,
    "hang": 1,
    "malformed": 3,
    "huge": 1,
    "redirect_chain": 3,
    "redirect_loop": 1,
    "redirect_private": 1,
    "robots_disallow_all": 3,
    "robots_partial": 3,
    "binary": 1,
    "deep_nest": 1,
}
PROFILES: dict[str, int] = {**CLASSIC_PROFILES, **JS_PROFILES}
MISBEHAVING_LOOK = {
    "slow": "wordpress_legacy",
    "redirect_chain": "wordpress_modern",
    "robots_partial": "wordpress_legacy",
}
FIRST_NAMES = ("mike", "sarah", "dave", "jennifer", "tom", "linda", "carlos", "maria", "kevin", "amy", "raj", "emily")
ROLE_LOCALS = ("info", "office", "contact", "service", "hello", "sales", "team", "support")
EMAIL_FORMS = ("mailto", "text", "bracket", "paren", "entity", "cfemail")


@dataclass
class Email:
    address: str
    kind: str  # role | personal
    form: str  # one of EMAIL_FORMS
    page: str  # "/" or the contact path


@dataclass
class SiteSpec:
    domain: str
    profile: str
    look: str
    contact_path: str | None
    emails: list[Email] = field(default_factory=list)
    rng_seed: int = 0


def _rng(seed: int, *parts: object) -> random.Random:
    basis = "|".join([str(seed), *map(str, parts)])
    return random.Random(int.from_bytes(hashlib.blake2b(basis.encode(), digest_size=8).digest(), "big"))


def normalize_domain(domain: str) -> str:
    host = domain.lower().split(":")[0].rstrip(".")
    return host[4:] if host.startswith("www.") else host


def site_profile(seed: int, domain: str) -> str:
    """The profile of `domain` under `seed` (weighted draw from `PROFILES`).

    Two independent draws, so the classic profiles' draw is the one it always
    was: first the classic profile, then whether the domain is one of
    `JS_PROFILES` instead (with their share of the total weight). Overall each
    profile still comes up with probability weight / total weight.
    """
    domain = normalize_domain(domain)
    classic = _rng(seed, "profile", domain).choices(list(CLASSIC_PROFILES), weights=list(CLASSIC_PROFILES.values()))[0]
    added = _rng(seed, "profile-js", domain)
    if added.random() < sum(JS_PROFILES.values()) / sum(PROFILES.values()):
        return added.choices(list(JS_PROFILES), weights=list(JS_PROFILES.values()))[0]
    return classic


def domain_for_profile(seed: int, profile: str, prefix: str = "testsite") -> str:
    """The first ``{prefix}{n}.com`` whose profile is `profile` (for tests and generators)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    return first_domain(prefix, lambda domain: site_profile(seed, domain) == profile, profile)


def site_spec(seed: int, domain: str) -> SiteSpec:
    domain = normalize_domain(domain)
    profile = site_profile(seed, domain)
    rng = _rng(seed, "site", domain)
    look = MISBEHAVING_LOOK.get(profile) or (
        profile
        if profile in _LOOKS or profile in JS_PROFILES
        else rng.choice(("wordpress_legacy", "static_bootstrap", "wordpress_modern"))
    )
    contact_path = (
        rng.choice(("/contact", "/contact", "/contact-us", None)) if profile != "robots_partial" else "/contact"
    )
    spec = SiteSpec(domain, profile, look, contact_path, rng_seed=rng.randrange(1 << 30))
    forms = [f for f in EMAIL_FORMS if f != "cfemail" or look in ("shopify", "wordpress_modern")]
    pages = ["/"] + ([contact_path] if contact_path else [])
    if rng.random() < 0.85:
        spec.emails.append(Email(f"{rng.choice(ROLE_LOCALS)}@{domain}", "role", rng.choice(forms), pages[-1]))
    if rng.random() < 0.6:
        spec.emails.append(
            Email(f"{rng.choice(FIRST_NAMES)}@{domain}", "personal", rng.choice(forms), rng.choice(pages))
        )
    return spec


def _write_email(email: Email) -> str:
    addr = email.address
    local, _, host = addr.partition("@")
    if email.form == "mailto":
        return f'<a href="mailto:{addr}?subject=Quote">Email us</a>'
    if email.form == "bracket":
        return f"<p>Email: {local} [at] {host.replace('.', ' [dot] ')}</p>"
    if email.form == "paren":
        return f"<p>Write to {local}(at){host}</p>"
    if email.form == "entity":
        return "<p>" + "".join(f"&#{ord(c)};" for c in addr) + "</p>"
    if email.form == "cfemail":
        key = 0x5A
        encoded = f"{key:02x}" + "".join(f"{ord(c) ^ key:02x}" for c in addr)
        return f'<a href="/cdn-cgi/l/email-protection" class="__cf_email__" data-cfemail="{encoded}">[email&#160;protected]</a>'
    return f"<p>Questions? {addr}</p>"


def _look(look: str, rng: random.Random, domain: str) -> tuple[dict[str, str], str, str]:
    """(headers, head html, body-end html) carrying the look's tech signatures."""
    if look == "wordpress_legacy":
        jq = rng.choice(
            ("/wp-includes/js/jquery/jquery.js?ver=1.12.4", "/wp-content/themes/astra/js/jquery-2.2.4.min.js")
        )
        wp = f"5.{rng.randint(2, 9)}.{rng.randint(1, 12)}"
        php = rng.choice(("5.6.40", "7.2.34", "7.4.33"))
        head = (
            f'<meta name="generator" content="WordPress {wp}" />'
            f"<link rel='stylesheet' href='/wp-content/themes/astra/style.css?ver={wp}' />"
            f"<script src='{jq}'></script><link rel='stylesheet' href='https://maxcdn.bootstrapcdn.com/font-awesome/4.7.0/css/font-awesome.min.css'>"
            "<script>ga('create', 'UA-4471123-1', 'auto');</script><script async src='https://www.google-analytics.com/analytics.js'></script>"
        )
        if rng.random() < 0.5:
            head += '<meta name="viewport" content="width=device-width, initial-scale=1">'
        return (
            {"Server": "Apache/2.4.29 (Ubuntu)", "X-Powered-By": f"PHP/{php}"},
            head,
            "<style>" + ".x{color:#123}" * 6000 + "</style>",
        )
    if look == "wordpress_modern":
        head = (
            f'<meta name="viewport" content="width=device-width, initial-scale=1" /><meta name="generator" content="WordPress 6.{rng.randint(4, 6)}.1" />'
            '<meta name="generator" content="Elementor 3.18.2; features: e_dom_optimization; settings: css_print_method-external">'
            "<!-- This site is optimized with the Yoast SEO plugin v21.5 - https://yoast.com/wordpress/plugins/seo/ -->"
            "<script src='/wp-includes/js/jquery/jquery.min.js?ver=3.7.1'></script>"
            "<link rel='stylesheet' href='/wp-content/plugins/elementor/assets/css/frontend.min.css?ver=3.18.2'>"
            "<script async src='https://www.googletagmanager.com/gtm.js?id=GTM-K7QX2P'></script>"
            "<link href='https://fonts.googleapis.com/css2?family=Inter&display=swap' rel='stylesheet'>"
        )
        return (
            {"Server": "cloudflare", "CF-RAY": "84a1b2c3d4e5f607-SEA", "X-Powered-By": "PHP/8.2.13"},
            head,
            "<script src='https://www.google.com/recaptcha/api.js?render=6Lc_x'></script>",
        )
    if look == "wix":
        head = (
            '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="generator" content="Wix.com Website Builder">'
            '<script src="https://static.parastorage.com/unpkg/react@16.14.0/umd/react.production.min.js"></script>'
            '<script>Sentry.init({dsn:"https://0f3c2b1a9e@sentry-next.wixpress.com/12"})</script>'
        )
        return {"Server": "Pepyaka", "X-Wix-Request-Id": f"1700000000.{rng.randrange(10**9)}"}, head, ""
    if look == "squarespace":
        head = (
            '<meta name="viewport" content="width=device-width, initial-scale=1"><!-- This is Squarespace. -->'
            '<script src="https://static1.squarespace.com/static/vta/5c5a519771c10ba3470d8101/scripts/site-bundle.js"></script>'
            "<script>Static.SQUARESPACE_CONTEXT = {};</script>"
        )
        return {"Server": "Squarespace", "Set-Cookie": "crumb=BZu7; Path=/"}, head, ""
    if look == "shopify":
        head = (
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<script src="//cdn.shopify.com/s/files/1/0262/theme.js?v=1"></script>'
            '<script>Shopify.theme = {"name":"Dawn","id":1};</script>'
            '<script src="https://js.stripe.com/v3/"></script><script>fbq("init", "1234567890");</script>'
            '<script src="https://connect.facebook.net/en_US/fbevents.js"></script>'
        )
        return (
            {
                "Server": "cloudflare",
                "CF-RAY": "84a1b2c3d4e5f608-LAX",
                "X-ShopId": str(rng.randrange(10**8)),
                "Set-Cookie": "_shopify_y=abc; Path=/",
            },
            head,
            "",
        )
    if look == "godaddy":
        head = (
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="generator" content="Starfield Technologies; Go Daddy Website Builder 8.0.0000">'
            '<script src="https://img1.wsimg.com/blobby/go/gpub/cc2d4b1a/script.js"></script>'
        )
        return {"Server": "DPS/2.0.0+sha-4b2a8a1"}, head, ""
    if look == "nextjs":
        head = (
            '<meta name="viewport" content="width=device-width"/><link rel="preload" href="/_next/static/css/app.css" as="style"/>'
            '<script src="/_next/static/chunks/webpack-1a2b.js" defer=""></script>'
            "<script async src='https://www.googletagmanager.com/gtm.js?id=GTM-N3XTJS'></script>"
        )
        tail = '<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{}},"page":"/","buildId":"b1"}</script>'
        return {"Server": "nginx/1.25.3", "X-Powered-By": "Next.js"}, head, tail
    if look == "joomla":
        head = (
            '<meta name="generator" content="Joomla! - Open Source Content Management" />'
            '<script src="/media/jui/js/jquery.min.js?v=1.12.4"></script>'
        )
        return {"Server": "Apache", "X-Powered-By": "PHP/7.3.33"}, head, ""
    if look == "weebly":
        head = '<script src="//cdn2.editmysite.com/js/site/main.js?buildTime=1234"></script><script>_W.configDomain = "www.weebly.com";</script>'
        return {"Server": "nginx"}, head, ""
    # static_bootstrap
    server = rng.choice(
        ({"Server": "Microsoft-IIS/8.5", "X-Powered-By": "ASP.NET"}, {"Server": "Apache/2.2.15 (CentOS)"})
    )
    head = (
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/3.3.7/css/bootstrap.min.css">'
        '<script src="js/vendor/modernizr-2.8.3.min.js"></script><script src="js/jquery-1.11.3.min.js"></script>'
        '<script src="https://maxcdn.bootstrapcdn.com/bootstrap/3.3.7/js/bootstrap.min.js"></script>'
    )
    return server, head, ""


_LOOKS = {
    "wordpress_legacy",
    "wordpress_modern",
    "wix",
    "squarespace",
    "shopify",
    "godaddy",
    "static_bootstrap",
    "nextjs",
    "joomla",
    "weebly",
}
HOME_PATHS = ("/", "/home", "/index.html", "/index.php", "/default.aspx")  # and chains' /locations/<city>
NOISE = (
    '<img src="/images/logo@2x.png" alt="logo"><input type="email" placeholder="you@example.com">'
    "<p>&copy; 2024. All rights reserved.</p>"
)


def _emails_by_page(spec: SiteSpec) -> dict[str, str]:
    pages = {e.page for e in spec.emails}
    return {page: "".join(_write_email(e) for e in spec.emails if e.page == page) for page in pages}


def render_page(spec: SiteSpec, path: str) -> tuple[dict[str, str], str]:
    if spec.profile in JS_PROFILES:
        return websites_js.render_page(spec, path, _emails_by_page(spec))
    rng = random.Random(spec.rng_seed)
    headers, head, tail = _look(spec.look, rng, spec.domain)
    title = spec.domain.split(".")[0].replace("-", " ").title()
    emails = "".join(_write_email(e) for e in spec.emails if e.page == path)
    nav = f'<a href="{spec.contact_path}">Contact</a>' if spec.contact_path else ""
    heading = "Contact us" if path != "/" else f"Welcome to {title}"
    body = f"<nav><a href='/'>Home</a> {nav}</nav><h1>{heading}</h1><p>Family owned, serving the valley.</p>{emails}{NOISE}"
    return headers, f"<!DOCTYPE html><html><head><title>{title}</title>{head}</head><body>{body}{tail}</body></html>"


def _robots(spec: SiteSpec) -> str:
    if spec.profile == "robots_disallow_all":
        return "User-agent: *\nDisallow: /\n"
    if spec.profile == "robots_partial":
        return f"User-agent: *\nDisallow: /wp-admin/\nDisallow: {spec.contact_path}\n"
    return "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n"


async def _until_client_leaves(request: web.Request, limit_s: float = 60.0) -> None:
    for _ in range(int(limit_s * 10)):
        if request.transport is None or request.transport.is_closing():
            return
        await asyncio.sleep(0.1)


async def _misbehave(request: web.Request, spec: SiteSpec, host: str) -> web.StreamResponse | None:
    """The misbehaving profile's answer to a page request, or None to serve the page normally."""
    profile, path = spec.profile, request.path
    rng = random.Random(spec.rng_seed)
    if profile == "slow":
        await asyncio.sleep(rng.uniform(2.0, 4.0))
    elif profile == "error500":
        return web.Response(status=500, text="<h1>Internal Server Error</h1>", content_type="text/html")
    elif profile == "reset":
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)
    elif profile == "hang":
        await _until_client_leaves(request)
        return web.Response(status=504)
    elif profile == "redirect_chain":
        if not host.startswith("www."):
            raise web.HTTPMovedPermanently(f"http://www.{spec.domain}{path}")
        if path == "/":
            raise web.HTTPFound("/home")
        if path == "/home":
            raise web.HTTPMovedPermanently("/home/")
    elif profile == "redirect_loop":
        step = int(path.strip("/").removeprefix("loop") or 0) if path.startswith("/loop") else 0
        raise web.HTTPFound(f"/loop{(step + 1) % 7}")
    elif profile == "redirect_private" and path == "/":
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
    elif profile == "binary":
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + rng.randbytes(40_000), content_type="image/png")
    elif profile in ("huge", "deep_nest", "malformed") and path == "/":
        return await _hostile_page(request, spec)
    return None


async def _hostile_page(request: web.Request, spec: SiteSpec) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8", "Server": "Apache"})
    await response.prepare(request)
    emails = "".join(_write_email(e) for e in spec.emails)
    try:
        if spec.profile == "huge":
            await response.write(b"<html><head><script src='/js/jquery-1.8.3.min.js'></script></head><body>")
            filler = b"<p>" + b"Lorem ipsum dolor sit amet, quality service since 1987. " * 20 + b"</p>\n"
            for _ in range(6_000_000 // (len(filler) * 64)):
                await response.write(filler * 64)
        elif spec.profile == "deep_nest":
            await response.write(
                b"<html><body>" + b"<div><span>" * 20_000 + emails.encode() + b"</span></div>" * 20_000
            )
        else:
            await response.write(
                b"<html><head><title>Broken<<<</title><script src=/js/jquery-1.8.3.min.js></script><meta name=generator"
                b" content='WordPress 4.9.8'><body><div class=x><p>unclosed <b><i>"
                + b"\xff\xfe\x00garbage" * 10
                + emails.encode()
                + b"<table><tr><td>cell<tr><td></div></table><!-- never closed comment"
            )
        await response.write_eof()
    except (ConnectionResetError, ConnectionError):
        pass
    return response


async def serve(request: web.Request, sim: Simulator, domain: str) -> web.StreamResponse:
    """Answer one request for `domain` (everything is derived from the seed and the domain)."""
    host = domain.lower()
    spec = site_spec(sim.config.seed, host)
    sim.record("web", domain=spec.domain, path=request.path, user_agent=request.headers.get("User-Agent"))
    with sim.track("web:" + spec.domain):
        fault = await sim.fault("web", spec.domain)
        if fault is not None:
            return fault
        if request.path == "/robots.txt":
            return web.Response(text=_robots(spec), content_type="text/plain")
        if spec.profile in JS_PROFILES:
            answer = await websites_js.answer(request, spec, _emails_by_page(spec))
            if answer is not None:
                return answer
        answer = await _misbehave(request, spec, host)
        if answer is not None:
            return answer
        path = request.path.rstrip("/") or "/"
        home = path in HOME_PATHS or path.startswith("/locations/")
        if home or (spec.contact_path and path == spec.contact_path):
            headers, html = render_page(spec, "/" if home else path)
            await asyncio.sleep(
                random.Random(spec.rng_seed).uniform(0.1, 0.3) if spec.look == "wordpress_legacy" else 0
            )
            return web.Response(text=html, content_type="text/html", charset="utf-8", headers=headers)
        return web.Response(status=404, text="<h1>Not Found</h1>", content_type="text/html")
