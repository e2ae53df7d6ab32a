"""Linear-time helpers for reading fetched HTML, which is hostile input.

A regex like ``<script\\b.*?</script>`` or ``<[^>]*>`` rescans the rest of the
page from every unclosed opening it meets, so a page of ``<script<script…``
or ``<<<<…`` costs time quadratic in its size (tens of seconds at 200 KB, on
the event loop). These helpers find elements with ``str.find`` (each character
is looked at a bounded number of times) and strip tags with a pattern that
cannot cross another ``<``.
"""

from __future__ import annotations

import re

TAG = re.compile(r"<[^<>]{0,4096}>")  # stops at the next "<": a page of unclosed tags stays linear


def without_elements(html: str, names: tuple[str, ...]) -> str:
    """`html` without the ``<name …>…</name>`` elements of `names` (case-insensitive, not nested).

    An element that is never closed swallows the rest of the page, as a
    browser would treat an unclosed ``<script>``. Each name's next opening is
    remembered and searched again only once the scan has passed it, so every
    name costs one pass over the page.
    """
    lower, pieces, pos = html.lower(), [], 0
    upcoming = {name: _opener(lower, name, 0) for name in names}
    while True:
        for name, at in upcoming.items():
            if 0 <= at < pos:
                upcoming[name] = _opener(lower, name, pos)
        found = [(at, name) for name, at in upcoming.items() if at >= 0]
        if not found:
            pieces.append(html[pos:])
            break
        start, name = min(found)
        pieces.append(html[pos:start])
        end = lower.find("</" + name, start + len(name) + 1)
        if end < 0:
            break
        close = lower.find(">", end)
        pos = len(html) if close < 0 else close + 1
    return " ".join(pieces)


def _opener(lower: str, name: str, pos: int) -> int:
    """Index of the first ``<name`` at or after `pos` that opens that very element (not ``<names``); -1: none."""
    opener = "<" + name
    at = lower.find(opener, pos)
    while at >= 0:
        after = lower[at + len(opener) : at + len(opener) + 1]
        if not after or not (after.isalnum() or after in "-_:"):
            return at
        at = lower.find(opener, at + 1)
    return -1
