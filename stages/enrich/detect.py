"""Technology detection from fingerprints in the Wappalyzer format.

A fingerprint file maps technology names to ``cats``, ``headers``, ``cookies``,
``meta``, ``scriptSrc``, ``scripts`` (inline script text), ``html``, ``url``,
``js``, ``implies``, ``excludes`` and ``requires``; patterns are regexes that
may carry ``\\;version:\\1`` (with the ``\\1?a:b`` ternary) and
``\\;confidence:N`` tags. The project ships its own file
(``stages/data/technologies.json``); `TechDetector.from_file` also takes a
larger file or a directory of files in the same format.

Guard against hostile pages and patterns: fingerprint patterns run on RE2
(google-re2), whose matching time is linear in the input whatever the pattern
(``(a+)+$`` included); a pattern RE2 cannot run (lookarounds, backreferences)
is skipped with a warning when loading. Only the first ``max_html_chars`` of a
page are scanned and header/cookie values are cut to 4 KB. The few patterns
of our own (script URLs, meta tags and their attributes) use Python's ``re``
in shapes that cannot rescan: tag scans stop at the next ``<`` and an
attribute name is only tried where one starts.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import re2

from schemas.lead import Tech

log = logging.getLogger(__name__)

DEFAULT_FILE = Path(__file__).with_name("data") / "technologies.json"
_SCRIPT_SRC = re.compile(r"<script\b[^<>]{0,512}?\ssrc\s*=\s*[\"']?([^\"'\s<>]{1,2048})", re.I)
_META_TAG = re.compile(r"<meta\b[^<>]{0,2048}>", re.I)
# The lookbehind makes a run of name characters a candidate once (at its start), not at each of its characters.
_ATTR = re.compile(r"(?<![a-zA-Z_:-])([a-zA-Z_:-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+))")
MAX_VALUE_CHARS = 4096


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a refused pattern is reported once, by our warning
    return options


_RE2_OPTIONS = _re2_options()


@dataclass(frozen=True)
class Pattern:
    regex: Any  # a compiled RE2 pattern: .search(text) -> match with .groups()
    version: str | None = None
    confidence: int = 100
    source: str = ""  # the regex text (for the detector's one-pass prefilter, `PatternSet`)

    @classmethod
    def parse(cls, text: str) -> Pattern:
        """Compile a Wappalyzer pattern; ValueError when RE2 cannot run it in linear time."""
        source, *tags = str(text).split("\\;")
        try:
            regex = re2.compile(source, _RE2_OPTIONS)
        except re2.error as exc:
            detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
            raise ValueError(f"pattern {source!r} cannot run in linear time (RE2: {detail})") from None
        version, confidence = None, 100
        for tag in tags:
            key, _, value = tag.partition(":")
            if key == "version":
                version = value
            elif key == "confidence" and value.strip().isdigit():
                confidence = int(value)
        return cls(regex, version, confidence, source)

    def version_of(self, match: Any) -> str | None:
        """Resolve the ``\\;version:`` template against the match (Wappalyzer semantics)."""
        if not self.version:
            return None
        version = self.version
        groups = match.groups()
        for index in range(1, len(groups) + 1):
            value = groups[index - 1] or ""
            ternary = re.search(rf"\\{index}\?([^:]+):(.*)$", version)
            if ternary:
                version = version.replace(ternary.group(0), ternary.group(1) if value else ternary.group(2))
            version = version.replace(f"\\{index}", value)
        version = version.strip()
        return version[:30] or None


@dataclass
class Technology:
    name: str
    categories: list[str]
    patterns: dict[str, Any] = field(default_factory=dict)  # kind -> list[Pattern] or {key: list[Pattern]}
    implies: list[tuple[str, int]] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)


@dataclass
class PageFacts:
    """What detection reads from a page: script URLs, inline scripts and meta tags."""

    script_srcs: list[str]
    inline_scripts: list[str]
    metas: dict[str, list[str]]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _strip_tags(names: Iterable[str]) -> list[tuple[str, int]]:
    out = []
    for item in names:
        name, *tags = item.split("\\;")
        confidence = next((int(t[11:]) for t in tags if t.startswith("confidence:") and t[11:].isdigit()), 100)
        out.append((name, confidence))
    return out


def inline_scripts(html: str, limit: int = 200) -> list[str]:
    """Bodies of ``<script>`` elements without src, found in one linear pass."""
    lower, out, pos = html.lower(), list[str](), 0
    while len(out) < limit:
        start = lower.find("<script", pos)
        if start < 0:
            break
        tag_end = lower.find(">", start)
        end = lower.find("</script", tag_end)
        if tag_end < 0 or end < 0:
            break
        if " src" not in lower[start:tag_end]:
            out.append(html[tag_end + 1 : end])
        pos = end + 8
    return out


def page_facts(html: str) -> PageFacts:
    metas: dict[str, list[str]] = {}
    for tag in _META_TAG.findall(html):
        attrs = {m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or "" for m in _ATTR.finditer(tag)}
        key = attrs.get("name") or attrs.get("property") or attrs.get("http-equiv")
        if key and "content" in attrs:
            metas.setdefault(key.lower(), []).append(attrs["content"][:MAX_VALUE_CHARS])
    return PageFacts(_SCRIPT_SRC.findall(html), inline_scripts(html), metas)


LIST_KINDS = ("html", "scriptSrc", "scripts", "url")


class PatternSet:
    """Every pattern of one input kind in one RE2 set: one pass over a value says which patterns match it,
    so only those run on their own (for their version groups). Same options, same unanchored search."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self.index: dict[int, int] = {}  # id(pattern) → its number in the set
        self.unfiltered: set[int] = set()  # patterns the set refused: always searched on their own
        self.set = re2.Set.SearchSet(_RE2_OPTIONS)
        for pattern in patterns:
            try:
                self.index[id(pattern)] = self.set.Add(pattern.source)
            except (re2.error, ValueError, TypeError):
                self.unfiltered.add(id(pattern))
        self.set.Compile()

    def matching(self, value: str) -> set[int]:
        return set(self.set.Match(value) or ()) if self.index else set()

    def may_match(self, pattern: Pattern, hits: set[int]) -> bool:
        number = self.index.get(id(pattern))
        return number is None or number in hits


