"""`datemaker events remove`, in-process: someone taken out of an event,
again with nothing changed, and one-line errors for bad arguments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.cli.main import main

from ..support.world import profile


def run(capsys, *args: str) -> tuple[int, list[str], str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code or 0, out.splitlines(), err


def an_event_with(settings, *user_ids: int) -> int:
    app = DatingEvents(env=persistence_env(settings))
    try:
        wire_id = app.schedule_event(start=datetime(2099, 12, 5, 16, 0, tzinfo=UTC), timezone="Europe/Moscow")
        for uid in user_ids:
            app.register(wire_id, uid, profile(uid))
        return wire_id
    finally:
        app.close()


def registered(settings, wire_id: int) -> list[int]:
    app = DatingEvents(env=persistence_env(settings))
    try:
        return app.get_event(wire_id).registered_user_ids
    finally:
        app.close()


def test_remove_takes_someone_out_once_and_again_changes_nothing(store_settings, env_for, capsys):
    wire_id = an_event_with(store_settings, 1, 11, 12)
    env_for(store_settings)
    code, out, _ = run(capsys, "events", "remove", str(wire_id), "11", "--reason", "fake_profile")
    assert code == 0 and out[-1] == f"user 11 taken out of event {wire_id} (NOT_STARTED); registration withdrawn"
    code, out, _ = run(capsys, "events", "remove", str(wire_id), "11", "--reason", "fake_profile")
    assert code == 0 and out[-1] == f"user 11 is out of event {wire_id} already: nothing changed"
    assert registered(store_settings, wire_id) == [1, 12]


def test_remove_of_someone_never_registered_or_an_unknown_event_is_one_line_and_nonzero(sqlite_settings, env_for, capsys):
    wire_id = an_event_with(sqlite_settings, 1)
    env_for(sqlite_settings)
    capsys.readouterr()  # the setup's own log lines
    code, _, err = run(capsys, "events", "remove", str(wire_id), "42", "--reason", "spam")
    assert code == 1 and err.strip() == "datemaker: error: user 42 is not registered"
    code, _, err = run(capsys, "events", "remove", "999", "1", "--reason", "spam")
    assert code == 1 and err.strip() == "datemaker: error: no dating event 999"
    assert registered(sqlite_settings, wire_id) == [1]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["events", "remove", "zero", "1", "--reason", "spam"], "EVENT_ID"),
        (["events", "remove", "1", "0", "--reason", "spam"], "USER_ID"),
        (["events", "remove", "1"], "USER_ID"),
        (["events", "remove", "1", "2"], "--reason"),
        (["events", "remove", "1", "2", "--reason", "two words"], "--reason"),
    ],
)
def test_remove_with_bad_arguments_gives_one_line_naming_the_argument(sqlite_settings, env_for, capsys, args, named):
    env_for(sqlite_settings)
    code, _, err = run(capsys, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and named in err
    assert "Traceback" not in err
