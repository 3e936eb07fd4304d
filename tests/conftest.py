"""Shared fixtures. PostgreSQL tests get a database of their own, cloned from
a template that holds schema.sql, and dropped afterwards, so runs never
collide. The clock is always a FakeClock: no test waits on real time."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.schema import apply_schema
from datemaker.app.dating_events import DatingEvents, RetryPolicy
from datemaker.settings import Settings, load_settings

PG_HOST = os.environ.get("POSTGRES_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("POSTGRES_PORT", "5432"))
PG_ADMIN_USER = os.environ.get("DATEMAKER_TEST_POSTGRES_USER", "postgres")

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _admin() -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_ADMIN_USER, dbname="postgres", autocommit=True)


def pg_settings(dbname: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "POSTGRES_HOST": PG_HOST,
        "POSTGRES_PORT": PG_PORT,
        "POSTGRES_DB": dbname,
        "DATEMAKER_POSTGRES_USER": PG_ADMIN_USER,
        "DATEMAKER_POSTGRES_PASSWORD": "",
        "DATEMAKER_STORE": "postgres",
    }
    return load_settings(**{**values, **overrides})


class Databases:
    """Makes throwaway databases; drops them all at the end of the run."""

    def __init__(self) -> None:
        self.run = uuid.uuid4().hex[:8]
        self.made: list[str] = []
        self.template: str | None = None

    def empty(self) -> str:
        name = f"datemaker_test_{self.run}_{len(self.made)}"
        with _admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return name

    def with_schema(self) -> str:
        if self.template is None:
            self.template = self.empty()
            apply_schema(pg_settings(self.template))
        name = f"datemaker_test_{self.run}_{len(self.made)}"
        with _admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.made.append(name)
        return name

    def drop_all(self) -> None:
        with _admin() as conn:
            for name in reversed(self.made):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    dbs = Databases()
    yield dbs
    dbs.drop_all()


@pytest.fixture
def postgres_settings(databases: Databases) -> Settings:
    return pg_settings(databases.with_schema())


@pytest.fixture
def sqlite_settings(tmp_path: object) -> Settings:
    return load_settings(DATEMAKER_STORE="sqlite", DATEMAKER_SQLITE_PATH=str(tmp_path / "events.sqlite3"))  # type: ignore[operator]


FAST_RETRY = RetryPolicy(attempts=50, base_delay=0.001, max_delay=0.02)


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest) -> Settings:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return request.getfixturevalue("postgres_settings")
    return request.getfixturevalue("sqlite_settings")


@pytest.fixture
def app(store_settings: Settings, clock: FakeClock) -> Iterator[DatingEvents]:
    application = DatingEvents(env=persistence_env(store_settings), clock=clock, retry=FAST_RETRY)
    yield application
    application.close()
