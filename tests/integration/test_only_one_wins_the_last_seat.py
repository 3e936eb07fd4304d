"""Twenty people press "register" for the last seat at the same moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.domain.errors import EventFull
from datemaker.domain.profile import Profile

from ..support.retry import FAST_RETRY

pytestmark = pytest.mark.postgres


def test_only_one_of_twenty_concurrent_registrations_wins_the_last_seat(postgres_settings, clock):
    env = {**persistence_env(postgres_settings), "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
    setup = DatingEvents(env=env, clock=clock)
    wire_id = setup.schedule_event(
        start=datetime(2026, 12, 5, 16, 0, tzinfo=UTC), timezone="Europe/Moscow", capacity=3
    )
    setup.register(wire_id, 1, Profile(sex="F"))
    setup.register(wire_id, 2, Profile(sex="M"))

    # One application (own connection pool) per contender, like separate instances.
    contenders = [DatingEvents(env=env, clock=clock, retry=FAST_RETRY) for _ in range(20)]
    barrier = threading.Barrier(len(contenders))
    outcomes: dict[int, str] = {}

    def contend(user_id: int, app: DatingEvents) -> None:
        barrier.wait()
        try:
            app.register(wire_id, user_id, Profile(sex="M"))
            outcomes[user_id] = "won"
        except EventFull:
            outcomes[user_id] = "full"
        except Exception as exc:  # recorded so the assertion shows it
            outcomes[user_id] = repr(exc)

    threads = [
        threading.Thread(target=contend, args=(100 + n, app)) for n, app in enumerate(contenders)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(outcomes.values()) == ["full"] * 19 + ["won"], outcomes
    event = setup.get_event(wire_id)
    assert len(event.registered_user_ids) == 3 == event.capacity
    versions = [e.originator_version for e in setup.history(wire_id)]
    assert versions == list(range(1, len(versions) + 1)) == [1, 2, 3, 4]
    for app in [setup, *contenders]:
        app.close()


def test_concurrent_creations_never_share_a_wire_id(postgres_settings, clock):
    env = {**persistence_env(postgres_settings), "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
    creators = [DatingEvents(env=env, clock=clock, retry=FAST_RETRY) for _ in range(8)]
    barrier = threading.Barrier(len(creators))
    ids: list[int] = []

    def create(app: DatingEvents) -> None:
        barrier.wait()
        ids.append(app.schedule_event(start=datetime(2026, 12, 5, 16, tzinfo=UTC), timezone="UTC"))

    threads = [threading.Thread(target=create, args=(app,)) for app in creators]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(ids) == list(range(1, 9))
    for app in creators:
        app.close()
