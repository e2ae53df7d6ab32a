"""The panel runner and PNG renderer, on canned query_range responses (no network)."""

from __future__ import annotations

import struct

import pytest

from ops import promql
from ops import thresholds as th

START, END, STEP = 1_700_000_000.0, 1_700_000_600.0, 15.0


def matrix(*series: tuple[dict, list[float]]) -> dict:
    """A query_range response: each series' values at START, START+STEP, ..."""
    return {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": labels, "values": [[START + i * STEP, str(v)] for i, v in enumerate(values)]}
                for labels, values in series
            ],
        },
    }


class Canned:
    """A fetch that answers from a table of expanded queries and records what it was asked."""

    def __init__(self, answers: dict[str, dict] | None = None, default: dict | None = None):
        self.answers, self.default, self.asked = answers or {}, default, []

    def __call__(self, expr, start, end, step):
        self.asked.append((expr, start, end, step))
        if expr in self.answers:
            return self.answers[expr]
        if self.default is not None:
            return self.default
        return matrix()


def lag_dashboard() -> dict:
    return next(d for d in promql.load_all() if d["uid"] == "leadstream-kafka-lag")


def test_expand_builtins_like_grafana():
    assert promql.expand("rate(x[$__rate_interval])", step_s=15, range_s=3600) == "rate(x[60s])"
    assert promql.expand("rate(x[$__rate_interval])", step_s=60, range_s=3600) == "rate(x[75s])"
    assert promql.expand("increase(x[$__range]) $__interval", step_s=30, range_s=600) == "increase(x[600s]) 30s"
    assert (
        promql.expand('x{g="${g}", h="$h", i="[[i]]"}', step_s=15, range_s=60, variables={"g": "a", "h": "b", "i": "c"})
        == 'x{g="a", h="b", i="c"}'
    )
    with pytest.raises(KeyError, match=r"\$nope"):
        promql.expand('x{g="$nope"}', step_s=15, range_s=60)


def test_dashboard_variables_take_current_or_all_value():
    dashboard = {
        "templating": {
            "list": [
                {"type": "datasource", "name": "datasource", "query": "prometheus"},
                {"type": "custom", "name": "g", "current": {"value": "leadstream"}},
                {
                    "type": "query",
                    "name": "t",
                    "includeAll": True,
                    "allValue": "leads\\..*",
                    "current": {"value": "$__all"},
                },
                {"type": "query", "name": "m", "includeAll": True, "current": {}},
                {"type": "custom", "name": "multi", "current": {"value": ["a", "b"]}},
            ]
        }
    }
    assert promql.dashboard_variables(dashboard) == {"g": "leadstream", "t": "leads\\..*", "m": ".*", "multi": "a|b"}


def test_targets_lists_every_panel_query_of_every_dashboard():
    targets = promql.targets(promql.load_all())
    assert {t.dashboard for t in targets} == {
        "leadstream-pipeline",
        "leadstream-kafka-lag",
        "leadstream-providers",
        "leadstream-email",
    }
    assert all(t.expr and t.ref_id for t in targets)
    main_lag = [t for t in targets if t.panel_title.startswith("Main group: lag per replica")]
    assert [t.ref_id for t in main_lag] == ["A"]
    assert main_lag[0].thresholds == (th.MAIN_LAG_THRESHOLD,)


def test_run_panels_asks_every_query_with_variables_expanded_and_reports_data():
    fetch = Canned(default=matrix(({"group": "leadstream"}, [1, 2, 3])))
    results = promql.run_panels(fetch, [lag_dashboard()], START, END, STEP)
    assert results and all(r.has_data for r in results)
    assert len(fetch.asked) == sum(len(r.results) for r in results)
    asked = [q for q, *_ in fetch.asked]
    assert all("$" not in q for q in asked)
    assert any(f'group="{th.MOCKUP_GROUP}"' in q for q in asked)
    assert all((s, e, st) == (START, END, STEP) for _, s, e, st in fetch.asked)


def test_run_panels_reports_empty_and_failed_queries_per_panel():
    lag = lag_dashboard()
    by_title = {p.title: p for p in promql.panels(lag)}
    main = by_title[next(t for t in by_title if t.startswith("Main group"))]
    first = promql.expand(
        main.targets[0].expr, step_s=STEP, range_s=END - START, variables=promql.dashboard_variables(lag)
    )
    fetch = Canned(answers={first: {"status": "error", "errorType": "bad_data", "error": "parse error"}})
    results = {
        r.panel.title: r for r in promql.run_panels(fetch, [lag], START, END, STEP, variables={"main_group": "other"})
    }
    assert not any(r.has_data for r in results.values())  # every query came back empty
    main_result = results[main.title]
    # the override changed the query, so the canned error was not hit; the query ran and was empty
    assert all(r.error is None and r.series == [] for r in main_result.results)
    assert 'group="other"' in main_result.results[0].query

    fetch = Canned(answers={first: {"status": "error", "errorType": "bad_data", "error": "parse error"}})
    main_result = next(r for r in promql.run_panels(fetch, [lag], START, END, STEP) if r.panel.title == main.title)
    assert main_result.results[0].error == "ValueError: bad_data: parse error"
    assert "parse error" in main_result.describe()


def test_parse_matrix_rejects_other_result_types():
    with pytest.raises(ValueError, match="expected a matrix"):
        promql.parse_matrix({"status": "success", "data": {"resultType": "vector", "result": []}})
    series = promql.parse_matrix(matrix(({"a": "1"}, [1, "NaN"])))
    assert series[0].labels == {"a": "1"} and series[0].points[0] == (START, 1.0)


def test_legend_format():
    assert (
        promql.legend("{{group}} {{ topic }}/{{partition}}", {"group": "g", "topic": "t", "partition": "3"}) == "g t/3"
    )
    assert promql.legend("__auto", {"__name__": "x", "b": "2", "a": "1"}) == '{a="1", b="2"}'
    assert promql.legend("", {}) == "value"


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_render_png_draws_series_and_threshold_lines(tmp_path):
    lag = lag_dashboard()
    fetch = Canned(default=matrix(({}, [100, 400, 900, 1200, float("nan"), 700])))
    result = next(
        r for r in promql.run_panels(fetch, [lag], START, END, STEP) if r.panel.title.startswith("Mockup group")
    )
    rendered = promql.render_png(result, tmp_path / "lag.png")
    assert rendered.lines == 1  # lag per replica
    assert rendered.thresholds == (th.MOCKUP_LAG_THRESHOLD,)
    assert _png_size(rendered.path) == (1000, 400)


def test_render_png_of_an_empty_panel_says_no_data(tmp_path):
    pipeline = next(d for d in promql.load_all() if d["uid"] == "leadstream-pipeline")
    result = next(
        r
        for r in promql.run_panels(Canned(), [pipeline], START, END, STEP)
        if r.panel.title.startswith("End-to-end latency")
    )
    rendered = promql.render_png(result, tmp_path / "sub" / "e2e.png")
    assert rendered.lines == 0 and rendered.thresholds == (th.E2E_P95_TARGET_S,)
    assert _png_size(rendered.path) == (1000, 400)


def test_module_lists_queries(capsys):
    assert promql.main([]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(promql.targets(promql.load_all()))
    assert all(len(line.split("\t")) == 4 for line in lines)
