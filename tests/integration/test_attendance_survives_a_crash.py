"""Attendance survives a crash: what is left to record is read from the
event's state, so a lost job is done at the event's next deadline (or by the
catch-up, once the event is over), and doing it twice records it once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.domain.lifecycle import EventState
from datemaker.domain.profile import Profile
from datemaker.domain.timings import Timings
from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.domain.rooms import Room
from datemaker.app.clock.room_jobs import Job, Work
from datemaker.app.clock.round_clock import RoundClock

from ..support.clock import T0, FakeClock

START = T0 + timedelta(days=1)
T = Timings()


class Lost:
    """Lanes of an instance that is about to die: jobs go in, never run."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def put(self, job: tuple) -> None:
        self.jobs.append(job)


@pytest.fixture
def running(store_settings):
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(store_settings), clock=clock)
    rooms = FakeRooms(seed=2, attendance=True, clock=clock)
    wire_id = app.schedule_event(start=START, timezone="UTC", ready_check=False)
    for uid in (1, 11):
        app.register(wire_id, uid, Profile(sex="M" if uid < 10 else "F", birthday=date(1995, 1, 1)))
    clock.now = T.confirmation_opens_at(START)
    app.open_confirmation(wire_id)
    for uid in (1, 11):
        app.confirm_registration(wire_id, uid)
    yield app, clock, rooms, wire_id
    app.close()


def run_until(clock, round_clock, app, instant) -> None:
    while (due := app.next_due_at()) is not None and due <= instant:
        clock.now = max(clock.now, due)
        round_clock.fire_due()
    clock.now = max(clock.now, instant)


def names(ids):
    return {1: ["Ivan"], 11: ["Anna"]}


def kinds(app, wire_id) -> list[str]:
    return [type(e).__name__ for e in app.history(wire_id)]


def test_a_round_closed_by_an_instance_that_died_is_recorded_at_the_next_deadline(running):
    app, clock, rooms, wire_id = running
    dying = RoundClock(app, rooms, clock=clock, names=names)
    dying.lanes = lost = Lost()
    run_until(clock, dying, app, T.round_starts_at(START, 1))
    room = Room(**app.get_event(wire_id).room_of(1, 1, 11))
    rooms.join(room, "Ivan", clock.now)
    rooms.join(room, "Anna", clock.now + timedelta(seconds=10))
    run_until(clock, dying, app, T.round_ends_at(START, 1))
    assert lost.jobs == [Job(Work.CLOSE, wire_id, 1)] and rooms.ended == []  # and then it died

    restarted = RoundClock(app, rooms, clock=clock, names=names)
    clock.now = T.ratings_lock_at(START, 1)
    restarted.fire_due()  # the event's next deadline (its finish) picks the work up
    event = app.get_event(wire_id)
    assert event.state is EventState.FINISHED and rooms.ended == [room]
    assert kinds(app, wire_id).count("AttendanceRecorded") == 2  # the round's reading, then the final one
    people = {p["user_id"]: p["status"] for p in event.attendance["1"]["dates"][0]["people"]}
    assert people == {1: "present", 11: "present"} and event.attendance["1"]["final"]

    restarted.run_job(Job(Work.CLOSE, wire_id, 1))  # a stale duplicate: nothing left to do
    restarted.run_job(Job(Work.FINAL, wire_id))
    assert kinds(app, wire_id).count("AttendanceRecorded") == 2


def test_the_final_reading_lost_after_the_finish_is_done_by_the_catch_up(running):
    app, clock, rooms, wire_id = running
    dying = RoundClock(app, rooms, clock=clock, names=names)
    run_until(clock, dying, app, T.round_ends_at(START, 1))  # inline: round 1 closed and recorded
    assert app.get_event(wire_id).attendance["1"]["final"] is False
    dying.lanes = lost = Lost()
    clock.now = T.ratings_lock_at(START, 1)
    dying.fire_due()
    assert app.get_event(wire_id).state is EventState.FINISHED and lost.jobs == [Job(Work.FINAL, wire_id)]
    assert app.next_due_at() is None  # no deadline will ever bring this event back

    restarted = RoundClock(app, rooms, clock=clock, names=names)
    clock.advance(hours=3)
    restarted.catch_up()
    event = app.get_event(wire_id)
    assert event.attendance["1"]["final"] and not event.final_attendance_due()
    restarted.catch_up()
    assert kinds(app, wire_id).count("AttendanceRecorded") == 2
