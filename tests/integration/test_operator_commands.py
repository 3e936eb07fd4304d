"""The operator's commands, in-process: happy paths and one-line errors.
The installed command as a process is in tests/e2e/test_installed_command.py."""

from __future__ import annotations

import pytest

from datemaker.cli.main import main


def run(capsys, *args: str) -> tuple[int, list[str], str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code or 0, out.splitlines(), err


def test_create_prints_the_new_id_alone_on_its_last_line(store_settings, env_for, capsys):
    env_for(store_settings)
    code, out, _ = run(capsys, "events", "create", "--start", "2099-12-05T19:00", "--round", "1h30m")
    assert code == 0 and out[-1] == "1"
    code, out, _ = run(capsys, "events", "create", "--start", "2099-12-06T19:00+03:00", "--capacity", "4")
    assert out[-1] == "2"


def test_list_shows_local_start_state_and_counts(store_settings, env_for, capsys):
    env_for(store_settings)
    run(capsys, "events", "create", "--start", "2099-12-05T19:00", "--timezone", "Asia/Tokyo")
    run(capsys, "events", "create", "--start", "2099-12-04T10:00Z", "--timezone", "Europe/Moscow")
    run(capsys, "events", "cancel", "1")
    code, out, _ = run(capsys, "events", "list")
    assert code == 0
    assert len(out) == 2 and out[1].split()[:5] == ["2", "2099-12-04", "13:00", "Europe/Moscow", "NOT_STARTED"]
    code, out, _ = run(capsys, "events", "list", "--all")
    assert [line.split()[0] for line in out[1:]] == ["2", "1"]
    assert out[2].split()[1:5] == ["2099-12-05", "19:00", "Asia/Tokyo", "CANCELLED"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["events", "create", "--start", "tomorrow"], "--start"),
        (["events", "create", "--start", "2099-01-01T10:00", "--round", "5 minutes"], "--round"),
        (["events", "create", "--start", "2099-01-01T10:00", "--timezone", "Mars/Olympus"], "--timezone"),
        (["events", "create", "--start", "2099-01-01T10:00", "--users-limit", "1"], "--users-limit"),
        (["events", "create", "--start", "2001-01-01T10:00"], "--start"),
        (["events", "create"], "--start"),
        (["events", "cancel", "zero"], "EVENT_ID"),
    ],
)
def test_bad_arguments_give_one_line_naming_the_argument(sqlite_settings, env_for, capsys, args, named):
    env_for(sqlite_settings)
    code, out, err = run(capsys, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and named in err
    assert "Traceback" not in err


def test_a_refused_command_is_one_line_and_nonzero(sqlite_settings, env_for, capsys):
    env_for(sqlite_settings)
    code, _, err = run(capsys, "events", "cancel", "5")
    assert code == 1 and err.strip() == "datemaker: error: no dating event 5"


def test_a_wrong_setting_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("RABBITMQ_PORT", "many")
    code, _, err = run(capsys, "events", "list")
    assert code == 2 and "RABBITMQ_PORT" in err and len(err.strip().splitlines()) == 1
