"""Technology and version detection on fixture pages (tests/enrich/pages)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from stages.enrich.detect import TechDetector

PAGES = Path(__file__).with_name("pages")

# page -> (headers, cookies, expected {tech: version or None}); every expected tech must be found
# with exactly that version, and nothing outside expected may be found.
CASES = {
    "wp_legacy.html": (
        {
            "Server": "Apache/2.4.41 (Ubuntu)",
            "X-Powered-By": "PHP/7.2.34",
            "Link": '<http://valleyheating.test/wp-json/>; rel="https://api.w.org/"',
        },
        {},
        {
            "WordPress": "5.4.2",
            "jQuery": "1.12.4",
            "jQuery Migrate": "1.4.1",
            "Contact Form 7": "5.1.9",
            "Font Awesome": "4.7.0",
            "BootstrapCDN": None,
            "Google Analytics": None,
            "PHP": "7.2.34",
            "Apache HTTP Server": "2.4.41",
            "Ubuntu": None,
            "MySQL": None,
        },
    ),
    "wp_woo.html": (
        {"Server": "cloudflare", "CF-RAY": "84a1b2c3d4e5f607-SEA", "X-Powered-By": "PHP/8.2.13"},
        {"__cf_bm": "x"},
        {
            "WordPress": "6.4.2",
            "WooCommerce": "8.3.1",
            "Elementor": "3.18.2",
            "Yoast SEO": "21.7",
            "jQuery": "3.7.1",
            "Google Tag Manager": None,
            "Google Font API": None,
            "reCAPTCHA": None,
            "Cloudflare": None,
            "PHP": "8.2.13",
            "MySQL": None,
        },
    ),
    "wix.html": (
        {"X-Wix-Request-Id": "1700000000.123", "Server": "Pepyaka/1.19.10"},
        {},
        {"Wix": None, "Pepyaka": "1.19.10", "React": "18.2.0"},
    ),
    "squarespace.html": ({"Server": "Squarespace"}, {"crumb": "x"}, {"Squarespace": None}),
    "shopify.html": (
        {"X-ShopId": "4242", "Server": "cloudflare"},
        {"_shopify_y": "abc"},
        {"Shopify": None, "Facebook Pixel": None, "Stripe": None, "Cloudflare": None},
    ),
    "godaddy.html": ({"Server": "DPS/2.0.0+sha-4b2a8a1"}, {}, {"GoDaddy Website Builder": "8.0.0000"}),
    "bootstrap_static.html": (
        {"Server": "Microsoft-IIS/8.5", "X-Powered-By": "ASP.NET", "X-AspNet-Version": "4.0.30319"},
        {"ASP.NET_SessionId": "z"},
        {
            "Bootstrap": "3.3.7",
            "jQuery": "1.11.3",
            "Modernizr": "2.8.3",
            "BootstrapCDN": None,
            "IIS": "8.5",
            "ASP.NET": "4.0.30319",
            "Windows Server": None,
        },
    ),
    "nextjs.html": (
        {"X-Powered-By": "Next.js", "x-vercel-id": "sfo1::abc", "Server": "Vercel"},
        {},
        {"Next.js": None, "React": None, "Node.js": None, "Vercel": None},
    ),
    "joomla.html": (
        {"Server": "Apache"},
        {"PHPSESSID": "q"},
        {"Joomla": None, "jQuery": None, "PHP": None, "Apache HTTP Server": None},
    ),
    "drupal.html": (
        {"X-Generator": "Drupal 7 (http://drupal.org)", "Server": "nginx/1.14.0"},
        {},
        {"Drupal": "7", "jQuery": None, "PHP": None, "Nginx": "1.14.0"},
    ),
    "weebly.html": ({}, {}, {"Weebly": None, "jQuery": "1.8.3"}),
    "spa_libs.html": (
        {"Server": "nginx"},
        {"hubspotutk": "1"},
        {
            "Vue.js": "2.6.14",
            "Lodash": "4.17.21",
            "Moment.js": "2.29.4",
            "Hotjar": None,
            "HubSpot": None,
            "Mailchimp": None,
            "cdnjs": None,
            "unpkg": None,
            "Nginx": None,
        },
    ),
    "google_libs.html": (
        {},
        {"_ga": "GA1.2.3"},
        {
            "jQuery": "3.6.0",
            "jQuery UI": "1.12.1",
            "Font Awesome": "5.15.4",
            "Google Analytics": None,
            "Google Maps": None,
            "Google Hosted Libraries": None,
        },
    ),
    "angular.html": ({}, {}, {"Angular": "16.2.0"}),
    "angularjs_both.html": ({}, {}, {"AngularJS": "1.8.2", "Google Hosted Libraries": None}),
}


@pytest.fixture(scope="module")
def detector() -> TechDetector:
    return TechDetector.from_file()


@pytest.mark.parametrize("page", sorted(CASES))
def test_detects_exact_names_and_versions(detector: TechDetector, page: str) -> None:
    headers, cookies, expected = CASES[page]
    html = (PAGES / page).read_text()
    found = {t.name: t.version for t in detector.detect(f"https://site.test/{page}", headers, html, cookies)}
    assert found == expected


def test_page_set_is_broad() -> None:
    names = {name for _, _, expected in CASES.values() for name in expected}
    assert len(CASES) >= 12 and len(names) >= 40


def test_categories_and_confidence_are_reported(detector: TechDetector) -> None:
    html = (PAGES / "wp_woo.html").read_text()
    techs = {t.name: t for t in detector.detect("https://bloom.test/", {}, html)}
    assert techs["WooCommerce"].categories == ["Ecommerce", "WordPress plugins"]
    assert techs["jQuery"].categories == ["JavaScript libraries"] and techs["jQuery"].confidence == 100


def test_confidence_tags_accumulate_and_threshold(detector: TechDetector) -> None:
    html = (PAGES / "vue_weak.html").read_text()
    assert detector.detect("https://x.test/", {}, html) == []  # one 25% hint is below the 50% default
    weak = TechDetector(detector.technologies, min_confidence=0).detect("https://x.test/", {}, html)
    assert [(t.name, t.confidence) for t in weak] == [("Vue.js", 25)]


def test_implied_confidence_scales(detector: TechDetector) -> None:
    found = {
        t.name: t
        for t in TechDetector(detector.technologies, min_confidence=0).detect(
            "https://x.test/", {"X-Powered-By": "ASP.NET"}, "<html></html>"
        )
    }
    assert (
        found["ASP.NET"].confidence == 100
        and found["IIS"].confidence == 50
        and found["Windows Server"].confidence == 50
    )


def test_js_globals_from_a_browser(detector: TechDetector) -> None:
    found = detector.detect(
        "https://x.test/", {}, "<html></html>", js={"jQuery.fn.jquery": "3.5.1", "Shopify.shop": "a.myshopify.com"}
    )
    assert {(t.name, t.version) for t in found} == {("jQuery", "3.5.1"), ("Shopify", None)}


def test_directory_of_files_and_hostile_patterns(tmp_path: Path) -> None:
    (tmp_path / "categories.json").write_text(json.dumps({"1": {"name": "Widgets"}}))
    (tmp_path / "a.json").write_text(
        json.dumps(
            {
                "Acme Widget": {
                    "cats": [1],
                    "scriptSrc": "acme-widget-([\\d.]+)\\.js\\;version:\\1",
                    "implies": "Beta Lib",
                },
                "Evil": {"cats": [1], "html": "(a+)+$"},
                "Lookaround": {"cats": [1], "html": ["(?<=x)y", "lookaround-ok"]},
            }
        )
    )
    (tmp_path / "b.json").write_text(json.dumps({"Beta Lib": {"cats": [1], "html": "beta-lib"}}))
    det = TechDetector.from_file(tmp_path)
    assert len(det.technologies["Evil"].patterns["html"]) == 1  # RE2 runs the catastrophic shape in linear time
    assert len(det.technologies["Lookaround"].patterns["html"]) == 1  # what RE2 cannot run is skipped
    html = '<script src="/js/acme-widget-2.1.0.js"></script>' + "a" * 200_000 + "!"
    started = time.thread_time()  # CPU time of this thread: other processes' load does not count
    found = [(t.name, t.version, t.categories) for t in det.detect("https://x.test/", {}, html)]
    assert time.thread_time() - started < 1.0
    assert found == [("Acme Widget", "2.1.0", ["Widgets"]), ("Beta Lib", None, ["Widgets"])]


def test_requires_and_ternary_versions(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps(
            {
                "technologies": {
                    "Plugin": {"cats": [], "html": "plugin-x", "requires": "Host"},
                    "Host": {"cats": [], "html": "host-y"},
                    "Tern": {
                        "cats": [],
                        "scriptSrc": "tern(?:-([\\d.]+))?\\.js(?:\\?v=([\\d.]+))?\\;version:\\1?\\1:\\2",
                    },
                }
            }
        )
    )
    det = TechDetector.from_file(path)
    assert [t.name for t in det.detect("u", {}, "plugin-x")] == []
    assert [t.name for t in det.detect("u", {}, "plugin-x host-y")] == ["Host", "Plugin"]
    assert det.detect("u", {}, '<script src="tern.js?v=4.2"></script>')[0].version == "4.2"
    assert det.detect("u", {}, '<script src="tern-1.0.js?v=4.2"></script>')[0].version == "1.0"


def test_hostile_inputs_are_bounded(detector: TechDetector) -> None:
    nested = "<div>" * 70_000 + '<script src="/jquery-3.1.1.min.js"></script>'
    binary = bytes(range(256)).decode("latin-1") * 2000
    started = time.thread_time()  # CPU time of this thread: other processes' load does not count
    assert [t.name for t in detector.detect("u", {"Server": "x" * 100_000}, nested)] == []  # past max_html_chars
    detector.detect("u", {}, binary)
    detector.detect("u", {}, "<script" * 40_000)
    assert time.thread_time() - started < 3.0
