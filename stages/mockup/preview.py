"""The email's image: a small JPEG of the top of the desktop mockup, made from its PNG with Pillow.

The outreach email shows this preview, never the desktop PNG (~0.5 MB): the view's
first `height * 2` CSS pixels, halved to the email body's width (600 px) with a
2×2 box filter, as a JPEG. JPEG because the hero is a gradient (a 256-colour PNG,
12–21 KB, bands it) and a 24-bit PNG of the same 600×400 pixels is ~61 KB against
~27 KB at quality 80 (70: 23 KB, 90: 37 KB).

Why Pillow and not Chromium: Chromium can draw the same preview itself (a clipped
screenshot at scale 0.5 on the desktop page, no image library; commit ce98acf),
with slightly crisper text, but in one run of ``perf/bench_mockup.py --variants
no-preview,after,pillow-preview --rounds 3`` on that commit it cost +0.033 and
+0.034 CPU-s per mockup over no preview against Pillow's +0.008 and +0.006 (the
two quiet rounds; Chromium draws the page again at the small scale and back,
over 2–4 extra frames). Here it is ~15 ms of decoding the fast PNG and ~2 ms to
halve and encode, in a worker thread (Pillow releases the GIL while it decodes
and encodes).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

__all__ = ["Preview", "make_preview"]


@dataclass(frozen=True)
class Preview:
    """`width`×`height` pixels from the top of a view twice as wide (2×2 box filter); JPEG `quality` 0–95."""

    width: int
    height: int
    quality: int = 80


def make_preview(png: bytes, preview: Preview) -> bytes:
    """The JPEG `preview` of a view's PNG: its top ``2 * preview.height`` rows, halved."""
    with Image.open(io.BytesIO(png)) as image:
        if image.width != 2 * preview.width or image.height < 2 * preview.height:
            raise ValueError(
                f"a {image.width}×{image.height} view has no {preview.width}×{preview.height} preview at half scale"
            )
        top = image.convert("RGB").crop((0, 0, image.width, 2 * preview.height))
        out = io.BytesIO()
        top.reduce(2).save(out, "JPEG", quality=preview.quality)
        return out.getvalue()
