"""Email addresses found on a business website.

Finds mailto links, plain-text addresses, HTML-entity encoded ones, Cloudflare
"email protection" (``data-cfemail``) and the usual obfuscations
(``info [at] example [dot] com``, ``name(at)example.com``). Every candidate is
lower-cased, syntax-checked, required to end in a real public suffix
(tldextract's bundled list, no network) and classified as a role address
(``info@``, ``office@``...) or a personal one. Image names (``logo@2x.png``),
placeholders (``you@example.com``) and tracker/vendor addresses (Sentry,
Wix) are dropped.
"""

from __future__ import annotations

import html as html_lib
import re
import urllib.parse
from dataclasses import dataclass

import tldextract

from schemas.lead import Contact
from stages.enrich.markup import TAG, without_elements

ROLE_LOCALS = frozenset(
    {
        "info",
        "office",
        "contact",
        "contactus",
        "sales",
        "support",
        "admin",
        "administrator",
        "hello",
        "service",
        "services",
        "team",
        "billing",
        "accounts",
        "accounting",
        "help",
        "mail",
        "enquiries",
        "enquiry",
        "inquiries",
        "inquiry",
        "booking",
        "bookings",
        "appointments",
        "reception",
        "frontdesk",
        "hr",
        "jobs",
        "careers",
        "marketing",
        "orders",
        "estimates",
        "quotes",
        "scheduling",
        "dispatch",
        "customerservice",
        "customercare",
        "webmaster",
        "general",
        "main",
        "shop",
        "store",
        "care",
        "feedback",
        "media",
        "press",
        "events",
        "hiring",
    }
)
UNCONTACTABLE_LOCALS = frozenset(
    {"noreply", "no-reply", "donotreply", "do-not-reply", "postmaster", "abuse", "mailer-daemon"}
)
PLACEHOLDER_DOMAINS = frozenset(
    {
        "example.com",
        "example.org",
        "example.net",
        "domain.com",
        "yourdomain.com",
        "yoursite.com",
        "yourcompany.com",
        "email.com",
        "company.com",
        "website.com",
        "test.com",
        "sentry.io",
        "wixpress.com",
        "sentry-next.wixpress.com",
        "sentry.wixpress.com",
        "mysite.com",
        "address.com",
        "godaddy.com",
        "squarespace.com",
    }
)
PLACEHOLDER_LOCALS = frozenset(
    {"you", "your", "yourname", "your.name", "name", "email", "user", "username", "firstname", "john.doe", "jane.doe"}
)
FILE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".ico", ".css", ".js", ".avif", ".tif")

_LOCAL = r"[a-z0-9](?:[a-z0-9._%+-]{0,62}[a-z0-9_%+-])?"
_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
EMAIL_RE = re.compile(rf"(?<![a-z0-9._%+-])({_LOCAL})@({_DOMAIN})(?![a-z0-9-])", re.I)
_VALID = re.compile(rf"^{_LOCAL}@{_DOMAIN}$", re.I)
_MAILTO = re.compile(r"href\s*=\s*(?:[\"']\s*)?mailto:([^\"'>\s?]+)", re.I)  # never two \s* side by side
_CFEMAIL = re.compile(r"data-cfemail\s*=\s*[\"']?([0-9a-f]{4,})|/cdn-cgi/l/email-protection#([0-9a-f]{4,})", re.I)
# Each alternative starts differently (a bracket after optional spaces, or spaces then the word), so a run
# of spaces is never split between two `\s*`/`\s+` in all possible ways (that was quadratic per match).
_AT = r"(?:\s*(?:\[\s*at\s*\]|\(\s*at\s*\)|\{\s*at\s*\}|<\s*at\s*>)\s*|\s+at\s+(?=[a-z0-9-]+\s*(?:\[|\(|\{|\s)dot))"
_DOT = r"(?:\s*(?:\[\s*dot\s*\]|\(\s*dot\s*\)|\{\s*dot\s*\})\s*|\s+dot\s+|\s*\.\s*)"
_OBFUSCATED = re.compile(
    rf"(?<![a-z0-9._-])([a-z0-9][a-z0-9._+-]{{0,63}}){_AT}((?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?{_DOT}){{1,4}}[a-z]{{2,24}})\b",
    re.I,
)
# A page can hold a match of `_MAILTO` or `_CFEMAIL` only if its lower-cased text holds one of these: those
# case-insensitive scans try a match at every character (0.2-0.6 ms on a 17 KB page), a substring test does
# not. Under re.IGNORECASE "i" also matches U+0130 and U+0131, which lower() does not turn into "i": a page
# holding either is always scanned (`_may_hold`).
_MAILTO_TOKENS = ("mailto:",)
_CFEMAIL_TOKENS = ("data-cfemail", "/cdn-cgi/l/email-protection#")
_DOTTED_I = ("\u0130", "\u0131")
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
MAX_SCAN_CHARS = 600_000


@dataclass(frozen=True)
class FoundEmail:
    email: str
    kind: str  # role | personal
    method: str  # mailto | text | obfuscated | cfemail


