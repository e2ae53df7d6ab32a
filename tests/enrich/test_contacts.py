"""Email extraction: forms, obfuscations, normalization, classification, false positives."""

from __future__ import annotations

import time

from stages.enrich.contacts import classify, decode_cfemail, extract_contacts, find_emails, normalize_email


def _found(html: str) -> dict[str, tuple[str, str]]:
    return {f.email: (f.kind, f.method) for f in find_emails(html)}


def test_mailto_text_and_entities() -> None:
    html = (
        '<a href="mailto:Office@ValleyHVAC.com?subject=Quote">Mail</a>'
        "<p>Call Mike: mike.r@valleyhvac.com.</p>"
        "<p>" + "".join(f"&#{ord(c)};" for c in "sarah@valleyhvac.com") + "</p>"
        '<a href="mailto:%20billing@valleyhvac.com">b</a>'
    )
    assert _found(html) == {
        "office@valleyhvac.com": ("role", "mailto"),
        "billing@valleyhvac.com": ("role", "mailto"),
        "mike.r@valleyhvac.com": ("personal", "text"),
        "sarah@valleyhvac.com": ("personal", "text"),
    }


def test_obfuscations() -> None:
    html = (
        "<p>info [at] yakima-heating [dot] com</p>"
        "<p>Write to dave(at)yakimaheating.com today</p>"
        "<p>service {at} yakimaheating {dot} co {dot} uk</p>"
        "<p>linda at yakimaheating dot com</p>"
    )
    assert _found(html) == {
        "info@yakima-heating.com": ("role", "obfuscated"),
        "dave@yakimaheating.com": ("personal", "obfuscated"),
        "service@yakimaheating.co.uk": ("role", "obfuscated"),
        "linda@yakimaheating.com": ("personal", "obfuscated"),
    }


def test_plain_words_are_not_obfuscated_emails() -> None:
    assert find_emails("<p>Meet us at the shop. Open at 9 at night dot matrix printers.</p>") == []


def test_cloudflare_email_protection() -> None:
    key = 0x3C
    encoded = f"{key:02x}" + "".join(f"{ord(c) ^ key:02x}" for c in "hello@roofers.net")
    assert decode_cfemail(encoded) == "hello@roofers.net"
    html = f'<a class="__cf_email__" data-cfemail="{encoded}">[email&#160;protected]</a><a href="/cdn-cgi/l/email-protection#{encoded}">x</a>'
    assert _found(html) == {"hello@roofers.net": ("role", "cfemail")}


def test_mailto_and_cfemail_in_any_case() -> None:
    """The scans for mailto links and Cloudflare's protection run only on pages that can hold them (a substring
    test on the lower-cased page): upper-case markup, and the two characters re.IGNORECASE matches to "i"
    although lower() does not turn them into one, are still found as the full case-insensitive scan finds them."""
    key = 0x3C
    encoded = f"{key:02x}" + "".join(f"{ord(c) ^ key:02x}" for c in "hello@roofers.net")
    assert _found(f'<A HREF="MAILTO:Office@Valley.com">m</A><b DATA-CFEMAIL="{encoded}">x</b>') == {
        "office@valley.com": ("role", "mailto"),
        "hello@roofers.net": ("role", "cfemail"),
    }
    assert _found('<a href="ma\u0131lto:ann@valley.com">m</a>') == {"ann@valley.com": ("personal", "mailto")}
    assert _found('<a href="MA\u0130LTO:ann@valley.com">m</a>') == {"ann@valley.com": ("personal", "mailto")}
    assert _found("<p>no links here, only text</p>") == {}


def test_false_positives_dropped() -> None:
    html = (
        '<img src="/img/logo@2x.png"><img srcset="hero@3x.webp 3x"><input placeholder="you@example.com">'
        "<p>name@domain.com</p><p>john.doe@yourdomain.com</p><p>noreply@shop.com</p>"
        '<script>Sentry.init({dsn:"https://0f3c2b1a9e@o123.ingest.sentry.io/456"})</script>'
        "<p>abc@sentry-next.wixpress.com</p><p>user@localhost</p><p>x@host.invalidtld</p>"
        "<style>.a{background:url(bg@2x.jpg)}</style><p>real.person@gmail.com</p>"
    )
    assert _found(html) == {"real.person@gmail.com": ("personal", "text")}


def test_scripts_are_not_read_but_mailto_in_them_is() -> None:
    html = "<script>var e='tracker@analytics-vendor.com';</script><p>Email <b>front.desk@clinic.org</b></p>"
    assert _found(html) == {"front.desk@clinic.org": ("personal", "text")}


def test_normalize_and_classify() -> None:
    assert normalize_email(" Info@Example-Plumbing.COM. ") == "info@example-plumbing.com"
    assert normalize_email("a..b@plumbing.com") is None
    assert normalize_email("bad@-plumbing.com") is None
    assert normalize_email("icon@2x.svg") is None
    assert classify("office@x.com") == "role" and classify("sales.team@x.com") == "role"
    assert classify("support-2@x.com") == "role" and classify("carlos@x.com") == "personal"


def test_contacts_carry_source_and_dedupe() -> None:
    html = '<a href="mailto:info@bakery.com">info@bakery.com</a><p>INFO@bakery.com</p>'
    contacts = extract_contacts(html, "/contact")
    assert [(c.email, c.kind, c.source) for c in contacts] == [("info@bakery.com", "role", "mailto:/contact")]


def test_hostile_html_is_linear() -> None:
    pages = ["<" * 500_000, "<script" * 80_000, "a@" * 200_000, "[at] " * 100_000, "x" * 2_000_000 + "@b.com"]
    started = time.thread_time()  # CPU time of this thread: other processes' load does not count
    for page in pages:
        find_emails(page)
    assert time.thread_time() - started < 5.0
