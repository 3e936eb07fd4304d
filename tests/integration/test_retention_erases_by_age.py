"""Retention (DATEMAKER_PERSONAL_DATA_DAYS): who is past the limit, erased
by the job and by `users retention`; and `users erase` from the command line,
with its one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.app.retention import Retention
from datemaker.cli.main import main
from datemaker.runtime.privacy import erasure, privacy_job

from ..support.clock import T0, FakeClock
from ..support.erasing import profile_of, run_event
from ..support.retry import FAST_RETRY
from ..support.world import World

OLD, STILL_COMING, RECENT = 21, 22, 23


def event_of(app, people, *, cancel=True, days=2):
    wire_id = app.schedule_event(start=app.clock.now + timedelta(days=days), timezone="Europe/Moscow")
    for uid in people:
        app.register(wire_id, uid, profile_of(uid))
    if cancel:
        app.cancel_event(wire_id)  # over, now
    return wire_id


def three_people(app):
    """OLD's only event was over 34 days ago; STILL_COMING was there too and
    has one to come; RECENT's was over 10 days ago."""
    first = event_of(app, [OLD, STILL_COMING])
    event_of(app, [STILL_COMING], cancel=False, days=60)
    app.clock.advance(days=24)
    event_of(app, [RECENT])
    app.clock.advance(days=10)
    return first


def test_retention_lists_and_erases_exactly_those_past_the_limit(app):
    first = three_people(app)
    retention = Retention(erasure(app), 30)
    due = retention.due()
    assert [(d.user_id, d.last_event) for d in due] == [(OLD, first)]
    assert due[0].over_at == app.clock.now - timedelta(days=34)

    assert privacy_job(app, 30).step() == 1
    assert app.get_event(first).registrations[str(OLD)]["profile"]["erased"] is True
    assert app.get_event(first).registrations[str(STILL_COMING)]["profile"].get("erased") is None
    assert retention.due() == [] and privacy_job(app, 30).step() == 0  # once
    again = retention.run()
    assert again.people == [] and again.rooms == []


def test_retention_destroys_the_room_keys_of_events_over_that_long(app):
    world = World(app, app.clock)
    wire_id = run_event(world, T0 + timedelta(days=2))
    app.clock.advance(days=31)
    event_of(app, [1, 2, 3, 11, 12, 13], cancel=False)  # all of them have an event to come: none is due
    done = Retention(erasure(app), 30).run()
    assert done.people == [] and done.rooms == [wire_id]
    others = [o for d in app.get_event(wire_id).attendance["1"]["dates"] for o in d["others"]]
    assert others and all(o["display_name"] is None for o in others if o["user_id"] is None)
    assert all(o["display_name"] for o in others if o["user_id"] is not None)  # known people's: their own keys


def run(capsys, *args):
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code or 0, out, err


def test_the_commands_erase_and_list_with_one_line_errors(store_settings, env_for, monkeypatch, capsys):
    # The command runs on the real clock: the events were over a hundred days before it.
    clock = FakeClock(datetime.now(UTC) - timedelta(days=100))
    app = DatingEvents(env=persistence_env(store_settings), clock=clock, retry=FAST_RETRY)
    try:
        first = three_people(app)
    finally:
        app.close()
    env_for(store_settings)
    monkeypatch.setenv("DATEMAKER_PERSONAL_DATA_DAYS", "60")

    code, out, err = run(capsys, "users", "retention", "--dry-run", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed["format"] == "datemaker.retention/1" and listed["days"] == 60
    assert [(p["user_id"], p["last_event"]) for p in listed["people"]] == [(OLD, first), (RECENT, first + 2)]
    code, out, _ = run(capsys, "users", "retention", "--dry-run")
    assert code == 0 and f"user {OLD}: last event {first}" in out and "2 person(s)" in out

    code, out, err = run(capsys, "users", "erase", str(OLD), "--request-ref", "ticket-42", "--by", "anna")
    assert code == 0, err
    assert f"user {OLD} erased" in out and "ticket-42" in out
    code, out, _ = run(capsys, "users", "erase", str(OLD), "--request-ref", "ticket-42", "--by", "anna")
    assert code == 0 and "carried out already" in out

    code, out, err = run(capsys, "users", "erase", "999", "--request-ref", "ticket-1", "--by", "anna")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "user 999 was never seen by datemaker" in err
    code, out, err = run(capsys, "users", "erase", str(RECENT), "--request-ref", "two words", "--by", "anna")
    assert code == 2 and err.count("\n") == 1 and "is not one word" in err

    code, out, err = run(capsys, "users", "retention")
    assert code == 0, err
    assert f"user {RECENT} erased" in out and "1 person(s) erased" in out  # OLD was erased by hand
    code, out, _ = run(capsys, "users", "retention", "--dry-run")
    assert "0 person(s)" in out

    monkeypatch.setenv("DATEMAKER_PERSONAL_DATA_DAYS", "0")
    code, out, err = run(capsys, "users", "retention", "--dry-run")
    assert code == 2 and err.count("\n") == 1 and "retention is off" in err
