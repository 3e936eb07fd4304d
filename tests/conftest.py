"""Shared fixtures, and the markers every test gets.

Layout: tests/unit (pure: no database server, no broker; the few tests
that start a Python interpreter or promtool are marked ``subprocess``),
tests/integration (PostgreSQL, RabbitMQ or SQLite, in-process), tests/e2e
(`datemaker serve` or the CLI in a subprocess), tests/support (harnesses,
fakes and clocks; no tests).

Markers (pyproject declares them; --strict-markers is on):

- ``postgres``: needs the PostgreSQL server. Set here for every test that
  uses the ``postgres_settings`` or ``databases`` fixture (directly or through
  another fixture, e.g. ``env``) and for the ``postgres`` case of the
  ``store_settings`` parameter (so also of ``app``).
- ``rabbitmq``: needs the broker. Set by hand (``pytestmark`` or a
  decorator) in the modules that talk to RabbitMQ: no fixture tells.
- ``subprocess``: starts processes. Set here for everything in tests/e2e;
  by hand on the few other tests that start one (a Python interpreter,
  Chromium, promtool).
- ``slow``: takes more than about a second. Set here for everything in
  tests/e2e; by hand elsewhere (from ``pytest --durations``).

So ``pytest -m "not slow"`` is the quick run, ``-m "not postgres and not
rabbitmq"`` runs without servers, ``-m "not subprocess"`` stays in-process.

PostgreSQL tests get a database of their own, cloned from a template that
holds the platform's schema and then datemaker's (`db init`), and dropped
afterwards, so runs never collide. The clock is always a FakeClock: no test
waits on real time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.settings import Settings, load_settings

from .support.bot_harness import broker_settings
from .support.clock import FakeClock
from .support.platform_users import add_users
from .support.postgres import Databases, pg_settings
from .support.retry import FAST_RETRY

# Every store the tests open (and every process they start) seals personal data
# with this master key, a fixed one of the tests' own; a test of the key itself sets its own.
TEST_MASTER_KEY = "dGVzdHMnIG93biBtYXN0ZXIga2V5LCAzMiBieXRlcyE="
os.environ.setdefault("DATEMAKER_MASTER_KEY", TEST_MASTER_KEY)

E2E = Path(__file__).parent / "e2e"
POSTGRES_FIXTURES = {"postgres_settings", "databases"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.subprocess)
            item.add_marker(pytest.mark.slow)
        uses_postgres = POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("store_settings") == "postgres":
            uses_postgres = True
        if uses_postgres and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


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


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest) -> Settings:
    if request.param == "postgres":
        return request.getfixturevalue("postgres_settings")
    return request.getfixturevalue("sqlite_settings")


@pytest.fixture
def app(store_settings: Settings, clock: FakeClock) -> Iterator[DatingEvents]:
    application = DatingEvents(env=persistence_env(store_settings), clock=clock, retry=FAST_RETRY)
    yield application
    application.close()


@pytest.fixture
def env(postgres_settings):
    """PostgreSQL with twenty platform users, an exchange and queue of the
    test's own, and the application on a fake clock: (settings, app, clock)."""
    settings = broker_settings(postgres_settings)
    add_users(settings, {uid: "MF"[uid % 2] for uid in range(1, 21)})
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(settings), clock=clock)
    yield settings, app, clock
    app.close()
