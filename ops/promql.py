"""Read the dashboards' PromQL, run it against Prometheus, draw panels to PNG.

No Grafana server can run here, so a dashboard is proved by running each
panel's queries through Prometheus' HTTP API (``/api/v1/query_range``) the way
Grafana would — Grafana's built-in variables (``$__rate_interval``,
``$__interval``, ``$__range``) and the dashboard's own variables expanded — and
checking that every panel returns data. ``render_png`` draws a panel from those
same results, threshold lines included, for the perf report.

    from ops import promql
    fetch = promql.prometheus_fetcher("http://127.0.0.1:9090")
    for result in promql.run_panels(fetch, promql.load_all(), start, end, step=15):
        assert result.has_data, result.describe()

The runner takes any ``fetch(expr, start, end, step) -> dict`` (the decoded
``query_range`` response), so it is tested on canned responses without a network.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
SCRAPE_INTERVAL_S = 15  # ops/prometheus/prometheus.yml global scrape_interval

Fetch = Callable[[str, float, float, float], dict]


@dataclass(frozen=True)
class Target:
    """One query of one panel, as stored in the dashboard JSON."""

    dashboard: str
    panel_id: int
    panel_title: str
    panel_type: str
    ref_id: str
    expr: str
    legend: str
    unit: str
    thresholds: tuple[float, ...]  # threshold steps with a value (drawn as lines)


@dataclass
class Panel:
    dashboard: str
    panel_id: int
    title: str
    type: str
    unit: str
    thresholds: tuple[float, ...]
    targets: list[Target] = field(default_factory=list)


@dataclass
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]


@dataclass
class TargetResult:
    target: Target
    query: str  # the expression after variable expansion
    series: list[Series]
    error: str | None = None

    @property
    def has_data(self) -> bool:
        return self.error is None and any(s.points for s in self.series)


@dataclass
class PanelResult:
    panel: Panel
    results: list[TargetResult]

    @property
    def has_data(self) -> bool:
        """Grafana shows "No data" only when every query of the panel is empty."""
        return any(r.has_data for r in self.results)

    def describe(self) -> str:
        lines = [f"{self.panel.dashboard} / {self.panel.title} (panel {self.panel.panel_id}):"]
        for r in self.results:
            state = r.error or f"{len(r.series)} series, {sum(len(s.points) for s in r.series)} points"
            lines.append(f"  {r.target.ref_id}: {state}: {r.query}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- loading
def load_dashboard(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def load_all(directory: str | Path = DASHBOARD_DIR) -> list[dict]:
    paths = sorted(Path(directory).glob("*.json"))
    if not paths:
        raise FileNotFoundError(f"no dashboard JSON in {directory} (run `python -m ops.generate`)")
    return [load_dashboard(p) for p in paths]


def _walk_panels(panels: list[dict]) -> Iterable[dict]:
    for panel in panels:
        yield panel
        yield from _walk_panels(panel.get("panels") or [])  # collapsed rows keep their panels inside


def panels(dashboard: dict) -> list[Panel]:
    """Every panel that has queries, in dashboard order (rows and text panels have none)."""
    out = []
    uid = dashboard.get("uid", "?")
    for raw in _walk_panels(dashboard.get("panels") or []):
        queries = [t for t in raw.get("targets") or [] if t.get("expr")]
        if not queries:
            continue
        defaults = (raw.get("fieldConfig") or {}).get("defaults") or {}
        steps = ((defaults.get("thresholds") or {}).get("steps")) or []
        limits = tuple(float(s["value"]) for s in steps if s.get("value") is not None)
        panel = Panel(
            uid, raw.get("id", 0), raw.get("title", ""), raw.get("type", ""), defaults.get("unit", ""), limits
        )
        for t in queries:
            panel.targets.append(
                Target(
                    uid,
                    panel.panel_id,
                    panel.title,
                    panel.type,
                    t.get("refId", ""),
                    t["expr"],
                    t.get("legendFormat", ""),
                    panel.unit,
                    limits,
                )
            )
        out.append(panel)
    return out


def targets(dashboards: Iterable[dict]) -> list[Target]:
    """Every panel query of the given dashboards (``python -m ops.promql`` prints them)."""
    return [t for d in dashboards for p in panels(d) for t in p.targets]


# --------------------------------------------------------------------------- variables
def dashboard_variables(dashboard: dict) -> dict[str, str]:
    """Values Grafana would use by default: the current option, else "All" (its allValue or `.*`)."""
    values = {}
    for var in (dashboard.get("templating") or {}).get("list") or []:
        if var.get("type") == "datasource":
            continue
        current = (var.get("current") or {}).get("value")
        if isinstance(current, list):
            current = "|".join(current)
        if current in (None, "", "$__all") and var.get("includeAll"):
            current = var.get("allValue") or ".*"
        if current not in (None, ""):
            values[var["name"]] = str(current)
    return values


def _duration(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds))}s"


def expand(
    expr: str,
    *,
    step_s: float,
    range_s: float,
    variables: dict[str, str] | None = None,
    scrape_interval_s: float = SCRAPE_INTERVAL_S,
) -> str:
    """Expand Grafana's built-in and dashboard variables the way Grafana does before it queries.

    ``$__rate_interval`` = max(``$__interval`` + scrape interval, 4 × scrape interval).
    An unknown ``$name`` is an error: a query that silently kept it would never return data.
    """
    builtins = {
        "__rate_interval": _duration(max(step_s + scrape_interval_s, 4 * scrape_interval_s)),
        "__interval": _duration(step_s),
        "__range": _duration(range_s),
        "__range_s": str(int(range_s)),
    }
    values = {**builtins, **(variables or {})}

    def sub(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name not in values:
            raise KeyError(f"query uses ${name}, which is neither a Grafana built-in nor a dashboard variable: {expr}")
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)", sub, expr)


# --------------------------------------------------------------------------- running
def parse_matrix(response: dict) -> list[Series]:
    """Series of a ``query_range`` response; raises on an error response."""
    if response.get("status") != "success":
        raise ValueError(f"{response.get('errorType', 'error')}: {response.get('error', response)}")
    data = response.get("data") or {}
    if data.get("resultType") != "matrix":
        raise ValueError(f"expected a matrix, got {data.get('resultType')!r}")
    return [
        Series(dict(item.get("metric") or {}), [(float(t), float(v)) for t, v in item.get("values") or []])
        for item in data.get("result") or []
    ]


def prometheus_fetcher(base_url: str, *, timeout_s: float = 30.0) -> Fetch:
    """A `fetch` that asks a Prometheus server's ``/api/v1/query_range``."""
    import httpx

    client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def fetch(expr: str, start: float, end: float, step: float) -> dict:
        response = client.get("/api/v1/query_range", params={"query": expr, "start": start, "end": end, "step": step})
        return response.json()  # error responses (400/422) carry the JSON error body too

    return fetch


