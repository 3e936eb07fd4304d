"""Rooms that take time (the real quota: a handful a minute). The clock's
deadlines never wait for them: room jobs run apart, an event waiting only
for rooms is not re-saved in a loop, its own steps still fire on time, and a
pair whose room was not made by its round's start is told it rests, with
no link. Jobs are held here and run by hand, as the worker lanes would."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.meet.factory import build_rooms
from datemaker.app.dating_events import DatingEvents
from datemaker.domain.lifecycle import EventState
from datemaker.domain.profile import Profile
from datemaker.domain.timings import Timings
from datemaker.app.outbox import OutboxRelay
from datemaker.app.clock.room_jobs import Job, Work
from datemaker.app.clock.round_clock import RoundClock

from ..support.clock import T0, FakeClock
from ..support.fake_meet_server import FakeMeetServer

# Confirmation closes 60 s before the start, rules 20 s later, round 1 at the start.
TIMINGS = Timings(confirm_before=3600, confirm_deadline=60, rules_before=40, ready_grace=0, round_length=300, break_length=60)
START = T0 + timedelta(days=1)


class HeldJobs:
    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def put(self, job: tuple) -> None:
        self.jobs.append(job)


@pytest.fixture
def slow(store_settings):
    clock = FakeClock()
    with FakeMeetServer(clock=clock) as server:
        settings = store_settings.model_copy(update={
            "meet_backend": "google", "meet_api_endpoint": server.endpoint, "meet_create_per_minute": 1.0,
        })
        app = DatingEvents(env=persistence_env(settings), clock=clock)
        rooms = build_rooms(settings, app, sleep=lambda seconds: None)
        yield app, clock, server, rooms
        app.close()


def an_event(app, clock, people=(1, 2, 3, 11, 12, 13)) -> int:
    wire_id = app.schedule_event(start=START, timezone="UTC", timings=TIMINGS, ready_check=False, users_limit=10)
    for uid in people:
        app.register(wire_id, uid, Profile(sex="M" if uid < 10 else "F", birthday=date(1995, 1, 1)))
    clock.now = TIMINGS.confirmation_opens_at(START)
    app.open_confirmation(wire_id)
    for uid in people:
        app.confirm_registration(wire_id, uid)
    return wire_id


def test_rooms_made_slowly_never_hold_up_a_deadline(slow):
    app, clock, server, rooms = slow
    wire_id = an_event(app, clock)
    round_clock = RoundClock(app, rooms, clock=clock, names=lambda ids: {})
    held = round_clock.lanes = HeldJobs()

    clock.now = TIMINGS.confirmation_closes_at(START)
    assert round_clock.fire_due() == 1  # groups formed; making rooms is handed off
    assert held.jobs == [Job(Work.RESERVE, wire_id)]
    versions = app.get_event(wire_id).version
    assert round_clock.fire_due() == 1  # claimed again: nothing to do, nothing saved
    assert round_clock.fire_due() == 0  # and now held by its lease: no spinning
    assert app.get_event(wire_id).version == versions and held.jobs == [Job(Work.RESERVE, wire_id)]

    round_clock.run_job(held.jobs.pop())  # one create now, the next slot is a minute away
    assert len(server.created) == 1 and round_clock.fire_due() == 1
    round_clock.run_job(held.jobs.pop())  # no slot within its budget: nothing made, nothing saved
    assert len(server.created) == 1 and round_clock.fire_due() == 0

    clock.now = TIMINGS.rules_at(START)  # still inside the lease: the watch fires the event's own step
    round_clock.fire_due()
    event = app.get_event(wire_id)
    assert event.rules_announced and event.state is EventState.READY
    (rules,) = [e for e in app.history(wire_id) if type(e).__name__ == "RulesAnnounced"]
    assert rules.at == TIMINGS.rules_at(START)  # on time, though rooms are still missing
    assert held.jobs == [Job(Work.RESERVE, wire_id)]

    clock.now = START  # a minute on: one more room before the start
    round_clock.run_job(held.jobs.pop())
    assert len(server.created) == 2
    round_clock.fire_due()
    event = app.get_event(wire_id)
    assert event.state is EventState.RUNNING and event.round_no == 1
    pairs = sorted(event.planned.pairs_in_round(1), key=lambda p: (p.a, p.b))
    assert len(pairs) == 3 and [event.room_of(1, p.a, p.b) is not None for p in pairs] == [True, True, False]

    inbox: dict[int, list[str]] = defaultdict(list)
    for m in OutboxRelay(app, publish=None).read(0)[1]:  # type: ignore[arg-type]
        inbox[m.user_id].append(m.command)
    roomless = pairs[2]
    for uid in roomless.user_ids:
        assert inbox[uid][-1] == "send_break_message" and "invite_to_meeting" not in inbox[uid]
    for uid in pairs[0].user_ids:
        assert inbox[uid][-2:] == ["invite_to_meeting", "send_partner_profile"]
    assert event.rooms_needed() == {2: 3, 3: 3}  # later rounds: still being made
    assert held.jobs == [Job(Work.RESERVE, wire_id)]


def test_the_service_loop_makes_rooms_and_closes_rounds_on_its_worker_threads(slow):
    app, clock, server, rooms = slow
    rooms.accounts.all[0].caller.paces["create"].first.interval = timedelta(seconds=0.001)  # quick, for this one
    wire_id = an_event(app, clock, people=(1, 11))
    clock.now = TIMINGS.confirmation_closes_at(START)
    round_clock = RoundClock(app, rooms, clock=clock, names=lambda ids: {}, tick_seconds=0.01)

    async def until(condition, what: str) -> None:
        for _ in range(1000):  # bounded: ten seconds at most
            if await asyncio.to_thread(condition):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}")

    async def main() -> None:
        stop = asyncio.Event()
        service = asyncio.create_task(round_clock.run(stop))
        await until(lambda: app.get_event(wire_id).room_pool.get("1"), "rooms")
        clock.now = TIMINGS.round_ends_at(START, 1)
        await until(lambda: "1" in app.get_event(wire_id).attendance, "round 1's attendance")
        stop.set()
        await asyncio.wait_for(service, 10)

    asyncio.run(main())
    event = app.get_event(wire_id)
    assert event.phase == "final" and server.end_calls == server.created
    assert round_clock.lanes is None  # the worker threads were stopped
