"""Every pattern that runs on a fetched page stays linear on pages built to make regexes backtrack.

Each function gets adversarial pages at the size it really scans (its own cap)
and must finish within a CPU-time budget (`time.process_time`, so a busy
machine does not fail the test; wall time is never asserted). Linear code
needs a few hundredths of a second here; the quadratic shapes these pages
target took from seconds to minutes (`needs_javascript` took 1.8 s at 40,000
characters and 30-45 s at its 200,000 cap).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from providers.web import FetchResult
from stages.enrich.contacts import find_emails
from stages.enrich.detect import TechDetector, page_facts
from stages.enrich.fetch import contact_page_urls, needs_javascript

BUDGET_S = 1.0  # CPU seconds for one call on one page

# Units repeated up to the page size: unclosed elements and tags, runs that a pattern scans from every
# position, ambiguous whitespace, near-misses of email and obfuscation shapes, long attribute names.
UNITS = {
    "lt": "<",
    "unclosed_script": "<script",
    "unclosed_script_gt": "<script>",
    "unclosed_noscript": "<noscript",
    "unclosed_template": "<template ",
    "open_tags": "<a ",
    "script_src": "<script src=",
    "hrefs": " href=",
    "contact_hrefs": " href=contact",
    "at_signs": "@",
    "local_at": "a@",
    "dotted_at": "a@a.",
    "dots": "a.",
    "spaced_at": "a" + " " * 300 + "at ",
    "words_at_dot": "a at b dot ",
    "bracket_at": "a [at] ",
    "paren_at_dot": "a(at)b(dot)",
    "mailtos": "href=mailto:",
    "meta_open": "<meta ",
    "meta_long_attr": "<meta " + "a" * 2040 + ">",
    "meta_equals": "<meta a=",
    "version_runs": "1.",
    "jquery_runs": "jquery-1.",
    "digits": "9",
    "spaces": " ",
    "newlines": "\n",
    "entities": "&#",
    "cfemail": "data-cfemail=a",
    "long_local": "a" * 60 + ".",
    "long_domain": "@" + "a" * 60 + "-",
    # long whitespace runs after each prefix a pattern anchors on (adjacent \s* would split them every way)
    "ws_href": "href=" + " " * 5000 + "x",
    "ws_contact_href": " href" + " " * 5000 + "=contact",
    "ws_cfemail": "data-cfemail" + " " * 5000 + "=",
    "ws_script_src": "<script" + " " * 5000 + "src",
    "ws_meta_attr": "<meta a" + " " * 1000 + "=" + " " * 1000,
    "ws_at": "a" + " " * 5000 + "at b dot c",
    "ws_bracket_at": "a [at] b" + " " * 5000 + "[dot]",
    "ws_dot": "a [at] b [dot]" + " " * 5000 + "x",
}


def _page(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _within_budget(call: Callable[[str], object], page: str) -> float:
    started = time.process_time()
    call(page)
    return time.process_time() - started


HOME = FetchResult("http://shop.test/", "http://shop.test/", 200, {}, b"", False, 0.0, 0.0)
DETECTOR = TechDetector.from_file()
SCANNERS: dict[str, tuple[Callable[[str], object], int]] = {
    "needs_javascript": (needs_javascript, 200_000),
    "contact_page_urls": (lambda html: contact_page_urls(HOME, html, ("/contact",)), 300_000),
    "find_emails": (find_emails, 600_000),
    "page_facts": (page_facts, 300_000),
    "detect": (
        lambda html: DETECTOR.detect("http://shop.test/", {"server": html[:4096]}, html, {"sid": html[:4096]}),
        300_000,
    ),
}


@pytest.mark.parametrize("scanner", sorted(SCANNERS))
def test_every_scanner_is_linear_on_adversarial_pages(scanner: str) -> None:
    call, size = SCANNERS[scanner]
    slow = {
        name: round(spent, 2)
        for name, unit in UNITS.items()
        if (spent := _within_budget(call, _page(unit, size))) > BUDGET_S
    }
    assert slow == {}, f"{scanner}: CPU seconds over the {BUDGET_S}s budget at {size:,} characters"


def test_hostile_fingerprints_run_in_linear_time(tmp_path: Path) -> None:
    """A third-party fingerprint file may hold catastrophic patterns: RE2 runs them in linear time."""
    evil = ["(a+)+$", "(a|a)*b", "(a|aa)+$", "(.*a){12}", "(x+x+)+y", ".*.*.*=.*;", "(\\d+\\.)*\\d+z"]
    (tmp_path / "evil.json").write_text(json.dumps({f"Evil{i}": {"cats": [], "html": p} for i, p in enumerate(evil)}))
    detector = TechDetector.from_file(tmp_path)
    assert all(len(t.patterns["html"]) == 1 for t in detector.technologies.values())
    for unit in ("a", "x", "1.", "aa=", "a;"):
        page = _page(unit, 300_000) + "!"
        assert _within_budget(lambda html: detector.detect("u", {}, html), page) <= BUDGET_S, unit
