"""A page as headless Chromium renders it (the DOM after parsing), for the
tests of the moderator's pages; skipped where Chromium is not installed
(.ci/run installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def rendered_dom(page: Path, profile_dir: Path) -> str:
    chromium = shutil.which("chromium")
    if chromium is None:  # .ci/run installs it; only an impossible install gets here
        pytest.skip("chromium is not installed (apt-get install chromium)")
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile_dir}",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