def decode_cfemail(hex_text: str) -> str | None:
    """Decode Cloudflare's email protection: first byte is the XOR key for the rest."""
    try:
        data = bytes.fromhex(hex_text)
    except ValueError:
        return None
    if len(data) < 2:
        return None
    return "".join(chr(b ^ data[0]) for b in data[1:])


def normalize_email(candidate: str) -> str | None:
    """The lower-cased address when it is a plausible, contactable, real one; else None."""
    email = urllib.parse.unquote(candidate).strip().strip(".,;:").lower()
    if not _VALID.match(email) or ".." in email or len(email) > 254:
        return None
    local, _, domain = email.rpartition("@")
    if domain.endswith(FILE_SUFFIXES) or re.search(r"@\d+x\.", email):
        return None
    if domain in PLACEHOLDER_DOMAINS or any(domain.endswith("." + d) for d in PLACEHOLDER_DOMAINS):
        return None
    if local in PLACEHOLDER_LOCALS or local in UNCONTACTABLE_LOCALS:
        return None
    parts = _EXTRACT(domain)
    if not parts.suffix or not parts.domain:
        return None
    return email


def classify(email: str) -> str:
    """``role`` for shared mailboxes (info@, office@...), else ``personal``."""
    local = email.split("@", 1)[0]
    base = re.split(r"[.+_-]", local)[0]
    return "role" if local in ROLE_LOCALS or base in ROLE_LOCALS else "personal"


def visible_text(html: str) -> str:
    """The page text with scripts, styles and tags removed and entities decoded (linear time)."""
    return html_lib.unescape(TAG.sub(" ", without_elements(html, ("script", "style"))))


_AT_SIGN = re.compile("@")
_AT_WORD = re.compile(r"\bat\b", re.I)
_BEFORE, _AFTER = 80, 320  # room for a 64-char local part and a long domain around the anchor


def _find_near(pattern: re.Pattern, text: str, anchors) -> list:
    """`pattern.findall`, but only in windows around `anchors` (every match contains one).

    Scanning a whole page with an email regex tries a match at every word
    character; most pages have a handful of "@" or "at" tokens. Windows are
    merged so no match is cut or found twice; `finditer(pos, endpos)` keeps
    lookbehind context at a window's start.
    """
    found: list = []
    window_start = window_end = -1
    for anchor in anchors:
        start, end = max(0, anchor - _BEFORE), min(len(text), anchor + _AFTER)
        if start <= window_end:
            window_end = max(window_end, end)
            continue
        if window_end >= 0:
            found.extend(m.groups() for m in pattern.finditer(text, window_start, window_end))
        window_start, window_end = start, end
    if window_end >= 0:
        found.extend(m.groups() for m in pattern.finditer(text, window_start, window_end))
    return found


def _may_hold(html: str, lowered: str, tokens: tuple[str, ...]) -> bool:
    """False only when no case-insensitive match of any of `tokens` can be in `html` (`lowered` is its lower())."""
    return any(token in lowered for token in tokens) or any(c in html for c in _DOTTED_I)


def find_emails(html: str) -> list[FoundEmail]:
    """Every distinct contactable address on the page, in order of first appearance."""
    html = html[:MAX_SCAN_CHARS]
    candidates: list[tuple[str, str]] = []
    lowered = html.lower()
    if _may_hold(html, lowered, _MAILTO_TOKENS):
        for raw in _MAILTO.findall(html):
            candidates.append((html_lib.unescape(raw), "mailto"))
    if _may_hold(html, lowered, _CFEMAIL_TOKENS):
        for hex_a, hex_b in _CFEMAIL.findall(html):
            if decoded := decode_cfemail(hex_a or hex_b):
                candidates.append((decoded, "cfemail"))
    text = visible_text(html)
    for local, domain in _find_near(EMAIL_RE, text, (m.start() for m in _AT_SIGN.finditer(text))):
        candidates.append((f"{local}@{domain}", "text"))
    for local, domain in _find_near(_OBFUSCATED, text, (m.start() for m in _AT_WORD.finditer(text))):
        domain = re.sub(_DOT, ".", domain, flags=re.I)
        candidates.append((f"{local}@{domain}", "obfuscated"))
    seen: dict[str, FoundEmail] = {}
    for raw, method in candidates:
        email = normalize_email(raw)
        if email and email not in seen:
            seen[email] = FoundEmail(email, classify(email), method)
    return list(seen.values())


def extract_contacts(html: str, page: str = "/") -> list[Contact]:
    """`schemas.Contact` records for a page; ``source`` says how and where each was found."""
    return [Contact(email=f.email, kind=f.kind, source=f"{f.method}:{page}") for f in find_emails(html)]


def merge_contacts(*groups: list[Contact]) -> list[Contact]:
    """Contacts from several pages, first occurrence of each address wins."""
    merged: dict[str, Contact] = {}
    for group in groups:
        for contact in group:
            merged.setdefault(contact.email, contact)
    return list(merged.values())
