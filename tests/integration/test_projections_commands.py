"""`datemaker projections status|rebuild`: happy paths on PostgreSQL and
one-line errors for what a user can get wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.cli.main import main

from ..support.clock import T0, FakeClock
from ..support.postgres import pg_settings
from ..support.world import profile


@pytest.fixture
def env_for(monkeypatch):
    def use(settings) -> None:
        monkeypatch.setenv("DATEMAKER_STORE", "postgres" if settings.uses_postgres else "sqlite")
        monkeypatch.setenv("POSTGRES_HOST", settings.postgres_host or "127.0.0.1")
        monkeypatch.setenv("POSTGRES_PORT", str(settings.postgres_port))
        monkeypatch.setenv("POSTGRES_DB", settings.postgres_db)
        monkeypatch.setenv("DATEMAKER_POSTGRES_USER", settings.postgres_user)
        monkeypatch.setenv("DATEMAKER_SQLITE_PATH", settings.sqlite_path)

    return use


def run(capsys, *args: str) -> tuple[int, list[str], str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code or 0, out.splitlines(), err


def one_event(settings) -> int:
    app = DatingEvents(env=persistence_env(settings), clock=FakeClock())
    wire_id = app.schedule_event(start=T0 + timedelta(days=2), timezone="Europe/Moscow")
    for uid in (1, 11):
        app.register(wire_id, uid, profile(uid))
    head = app.recorder.max_notification_id()
    app.close()
    return head


@pytest.mark.postgres
def test_status_shows_the_lag_and_rebuild_catches_up(postgres_settings, env_for, capsys):
    env_for(postgres_settings)
    head = one_event(postgres_settings)
    capsys.readouterr()  # its log lines

    code, out, _ = run(capsys, "projections", "status")
    assert code == 0 and out == [f"position 0, head {head}: {head} behind"]

    code, out, _ = run(capsys, "projections", "rebuild", "--chunk", "2")
    assert code == 0 and out == [f"rebuilt the analytics tables from the event log up to notification {head}"]
    code, out, _ = run(capsys, "projections", "status")
    assert out == [f"position {head}, head {head}: up to date"]


def one_line_error(code: int, err: str, expected_code: int, *words: str) -> None:
    assert code == expected_code
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for word in words:
        assert word in err


@pytest.mark.parametrize("command", ["status", "rebuild"])
def test_on_sqlite_each_command_says_it_needs_postgresql(sqlite_settings, env_for, capsys, command):
    env_for(sqlite_settings)
    code, _, err = run(capsys, "projections", command)
    one_line_error(code, err, 2, "needs PostgreSQL")


@pytest.mark.postgres
def test_a_bad_chunk_size_is_one_line_naming_the_option(postgres_settings, env_for, capsys):
    env_for(postgres_settings)
    code, _, err = run(capsys, "projections", "rebuild", "--chunk", "0")
    one_line_error(code, err, 2, "--chunk")


@pytest.mark.postgres
def test_a_database_without_the_tables_is_one_line_pointing_at_db_init(databases, env_for, capsys):
    env_for(pg_settings(databases.empty()))
    code, _, err = run(capsys, "projections", "rebuild")
    one_line_error(code, err, 1, "datemaker db init", "projection_tracking")


def test_an_unreachable_database_is_one_line(env_for, capsys):
    env_for(pg_settings("nowhere", POSTGRES_PORT=1))
    code, _, err = run(capsys, "projections", "status")
    one_line_error(code, err, 1, "cannot reach PostgreSQL")
