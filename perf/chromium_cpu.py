"""CPU seconds of this process and its descendants, by kind: python, Playwright driver, Chromium's process types.

`snapshot()` reads every descendant's CPU times (user + system, plus the times
of children it already reaped: Chromium's zygote reaps the renderers of closed
contexts, so their CPU shows up as the zygote's ``renderer (exited)``);
`delta(before, after)` is what was spent in between, per kind. A process that
exits in between and is reaped by a process outside the tree is lost; for
Chromium the zygote (and the browser for utilities) stay alive, so that is the
Playwright driver's short-lived helpers at most.

    before = snapshot(exclude={server.pid}); ...; print(format_kinds(delta(before, snapshot(...)), n, "mockup"))
"""

from __future__ import annotations

from collections.abc import Iterable

import psutil

Key = tuple[int, float]  # (pid, create_time): pids are reused


def kind_of(proc: psutil.Process) -> str:
    try:
        cmdline = proc.cmdline()
    except psutil.Error:
        return "other"
    if not cmdline:
        return "other"
    program = cmdline[0].rsplit("/", 1)[-1]
    if program == "node" or any(arg.endswith("cli.js") for arg in cmdline[:3]):
        return "driver"
    if "chrom" not in program and "headless_shell" not in program:
        return "other" if "python" not in program else "python (child)"
    kind = next((arg.split("=", 1)[1] for arg in cmdline if arg.startswith("--type=")), "browser")
    if kind == "utility":
        sub = next((arg.split("=", 1)[1] for arg in cmdline if arg.startswith("--utility-sub-type=")), "")
        return f"utility {sub.split('.')[-1]}" if sub else "utility"
    if kind == "renderer" and "--top-chrome-webui" in cmdline:
        return "renderer (webui)"
    return kind


def snapshot(exclude: Iterable[int] = ()) -> dict[Key, tuple[str, float, float]]:
    """{(pid, started): (kind, own cpu-s, reaped children's cpu-s)} for this process and its descendants."""
    me = psutil.Process()
    excluded: set[int] = set()
    for pid in exclude:
        excluded.add(pid)
        try:
            excluded.update(p.pid for p in psutil.Process(pid).children(recursive=True))
        except psutil.NoSuchProcess:
            pass
    out: dict[Key, tuple[str, float, float]] = {}
    for proc in [me, *me.children(recursive=True)]:
        if proc.pid in excluded:
            continue
        try:
            times = proc.cpu_times()
            key = (proc.pid, proc.create_time())
            kind = "python" if proc.pid == me.pid else kind_of(proc)
        except psutil.Error:
            continue
        reaped = 0.0 if proc.pid == me.pid else times.children_user + times.children_system
        out[key] = (kind, times.user + times.system, reaped)
    return out


def delta(before: dict[Key, tuple[str, float, float]], after: dict[Key, tuple[str, float, float]]) -> dict[str, float]:
    """CPU seconds spent between two snapshots, by kind (the zygotes' reaped children as ``renderer (exited)``)."""
    spent: dict[str, float] = {}
    for key, (kind, own, reaped) in after.items():
        _, own0, reaped0 = before.get(key, (kind, 0.0, 0.0))
        spent[kind] = spent.get(kind, 0.0) + own - own0
        if reaped - reaped0 > 0:
            label = "renderer (exited)" if kind == "zygote" else f"{kind} (reaped)"
            spent[label] = spent.get(label, 0.0) + reaped - reaped0
    return spent


def format_kinds(spent: dict[str, float], items: int, unit: str) -> str:
    """One line: total and per-kind CPU-ms per item, biggest first."""
    total = sum(spent.values())
    parts = ", ".join(
        f"{kind} {value / items * 1000:.0f}" for kind, value in sorted(spent.items(), key=lambda kv: -kv[1]) if value
    )
    return f"cpu {total / items:.3f} cpu-s per {unit} (ms per {unit}: {parts})"
