"""What idle Chromium tabs cost: the shared headless shell's CPU with N tabs left idle on ``about:blank``.

    flock /work/wt/heavy.lock python perf/bench_idle_tabs.py --hold 20 --tabs 0,1,2,4 --rounds 2

For each count, a `PageRenderer` renders N pages at once from a local site (so
it opens N tabs), keeps them idle (``idle_tab_s=None``; for 0 they are closed
at once) and Chromium's CPU (browser, renderers, utilities; not our Python nor
the Playwright driver) is read over `--hold` seconds. Rounds alternate the
order. Compare with a new tab's cost in perf/bench_fetch.py ``--gap-s``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from aiohttp import web

from perf import chromium_cpu
from providers.browser import PageRenderer
from providers.chromium import DEFAULT_EXECUTABLE, close_shared_browser
from providers.netguard import NetGuard

PAGE = "<html><body><h1>Hi</h1><script>document.title = 'x'</script></body></html>"


async def run(hold_s: float, counts: list[int], rounds: int) -> None:
    arrived, expected, seen = asyncio.Event(), [1], [0]

    async def page(request: web.Request) -> web.Response:
        seen[0] += 1  # every render waits for the others: N tabs at once
        if seen[0] >= expected[0]:
            arrived.set()
        await arrived.wait()
        return web.Response(content_type="text/html", text=PAGE)

    app = web.Application()
    app.router.add_get("/{n}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    guard = NetGuard([f"127.0.0.1:{port}"], resolve_names=False)
    holder = PageRenderer(DEFAULT_EXECUTABLE, guard=guard)  # keeps the shared browser up between counts
    await holder.start()
    spent_per_s: dict[int, list[float]] = {n: [] for n in counts}
    try:
        for round_ in range(rounds):
            for n in counts if round_ % 2 == 0 else counts[::-1]:
                pages = PageRenderer(
                    DEFAULT_EXECUTABLE, guard=guard, max_concurrency=max(n, 1), quiet_s=0.1, idle_tab_s=None
                )
                await pages.start()
                arrived.clear()
                seen[0], expected[0] = 0, max(n, 1)
                await asyncio.gather(*(pages.render(f"http://127.0.0.1:{port}/{i}") for i in range(max(n, 1))))
                if n == 0:
                    await pages.close()
                await asyncio.sleep(1.0)  # the renders' own work done
                before, started = chromium_cpu.snapshot(), time.perf_counter()
                await asyncio.sleep(hold_s)
                spent = chromium_cpu.delta(before, chromium_cpu.snapshot())
                wall = time.perf_counter() - started
                await pages.close()
                chromium = sum(v for kind, v in spent.items() if kind not in ("python", "driver"))
                spent_per_s[n].append(chromium / wall)
                print(
                    f"round {round_ + 1}, {n} idle tabs: Chromium {chromium / wall:.4f} CPU-s per s; "
                    + chromium_cpu.format_kinds(spent, 1, f"{wall:.0f} s"),
                    flush=True,
                )
    finally:
        await holder.close()
        await close_shared_browser()
        await runner.cleanup()
    for n, values in spent_per_s.items():
        print(f"{n} idle tabs: Chromium {' / '.join(f'{v:.4f}' for v in values)} CPU-s per second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hold", type=float, default=20.0, help="seconds measured per count")
    parser.add_argument("--tabs", default="0,1,2,4", help="idle tab counts")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(run(args.hold, [int(n) for n in args.tabs.split(",")], args.rounds))


if __name__ == "__main__":
    main()
