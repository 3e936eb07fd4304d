"""`datemaker` as the installed command, in a process of its own: a bad
argument exits nonzero with one line and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_installed_command_exits_nonzero_without_a_traceback(tmp_path):
    env = {**os.environ, "DATEMAKER_STORE": "sqlite", "DATEMAKER_SQLITE_PATH": str(tmp_path / "x.sqlite3")}
    result = subprocess.run(
        [sys.executable, "-m", "datemaker", "events", "create", "--start", "2099-01-01", "--break", "-1m"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert result.returncode == 2
    assert "--break" in result.stderr and "Traceback" not in result.stderr
