"""The Meet pace: evenly spaced slots under a quota, shared by every
instance through PostgreSQL, on an injected clock (nobody sleeps here)."""

from __future__ import annotations

import threading

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.meet.pace import LocalPace, PostgresPace
from datemaker.app.dating_events import DatingEvents

from ..support.clock import FakeClock


@pytest.fixture
def two_instances(postgres_settings):
    """Two processes' worth of application (each its own connection pool) on one database."""
    clock = FakeClock()
    apps = [DatingEvents(env=persistence_env(postgres_settings), clock=clock) for _ in range(2)]
    paces = [PostgresPace("create", 10, clock, app.recorder.datastore) for app in apps]
    yield clock, paces
    for app in apps:
        app.close()


@pytest.mark.postgres
def test_two_instances_share_one_pace_of_ten_a_minute(two_instances):
    clock, (a, b) = two_instances
    assert [a.take(60), b.take(60), a.take(60), b.take(60)] == [0.0, 6.0, 12.0, 18.0]
    clock.advance(seconds=30)  # the next free slot was 24 s from the start
    assert b.take(60) == 0.0  # the next free slot (24 s) has passed: at once
    assert a.take(60) == pytest.approx(6.0)


@pytest.mark.postgres
def test_a_slot_further_away_than_the_caller_will_wait_is_not_taken(two_instances):
    clock, (a, b) = two_instances
    assert a.take(0) == 0.0
    assert b.take(5.9) is None  # the next slot is 6 s away
    assert b.take(5.9) is None  # and asking did not push it further
    assert a.take(6) == 6.0


@pytest.mark.postgres
def test_instances_asking_at_once_never_get_the_same_slot(two_instances):
    clock, paces = two_instances
    waits: list[float] = []
    lock = threading.Lock()

    def ask(pace):
        for _ in range(10):
            wait = pace.take(3600)
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=ask, args=(pace,)) for pace in paces * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == [6.0 * n for n in range(40)]


def test_a_local_pace_spaces_slots_and_frees_them_as_time_passes():
    clock = FakeClock()
    pace = LocalPace("write", 90, clock)
    assert [pace.take(10) for _ in range(3)] == [0.0, pytest.approx(2 / 3), pytest.approx(4 / 3)]
    assert LocalPace("create", 10, clock).take(0) == 0.0  # each pace is its own
    clock.advance(seconds=10)
    assert pace.take(0) == 0.0
    assert pace.take(0.5) is None
