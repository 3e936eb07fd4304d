"""A PostgreSQL restart is routine maintenance: while the database does not
answer, the round clock waits and tries again; once it is back, the due
deadline fires, once, and the clock is still running. The store's
connections come back as soon as the database does, however long it was away."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.app.clock.round_clock import RoundClock
from datemaker.app.dating_events import DatingEvents
from datemaker.app.ports import StoreUnavailable
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings

from ..support.clock import T0, FakeClock
from ..support.postgres import pg_settings
from ..support.tcp_proxy import CuttableProxy
from ..support.world import profile
from ..support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # waits out real connection timeouts

START = T0 + timedelta(days=2)
WAIT = 15.0


def test_the_clock_waits_out_the_outage_and_fires_the_deadline_once(postgres_settings):
    proxy = CuttableProxy(postgres_settings.postgres_port)
    through_proxy = pg_settings(postgres_settings.postgres_db, POSTGRES_PORT=proxy.port)
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(through_proxy), clock=clock)
    direct = DatingEvents(env=persistence_env(postgres_settings), clock=clock)
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    app.register(wire_id, 1, profile(1))
    round_clock = RoundClock(app, FakeRooms(), clock=clock, lease_seconds=1.0)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(round_clock.run(stop))
        try:
            await asyncio.wait_for(round_clock.ready.wait(), WAIT)
            proxy.cut()
            clock.now = Timings().confirmation_opens_at(START)  # due now, while the database is away
            await until(lambda: round_clock.outages >= 2, "the clock met the outage")
            assert not task.done()
            proxy.restore()
            await until(lambda: direct.get_event(wire_id).state is EventState.REG_CONFIRM, "the deadline fired")
            assert not task.done()
        finally:
            stop.set()
            await asyncio.wait_for(task, WAIT)

    try:
        asyncio.run(scenario())
        kinds = [type(e).__name__ for e in direct.history(wire_id)]
        assert kinds.count("ConfirmationOpened") == 1
    finally:
        app.close()
        direct.close()
        proxy.close()


def test_the_store_answers_again_within_seconds_of_the_databases_return_after_ten_seconds_away(postgres_settings):
    proxy = CuttableProxy(postgres_settings.postgres_port)
    app = DatingEvents(env=persistence_env(pg_settings(postgres_settings.postgres_db, POSTGRES_PORT=proxy.port)))
    try:
        app.store.next_due_at()
        proxy.cut()
        away = time.monotonic()
        while time.monotonic() - away < 10.0:  # asked all along, as the service does
            with pytest.raises(StoreUnavailable):
                app.store.next_due_at()
        proxy.restore()
        back = time.monotonic()
        while True:
            try:
                app.store.next_due_at()
                break
            except StoreUnavailable:
                assert time.monotonic() - back < WAIT
        took = time.monotonic() - back
        assert took < 2.0, f"{took:.1f} s"  # not whenever the pool's backoff next wakes up
    finally:
        app.close()
        proxy.close()