class TechDetector:
    """Matches pages against compiled fingerprints; `detect` returns `schemas.Tech` records.

    The list kinds (html, script URLs, inline scripts, URL) are prefiltered with one RE2 set per kind
    (`PatternSet`): a page is scanned once per kind, not once per pattern.
    """

    def __init__(
        self, technologies: dict[str, Technology], *, max_html_chars: int = 300_000, min_confidence: int = 50
    ) -> None:
        self.technologies = technologies
        self.max_html_chars = max_html_chars
        self.min_confidence = min_confidence
        self.sets = {
            kind: PatternSet([p for tech in technologies.values() for p in tech.patterns.get(kind, [])])
            for kind in LIST_KINDS
        }

    @property
    def js_paths(self) -> list[str]:
        """Every ``js`` property path the fingerprints test (``jQuery.fn.jquery``…): what a renderer should read."""
        return sorted({path for tech in self.technologies.values() for path in tech.patterns.get("js", {})})

    @classmethod
    def from_file(cls, path: str | Path = DEFAULT_FILE, **kwargs: Any) -> TechDetector:
        """Load one fingerprint file, or every ``*.json`` in a directory (``categories.json`` names categories)."""
        path = Path(path)
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        categories: dict[str, str] = {}
        raw_techs: dict[str, dict[str, Any]] = {}
        for file in files:
            data = json.loads(file.read_text(encoding="utf-8"))
            if file.name == "categories.json":
                categories.update({str(k): v.get("name", str(k)) for k, v in data.items()})
                continue
            categories.update({str(k): v.get("name", str(k)) for k, v in data.get("categories", {}).items()})
            techs = (
                data.get("technologies")
                or data.get("apps")
                or {k: v for k, v in data.items() if isinstance(v, dict) and k != "categories"}
            )
            raw_techs.update(techs)
        if not raw_techs:
            raise ValueError(f"no technologies found in {path}")
        return cls({name: cls._compile(name, spec, categories) for name, spec in raw_techs.items()}, **kwargs)

    @staticmethod
    def _compile(name: str, spec: dict[str, Any], categories: dict[str, str]) -> Technology:
        def compiled(values: Any) -> list[Pattern]:
            out = []
            for text in _as_list(values):
                try:
                    out.append(Pattern.parse(text))
                except (re.error, ValueError) as exc:
                    log.warning("technology %s: skipping pattern %r: %s", name, text, exc)
            return out

        tech = Technology(name, [categories.get(str(c), str(c)) for c in spec.get("cats", [])])
        for kind, key in (("html", "html"), ("scriptSrc", "scriptSrc"), ("scripts", "scripts"), ("url", "url")):
            if key in spec:
                tech.patterns[kind] = compiled(spec[key])
        for kind in ("headers", "cookies", "meta", "js"):
            if isinstance(spec.get(kind), dict):
                tech.patterns[kind] = {k.lower() if kind != "js" else k: compiled(v) for k, v in spec[kind].items()}
        tech.implies = _strip_tags(_as_list(spec.get("implies")))
        tech.excludes = [n for n, _ in _strip_tags(_as_list(spec.get("excludes")))]
        tech.requires = [n for n, _ in _strip_tags(_as_list(spec.get("requires")))]
        return tech

    def detect(
        self,
        url: str,
        headers: dict[str, str],
        html: str,
        cookies: dict[str, str] | None = None,
        js: dict[str, Any] | None = None,
    ) -> list[Tech]:
        """Technologies found on a page, with versions and confidence; implies/excludes/requires resolved."""
        html = html[: self.max_html_chars]
        facts = page_facts(html)
        lower_headers = {k.lower(): str(v)[:MAX_VALUE_CHARS] for k, v in headers.items()}
        lower_cookies = {k.lower(): str(v)[:MAX_VALUE_CHARS] for k, v in (cookies or {}).items()}
        inputs: dict[str, Any] = {
            "html": [html],
            "scriptSrc": facts.script_srcs,
            "scripts": facts.inline_scripts,
            "url": [url],
            "headers": {k: [v] for k, v in lower_headers.items()},
            "cookies": {k: [v] for k, v in lower_cookies.items()},
            "meta": facts.metas,
            "js": {k: [str(v)[:MAX_VALUE_CHARS]] for k, v in (js or {}).items()},
        }
        hits = {kind: [self.sets[kind].matching(value) for value in inputs[kind]] for kind in LIST_KINDS}
        found: dict[str, tuple[int, set[str]]] = {}
        for tech in self.technologies.values():
            confidence, versions = 0, set()
            for kind, patterns in tech.patterns.items():
                pairs = patterns.items() if isinstance(patterns, dict) else [(None, patterns)]
                for key, plist in pairs:
                    values = inputs[kind] if key is None else inputs[kind].get(key, [])
                    for pattern in plist:
                        for n, value in enumerate(values):
                            if key is None and not self.sets[kind].may_match(pattern, hits[kind][n]):
                                continue
                            match = pattern.regex.search(value)
                            if match:
                                confidence += pattern.confidence
                                if (version := pattern.version_of(match)) is not None:
                                    versions.add(version)
                                break
            if confidence:
                found[tech.name] = (min(confidence, 100), versions)
        return self._resolve(found)

    def _resolve(self, found: dict[str, tuple[int, set[str]]]) -> list[Tech]:
        pending = list(found)
        while pending:  # implies, transitively; an implied tech keeps the stronger confidence
            name = pending.pop()
            tech = self.technologies.get(name)
            for implied, factor in tech.implies if tech else []:
                confidence = found[name][0] * factor // 100
                if implied not in found or found[implied][0] < confidence:
                    versions = found[implied][1] if implied in found else set()
                    found[implied] = (max(confidence, found.get(implied, (0, set()))[0]), versions)
                    pending.append(implied)
        for name in list(found):
            tech = self.technologies.get(name)
            if tech and tech.requires and not all(r in found for r in tech.requires):
                del found[name]
        for name in list(found):
            tech = self.technologies.get(name)
            for excluded in tech.excludes if tech and name in found else []:
                found.pop(excluded, None)
        result = []
        for name, (confidence, versions) in sorted(found.items()):
            if confidence < self.min_confidence:
                continue
            tech = self.technologies.get(name)
            result.append(
                Tech(
                    name=name,
                    version=best_version(versions),
                    categories=tech.categories if tech else [],
                    confidence=confidence,
                )
            )
        return result


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:6])


def best_version(versions: set[str]) -> str | None:
    """The most specific version (most parts), then the highest."""
    if not versions:
        return None
    return max(versions, key=lambda v: (len(version_key(v)), version_key(v), v))
