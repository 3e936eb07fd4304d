"""A clock leases the deadlines it is about to fire for
DATEMAKER_CLOCK_LEASE_SECONDS (30 s), so that two instances never do the same
work. When the instance holding them dies, the one that takes over (or the
same service, restarted) fires them at once instead of sitting the lease out
while rounds are due: a lease whose holder is gone is free. The lease time
is on the injected clock, which here does not move past the deadlines."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.app.clock.round_clock import RoundClock
from datemaker.app.dating_events import DatingEvents
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings

from ..support.clock import T0, FakeClock
from ..support.world import profile

START = T0 + timedelta(days=2)
OPENS = Timings().confirmation_opens_at(START)


def fired_within(round_clock: RoundClock, seconds: float) -> int:
    """Fire what is due until something is (the server ends a closed session's
    locks a moment after the client has gone), for at most `seconds` of real
    time; the injected clock does not move meanwhile."""
    deadline = time.monotonic() + seconds
    while not (fired := round_clock.fire_due()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return fired


def an_event_about_to_open_confirmation(app: DatingEvents, clock: FakeClock) -> int:
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    app.register(wire_id, 1, profile(1))
    clock.now = OPENS - timedelta(seconds=0.5)
    return wire_id


def test_a_restarted_service_fires_its_dead_predecessors_leased_deadline_at_once(store_settings):
    clock = FakeClock()
    crashed = DatingEvents(env=persistence_env(store_settings), clock=clock)
    wire_id = an_event_about_to_open_confirmation(crashed, clock)
    # Leased ahead (the clock works a second ahead) and never fired: then it died.
    assert RoundClock(crashed, FakeRooms(), clock=clock, lease_seconds=30.0).look_ahead() == 1
    crashed.close()

    restarted = DatingEvents(env=persistence_env(store_settings), clock=clock)
    try:
        clock.now = OPENS + timedelta(seconds=1)  # due, and 29 s of the dead one's lease to go
        assert fired_within(RoundClock(restarted, FakeRooms(), clock=clock, lease_seconds=30.0), 2.0) == 1
        assert restarted.get_event(wire_id).state is EventState.REG_CONFIRM
    finally:
        restarted.close()


def test_another_instance_takes_a_crashed_ones_deadlines_but_never_a_live_ones(postgres_settings):
    clock = FakeClock()
    first = DatingEvents(env=persistence_env(postgres_settings), clock=clock)
    second = DatingEvents(env=persistence_env(postgres_settings), clock=clock)
    try:
        wire_id = an_event_about_to_open_confirmation(first, clock)
        assert RoundClock(first, FakeRooms(), clock=clock).look_ahead() == 1
        clock.now = OPENS + timedelta(seconds=1)
        other = RoundClock(second, FakeRooms(), clock=clock)
        assert other.fire_due() == 0  # the first one lives: its lease holds
        first.close()  # and now it is gone (its session, and the lock that says it lives, with it)
        assert fired_within(other, 2.0) == 1
        assert second.get_event(wire_id).state is EventState.REG_CONFIRM
        kinds = [type(e).__name__ for e in second.history(wire_id)]
        assert kinds.count("ConfirmationOpened") == 1
    finally:
        first.close()
        second.close()
