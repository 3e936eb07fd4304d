"""An unexpected error in one pass of the round clock (a bug in claiming, in
the attendance catch-up, anywhere outside one event's step) is logged and the
pass tried again; the clock keeps running and the due deadline still fires."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.app.clock.round_clock import RoundClock
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings

from ..support.clock import T0
from ..support.world import profile
from ..support.waiting import until

START = T0 + timedelta(days=2)
WAIT = 15.0


def test_a_pass_that_raises_is_tried_again_and_the_deadline_fires(app, clock):
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    app.register(wire_id, 1, profile(1))
    round_clock = RoundClock(app, FakeRooms(), clock=clock)
    claim = round_clock._claim
    failures = []

    def claim_failing_twice(ahead: float) -> int:
        if len(failures) < 2:
            failures.append(ahead)
            raise KeyError("a bug in one pass")
        return claim(ahead)

    round_clock._claim = claim_failing_twice  # type: ignore[method-assign]

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(round_clock.run(stop))
        try:
            await asyncio.wait_for(round_clock.ready.wait(), WAIT)
            clock.now = Timings().confirmation_opens_at(START)
            await until(lambda: app.get_event(wire_id).state is EventState.REG_CONFIRM, "the deadline fired")
            assert len(failures) == 2 and round_clock.pass_failures == 2
            assert not task.done()
        finally:
            stop.set()
            await asyncio.wait_for(task, WAIT)

    asyncio.run(scenario())
