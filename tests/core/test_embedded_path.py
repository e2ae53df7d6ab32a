"""The embedded PostgreSQL, started as root, runs plain `useradd`: a PATH without /usr/sbin (env -i, cron,
a minimal CI runner) made the demo fail on a fresh machine. `admin_tools_on_path` puts sbin back."""

from __future__ import annotations

import shutil

import pytest

from leadstream.embedded import admin_tools_on_path

HAS_USERADD = shutil.which("useradd", path="/usr/local/sbin:/usr/sbin:/sbin") is not None


@pytest.mark.skipif(not HAS_USERADD, reason="this machine has no useradd in sbin")
def test_a_path_without_sbin_gets_it_and_finds_useradd():
    environ = {"PATH": "/usr/bin:/bin"}
    assert shutil.which("useradd", path=environ["PATH"]) is None  # the failing case, as it was
    admin_tools_on_path(environ)
    assert environ["PATH"].startswith("/usr/bin:/bin:")  # the caller's order first
    assert shutil.which("useradd", path=environ["PATH"]) is not None


def test_a_path_that_finds_useradd_is_left_alone(tmp_path):
    tool = tmp_path / "useradd"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    environ = {"PATH": f"{tmp_path}:/usr/bin"}
    admin_tools_on_path(environ)
    assert environ["PATH"] == f"{tmp_path}:/usr/bin"
