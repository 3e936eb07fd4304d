"""A lost, wrong or unreadable master key stops `datemaker serve` and the CLI
at start with one line and exit code 2, never a traceback, and before serve
forks a follower. The embedded store makes its key file on first use (mode
0600, the log says where), uses it again, and once the file is gone says so
rather than make a new key that opens nothing."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents

from ..support.service_process import serve

OTHER_KEY = base64.b64encode(b"another master key, of 32 bytes!").decode()
CASES = {
    "another key": ({"DATEMAKER_MASTER_KEY": OTHER_KEY},
                    "the master key from DATEMAKER_MASTER_KEY is not the one this store's personal data was sealed with"),
    "no key": ({"DATEMAKER_MASTER_KEY": ""}, "no master key: set DATEMAKER_MASTER_KEY or DATEMAKER_MASTER_KEY_FILE"),
    "not base64": ({"DATEMAKER_MASTER_KEY": "not base64!"}, "DATEMAKER_MASTER_KEY is not base64 text"),
    "16 bytes": ({"DATEMAKER_MASTER_KEY": base64.b64encode(b"only sixteen b!!").decode()},
                 "DATEMAKER_MASTER_KEY holds 16 bytes; a master key is 32"),
    "missing file": ({"DATEMAKER_MASTER_KEY": "", "DATEMAKER_MASTER_KEY_FILE": "/nonexistent/master.key"},
                     "DATEMAKER_MASTER_KEY_FILE: the master key file /nonexistent/master.key does not exist"),
}


@pytest.fixture
def sealed_store(postgres_settings):
    """A store whose keys were made with the tests' own master key."""
    DatingEvents(env=persistence_env(postgres_settings)).close()
    return postgres_settings


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.mark.parametrize("case", CASES)
def test_serve_stops_with_one_line(sealed_store, case):
    env, said = CASES[case]
    service = serve(sealed_store, **env)
    _, stderr = service.communicate(timeout=60)
    text = stderr.decode()
    assert service.returncode == 2, text
    lines = error_lines(text)  # (a follower forked first would have met the key too: a second line)
    assert len(lines) == 1 and lines[0].startswith(f"datemaker: error: {said}"), text
    assert "Traceback" not in text


@pytest.mark.parametrize("case", ["another key", "no key", "missing file"])
def test_the_cli_stops_with_one_line(sealed_store, case):
    env, said = CASES[case]
    child = {**os.environ, "DATEMAKER_STORE": "postgres", "POSTGRES_HOST": sealed_store.postgres_host or "127.0.0.1",
             "POSTGRES_PORT": str(sealed_store.postgres_port), "POSTGRES_DB": sealed_store.postgres_db,
             "DATEMAKER_POSTGRES_USER": sealed_store.postgres_user, **env}
    result = datemaker(child, "events", "list")
    assert result.returncode == 2 and len(error_lines(result.stderr)) == 1, result.stderr
    assert result.stderr.startswith(f"datemaker: error: {said}") and "Traceback" not in result.stderr


def datemaker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "datemaker", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_the_embedded_store_makes_its_key_file_once_and_never_a_second(tmp_path):
    db = tmp_path / "events.sqlite3"
    key_file = tmp_path / "events.master-key"
    env = {**os.environ, "DATEMAKER_STORE": "sqlite", "DATEMAKER_SQLITE_PATH": str(db), "DATEMAKER_MASTER_KEY": ""}
    env.pop("DATEMAKER_MASTER_KEY_FILE", None)

    first = datemaker(env, "events", "create", "--start", "2099-01-01T12:00:00+00:00", "--timezone", "UTC")
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "made a new master key" in first.stderr and str(key_file) in first.stderr
    key = key_file.read_text()
    assert key.strip() not in first.stderr + first.stdout  # the key itself is never printed

    again = datemaker(env, "events", "list")
    assert again.returncode == 0 and "made a new master key" not in again.stderr, again.stderr
    assert key_file.read_text() == key

    key_file.unlink()
    lost = datemaker(env, "events", "list")
    assert lost.returncode == 2 and len(error_lines(lost.stderr)) == 1, lost.stderr
    assert lost.stderr.startswith(f"datemaker: error: the master key file {key_file} is missing, and this store's"
                                  " personal data was sealed with master key")
    assert not key_file.exists()  # no new key that opens nothing

    key_file.write_text(key)  # restored from its copy: all is well again
    assert datemaker(env, "events", "list").returncode == 0
