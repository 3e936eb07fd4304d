"""One body of application tests, run on embedded SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import EventFull, UnknownEvent
from datemaker.domain.lifecycle import EventState
from datemaker.domain.profile import Profile

START = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
ANNA = Profile(sex="F", birthday=date(1995, 4, 2), city="Moscow", rating=4.5, manual_score=3)
BORIS = Profile(sex="M", birthday=date(1993, 1, 9), city="Kazan", rating=3.0, manual_score=1)


def schedule(app: DatingEvents, start: datetime = START, **kwargs) -> int:
    return app.schedule_event(start=start, timezone="Europe/Moscow", **kwargs)


def test_wire_ids_are_allocated_one_after_another(app):
    assert [schedule(app), schedule(app), schedule(app)] == [1, 2, 3]


def test_an_unknown_event_is_a_typed_error(app):
    with pytest.raises(UnknownEvent):
        app.get_event(99)
    with pytest.raises(UnknownEvent):
        app.register(99, 1, ANNA)


def test_a_registration_survives_reopening_the_store(app, store_settings, clock):
    wire_id = schedule(app)
    app.register(wire_id, 1, ANNA)
    reopened = DatingEvents(env=persistence_env(store_settings), clock=clock)
    try:
        event = reopened.get_event(wire_id)
        assert event.registered_user_ids == [1]
        assert event.profile_of(1) == ANNA
    finally:
        reopened.close()


def test_state_at_an_earlier_version_and_the_timestamped_history(app, clock):
    wire_id = schedule(app)
    app.register(wire_id, 1, ANNA)
    clock.advance(minutes=5)
    app.register(wire_id, 2, BORIS)
    app.open_confirmation(wire_id)
    app.confirm_registration(wire_id, 2)

    assert app.get_event(wire_id, version=2).registered_user_ids == [1]
    history = app.history(wire_id)
    assert [type(e).__name__ for e in history] == [
        "Scheduled", "Registered", "Registered", "ConfirmationOpened", "RegistrationConfirmed",
    ]
    assert history[2].at == clock.now - timedelta(minutes=5) + timedelta(minutes=5)
    assert history[1].at < history[2].at
    assert all(e.timestamp is not None for e in history)


def test_a_refused_command_saves_nothing(app):
    wire_id = schedule(app, capacity=1)
    app.register(wire_id, 1, ANNA)
    with pytest.raises(EventFull):
        app.register(wire_id, 2, BORIS)
    assert app.get_event(wire_id).version == 2


def test_listing_shows_live_events_soonest_first(app):
    later = schedule(app, START + timedelta(days=2))
    sooner = schedule(app, START)
    over = schedule(app, START + timedelta(days=1))
    app.cancel_event(over)
    assert [e.wire_id for e in app.list_events()] == [sooner, later]
    assert [e.wire_id for e in app.list_events(include_over=True)] == [sooner, over, later]
    assert app.get_event(over).state is EventState.CANCELLED


def test_snapshots_let_a_long_history_load_to_the_same_state(app, monkeypatch):
    monkeypatch.setitem(type(app).snapshotting_intervals, DatingEvent, 25)
    wire_id = schedule(app)
    for user_id in range(1, 61):
        app.register(wire_id, user_id, BORIS if user_id % 2 else ANNA)
    for user_id in range(1, 61, 3):
        app.cancel_registration(wire_id, user_id)
    event = app.get_event(wire_id)
    assert event.version == 81
    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(event.id)] == [25, 50, 75]
    assert len(event.registered_user_ids) == 40
    replayed = None
    for recorded in app.history(wire_id):
        replayed = recorded.mutate(replayed)
    assert replayed.__dict__ == event.__dict__  # the snapshot path equals the full replay
