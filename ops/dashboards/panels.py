"""The panel vocabulary the dashboards are written in: series, stats, state timelines, quantiles.

One place decides how a panel looks (units, thresholds drawn as lines, legends), so the four
dashboards read as lists of questions and queries. Panel ids come from `Layout` in order, so the
generated JSON is stable across runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"


@dataclass
class Query:
    expr: str
    legend: str = ""


@dataclass
class Layout:
    """Hands out panel ids in order so the JSON is stable across runs."""

    next_id: int = 1

    def take(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _targets(panel, queries: list[Query]):
    for ref, query in zip("ABCDEFGH", queries):
        panel = panel.with_target(
            prometheus.Dataquery().expr(query.expr).legend_format(query.legend or "__auto").ref_id(ref).range()
        )
    return panel


def _steps(limits: list[tuple[float, str]]) -> db.ThresholdsConfig:
    steps = [dm.Threshold(value=None, color="green")] + [dm.Threshold(value=v, color=c) for v, c in limits]
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(steps)


def series(
    layout: Layout,
    title: str,
    description: str,
    queries: list[Query],
    *,
    unit: str = "short",
    limits: list[tuple[float, str]] | None = None,
    width: int = 12,
    stack: bool = False,
):
    """A time-series panel; `limits` are drawn as dashed threshold lines."""
    panel = (
        timeseries.Panel()
        .id(layout.take())
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(8)
        .fill_opacity(10 if not stack else 60)
        .line_width(1)
        .legend(
            cb.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.TABLE)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
        .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
    )
    if stack:
        panel = panel.stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL))
    if limits:
        panel = panel.thresholds(_steps(limits)).thresholds_style(
            cb.GraphThresholdsStyleConfig().mode(cm.GraphTresholdsStyleMode.DASHED)
        )
    return _targets(panel, queries)


def single(
    layout: Layout,
    title: str,
    description: str,
    queries: list[Query],
    *,
    unit: str = "short",
    limits: list[tuple[float, str]] | None = None,
    width: int = 6,
    mappings: list | None = None,
):
    """A stat panel (the last value), coloured by `limits`."""
    panel = (
        stat.Panel()
        .id(layout.take())
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(5)
        .graph_mode(cm.BigValueGraphMode.AREA)
        .color_mode(cm.BigValueColorMode.VALUE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    panel = panel.thresholds(_steps(limits or []))
    if mappings:
        panel = panel.mappings(mappings)
    return _targets(panel, queries)


def states(layout: Layout, title: str, description: str, queries: list[Query], mappings: list, *, width: int = 12):
    """A state timeline (breaker state, paused flag)."""
    panel = (
        statetimeline.Panel()
        .id(layout.take())
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(width)
        .height(6)
        .mappings(mappings)
        .show_value(cm.VisibilityMode.AUTO)
    )
    return _targets(panel, queries)


def value_mapping(values: dict[str, tuple[str, str]]) -> dm.ValueMap:
    return dm.ValueMap(
        options={
            k: dm.ValueMappingResult(text=text, color=color, index=i)
            for i, (k, (text, color)) in enumerate(values.items())
        }
    )


def quantile(q: float, metric: str, by: str = "", where: str = "") -> str:
    labels = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) (rate({metric}_bucket{where}[{RATE}])))"


def dashboard(uid: str, title: str, description: str, tags: list[str]) -> db.Dashboard:
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["leadstream", *tags])
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("utc")
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .with_variable(db.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )


def group_variable(name: str, label: str, value: str) -> db.CustomVariable:
    return (
        db.CustomVariable(name)
        .label(label)
        .values(value)
        .current(dm.VariableOption(selected=True, text=value, value=value))
    )