def run_panels(
    fetch: Fetch,
    dashboards: Iterable[dict],
    start: float,
    end: float,
    step: float,
    variables: dict[str, str] | None = None,
) -> list[PanelResult]:
    """Run every panel query of `dashboards` over [start, end]; one result per panel."""
    results = []
    for dashboard in dashboards:
        values = {**dashboard_variables(dashboard), **(variables or {})}
        for panel in panels(dashboard):
            outcome = []
            for target in panel.targets:
                query = expand(target.expr, step_s=step, range_s=end - start, variables=values)
                try:
                    outcome.append(TargetResult(target, query, parse_matrix(fetch(query, start, end, step))))
                except Exception as exc:  # reported per query: one bad query must not hide the others
                    outcome.append(TargetResult(target, query, [], error=f"{type(exc).__name__}: {exc}"))
            results.append(PanelResult(panel, outcome))
    return results


# --------------------------------------------------------------------------- drawing
def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legend format: ``{{label}}`` replaced; empty or ``__auto`` shows the label set."""
    if template and template != "__auto":
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return "{" + inner + "}" if inner else "value"


_UNITS = {"s": "seconds", "ops": "per second", "percentunit": "ratio", "currencyUSD": "USD", "short": ""}


@dataclass(frozen=True)
class Rendered:
    path: Path
    lines: int  # series drawn
    thresholds: tuple[float, ...]  # threshold lines drawn


def render_png(result: PanelResult, path: str | Path, *, width_in: float = 10, height_in: float = 4) -> Rendered:
    """Draw one panel's results as a line chart (UTC time axis, thresholds dashed) into `path`."""
    import matplotlib

    matplotlib.use("Agg")  # no display here; Agg draws to files
    from datetime import datetime

    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=100)
    try:
        lines = 0
        for r in result.results:
            for s in r.series:
                points = [(t, v) for t, v in s.points if math.isfinite(v)]
                if not points:
                    continue
                xs = [datetime.fromtimestamp(t, tz=UTC) for t, _ in points]
                ax.plot(xs, [v for _, v in points], linewidth=1.2, label=legend(r.target.legend, s.labels))
                lines += 1
        for limit in result.panel.thresholds:
            ax.axhline(limit, color="red", linestyle="--", linewidth=1, label=f"threshold {limit:g}")
        ax.set_title(f"{result.panel.title}", fontsize=11)
        ax.set_ylabel(_UNITS.get(result.panel.unit, result.panel.unit))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))
        ax.set_xlabel("time (UTC)")
        ax.grid(True, alpha=0.3)
        if lines == 0:
            ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", fontsize=14, color="gray")
        if lines or result.panel.thresholds:
            ax.legend(fontsize=7, loc="upper left", ncol=2 if lines > 6 else 1)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return Rendered(path, lines, result.panel.thresholds)


def main(argv: list[str] | None = None) -> int:
    """``python -m ops.promql``: list every panel query (dashboard, panel, ref, PromQL)."""
    for t in targets(load_all()):
        print(f"{t.dashboard}\t{t.panel_title}\t{t.ref_id}\t{t.expr}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
