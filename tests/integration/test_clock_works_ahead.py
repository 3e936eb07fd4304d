"""The round clock works ahead: it leases deadlines a second before they
fall due, keeps events in memory, and works out the pairing before
confirmation closes — and none of that may change what a deadline does."""

from __future__ import annotations

import random
from datetime import date, timedelta

from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.lifecycle import EventState
from datemaker.domain.profile import Profile
from datemaker.domain.timings import Timings
from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.app.clock.round_clock import RoundClock

from ..support.clock import T0

START = T0 + timedelta(days=2)
CLOSES = Timings().confirmation_closes_at(START)


def people(uids):
    return {uid: Profile(sex="M" if uid < 10 else "F", birthday=date(1994, 5, 5), city="Kazan") for uid in uids}


def confirming(app, clock, confirmed, registered):
    # No reminder: its step, due hours before, would be the deadline looked ahead at.
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", users_limit=10,
                                 timings=Timings(confirm_reminder=0))
    for uid, profile in people(registered).items():
        app.register(wire_id, uid, profile)
    app.open_confirmation(wire_id)
    for uid in confirmed:
        app.confirm_registration(wire_id, uid)
    clock.now = CLOSES - timedelta(seconds=0.5)
    return wire_id


def groups_formed(app, wire_id):
    return [e for e in app.history(wire_id) if isinstance(e, DatingEvent.GroupsFormed)]


def seeds(seed):
    rng = random.Random(seed)
    return [rng.randrange(2**63) for _ in range(3)]


def test_a_plan_worked_out_ahead_is_the_one_recorded_when_nothing_changed(app, clock):
    wire_id = confirming(app, clock, confirmed=[1, 2, 11, 12], registered=[1, 2, 11, 12])
    round_clock = RoundClock(app, FakeRooms(seed=1), clock=clock, rng=random.Random(5))
    assert round_clock.look_ahead() == 1
    assert app.get_event(wire_id).state is EventState.REG_CONFIRM  # nothing fired early
    clock.now = CLOSES
    assert round_clock.fire_due() == 1
    [formed] = groups_formed(app, wire_id)
    assert formed.plan["seed"] == seeds(5)[0]  # the seed drawn while looking ahead
    assert app.get_event(wire_id).planned.placed_user_ids == {1, 2, 11, 12}


def test_a_confirmation_after_the_plan_was_worked_out_is_not_lost(app, clock):
    wire_id = confirming(app, clock, confirmed=[1, 2, 11], registered=[1, 2, 11, 12])
    round_clock = RoundClock(app, FakeRooms(seed=1), clock=clock, rng=random.Random(5))
    round_clock.look_ahead()
    app.confirm_registration(wire_id, 12)  # by another instance's bot consumer, say
    clock.now = CLOSES
    round_clock.fire_due()
    [formed] = groups_formed(app, wire_id)
    assert formed.plan["seed"] != seeds(5)[0]  # worked out again, at the deadline
    assert app.get_event(wire_id).planned.placed_user_ids == {1, 2, 11, 12}


def test_an_event_kept_in_memory_is_brought_up_to_date_before_each_step(app, clock):
    wire_id = confirming(app, clock, confirmed=[1, 11], registered=[1, 11])
    round_clock = RoundClock(app, FakeRooms(seed=1), clock=clock)
    clock.now = CLOSES
    round_clock.fire_due()  # READY; the clock keeps the event in memory
    app.change(wire_id, lambda e: e.mark_ready(1, clock.now))
    app.change(wire_id, lambda e: e.mark_ready(11, clock.now))
    clock.now = Timings().round_starts_at(START, 1)
    while (due := app.next_due_at()) is not None and due <= clock.now:
        round_clock.fire_due()
    event = app.get_event(wire_id)
    assert event.state is EventState.RUNNING and event.no_shows == []  # both answers were seen


def test_brought_up_to_date_applies_what_another_writer_saved(app, clock):
    wire_id = confirming(app, clock, confirmed=[1], registered=[1, 11])
    held = app.get_event(wire_id)
    app.confirm_registration(wire_id, 11)
    app.cancel_registration(wire_id, 1)
    app.brought_up_to_date([held])
    assert held == app.get_event(wire_id)
