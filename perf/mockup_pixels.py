"""Do two renderer configurations of perf/bench_mockup.py draw the same mockups? Pixel by pixel (Pillow).

Renders the same 12 template mockups (both views, at once, so pages are reused
and begin-frame calls queue) with each variant and compares the decoded
pixels. Exit status 1 when any view differs.

    python perf/mockup_pixels.py dec02 after
"""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

from PIL import Image, ImageChops

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from perf.bench_mockup import VARIANTS, _lead
from providers.chromium import DEFAULT_EXECUTABLE
from providers.html_render import DESKTOP, MOBILE, ChromiumRenderer
from schemas.concept import problems_for
from stages.mockup.content import render_html, template_concept

MOCKUPS = 12


async def shots(variant: str) -> list[bytes]:
    options = {"executable_path": DEFAULT_EXECUTABLE, "max_concurrency": 3, **VARIANTS[variant]}
    async with ChromiumRenderer(**options) as renderer:

        async def one(n: int) -> list[bytes]:
            lead = _lead(n)
            html = render_html(lead, template_concept(lead, problems_for(lead)))
            return list(
                await asyncio.gather(renderer.render(html, *DESKTOP), renderer.render(html, *MOBILE, mobile=True))
            )

        return [png for pair in await asyncio.gather(*(one(n) for n in range(MOCKUPS))) for png in pair]


async def main(first: str, second: str) -> int:
    differ = 0
    for n, (a, b) in enumerate(zip(await shots(first), await shots(second), strict=True)):
        left, right = Image.open(io.BytesIO(a)).convert("RGB"), Image.open(io.BytesIO(b)).convert("RGB")
        if left.size != right.size or ImageChops.difference(left, right).getbbox() is not None:
            differ += 1
            print(f"mockup {n // 2} {('desktop', 'mobile')[n % 2]}: {left.size} vs {right.size}, pixels differ")
    print(f"{first} vs {second}: {2 * MOCKUPS - differ}/{2 * MOCKUPS} views pixel-identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:3])))
