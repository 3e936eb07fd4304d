"""Fixtures for the tests that talk to the service over RabbitMQ."""

from __future__ import annotations

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.schema import connect
from datemaker.app.dating_events import DatingEvents

from ..conftest import FakeClock
from .bot_harness import broker_settings


def add_users(settings, sexes: dict[int, str]) -> None:
    with connect(settings) as conn:
        conn.cursor().executemany(
            "INSERT INTO public.users (id, username, sex, birthday, city, rating, manual_score)"
            " VALUES (%s, %s, %s, '1995-05-05', 'Moscow', 3.5, 2)",
            [(uid, f"user{uid}", sex) for uid, sex in sexes.items()],
        )


@pytest.fixture
def env(postgres_settings):
    settings = broker_settings(postgres_settings)
    add_users(settings, {uid: "MF"[uid % 2] for uid in range(1, 21)})
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(settings), clock=clock)
    yield settings, app, clock
    app.close()
