"""Operations artifacts: dashboards, alert rules, manifest checks (issue #12).

Nothing here runs inside a worker. ``python -m ops.generate`` rewrites every
generated file (dashboard JSON, the PrometheusRule); ``tests/ops`` checks that
the committed copies equal a fresh generation and that the tools accept them.
"""
