"""An event whose step raises (here the pairing raises for one event, as
SciPy did for a recorded infinite rating) is tried again later, ever later;
every other event keeps its schedule and the clock keeps running."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.app.clock.round_clock import RoundClock
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings

from ..support.clock import T0
from ..support.world import profile

START = T0 + timedelta(days=2)
T = Timings()


def test_a_failing_event_is_retried_later_and_the_others_go_on(app, clock, monkeypatch):
    poisoned = app.schedule_event(start=START, timezone="Europe/Moscow")
    healthy = app.schedule_event(start=START, timezone="Europe/Moscow")
    for uid in (1, 2, 11, 12):
        app.register(poisoned, uid, profile(uid))
        app.register(healthy, uid, profile(uid))
    round_clock = RoundClock(app, FakeRooms(), clock=clock)
    clock.now = T.confirmation_opens_at(START)
    round_clock.fire_due()
    for wire_id in (poisoned, healthy):
        for uid in (1, 2, 11, 12):
            app.confirm_registration(wire_id, uid)

    from datemaker.domain import dating_event

    planned = dating_event.DatingEvent.plan_for

    def plan_unless_poisoned(event, *args, **kwargs):
        if event.wire_id == poisoned:
            raise ValueError("array must not contain infs or NaNs")
        return planned(event, *args, **kwargs)

    monkeypatch.setattr(dating_event.DatingEvent, "plan_for", plan_unless_poisoned)
    clock.now = T.confirmation_closes_at(START)
    round_clock.fire_due()  # does not raise
    assert app.get_event(healthy).state is EventState.READY
    assert app.get_event(poisoned).state is EventState.REG_CONFIRM
    assert round_clock.failing.attempts == {poisoned: 1}

    monkeypatch.setattr(dating_event.DatingEvent, "plan_for", planned)  # the fix is deployed
    clock.advance(minutes=15)  # past the first retry
    round_clock.fire_due()
    assert app.get_event(poisoned).state in (EventState.READY, EventState.SKIPPED)
    assert round_clock.failing.attempts == {}


def test_a_failing_step_is_recorded_and_its_deadline_waits_for_the_retry(app, clock, monkeypatch):
    from datemaker.domain import dating_event
    from datemaker.history.describe import described
    from datemaker.history.load import load_history

    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    for uid in (1, 2, 11, 12):
        app.register(wire_id, uid, profile(uid))
    failures: list[str] = []
    round_clock = RoundClock(app, FakeRooms(), clock=clock, on_step_failed=failures.append)
    clock.now = T.confirmation_opens_at(START)
    round_clock.fire_due()
    for uid in (1, 2, 11, 12):
        app.confirm_registration(wire_id, uid)
    planned = dating_event.DatingEvent.plan_for

    def always_fails(event, *args, **kwargs):
        raise FloatingPointError("scoring went wrong")

    monkeypatch.setattr(dating_event.DatingEvent, "plan_for", always_fails)
    clock.now = T.confirmation_closes_at(START)
    round_clock.fire_due()
    assert failures == ["FloatingPointError"]

    failed = app.get_event(wire_id)
    assert failed.step_failure is not None and failed.step_failure["error"] == "FloatingPointError"
    retry_at = failed.retry_not_before
    assert retry_at is not None and retry_at > clock.now
    lines = [line for _, found in described(load_history(app, wire_id).entries, ZoneInfo("UTC")) for line in found]
    assert any("step failed (FloatingPointError)" in line for line in lines)

    # Another instance (or this one restarted) respects the recorded retry.
    monkeypatch.setattr(dating_event.DatingEvent, "plan_for", planned)
    other = RoundClock(app, FakeRooms(), clock=clock)
    clock.now = retry_at - timedelta(milliseconds=10)
    other.fire_due()
    assert app.get_event(wire_id).state is EventState.REG_CONFIRM
    clock.now = retry_at
    other.fire_due()
    recovered = app.get_event(wire_id)
    assert recovered.state in (EventState.READY, EventState.SKIPPED)
    assert recovered.step_failure is None and recovered.retry_not_before is None
    kinds = [type(e).__name__ for e in app.history(wire_id)]
    assert kinds.index("StepFailed") < kinds.index("StepsResumed") < kinds.index("GroupsFormed")
