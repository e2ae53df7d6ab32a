"""``python -m ops.dashboards``: write the dashboard JSON (same as ``python -m ops.generate``)."""

from ops.generate import main

raise SystemExit(main())
