"""A worker at loglevel WARNING does not turn every logger's DEBUG records on (Faust's spinner would)."""

from __future__ import annotations

import logging

import faust

from leadstream.cli import make_worker


def test_no_spinner_so_debug_records_stay_off():
    app = faust.App("test-worker-logging", broker="kafka://127.0.0.1:1", web_enabled=False)
    root = logging.getLogger("leadstream-test-root")
    root.addHandler(logging.NullHandler())
    root.setLevel(logging.WARNING)
    worker = make_worker(app, "warning")
    worker.on_setup_root_logger(root, logging.WARNING)
    assert worker.spinner is None and root.level == logging.WARNING
