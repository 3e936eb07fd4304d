"""Chooses the rooms backend from the settings (`DATEMAKER_MEET_BACKEND`):
the in-process fake, or Google Meet through google-apps-meet with one host
account per token file, each paced under its own quotas and all of them
under the project's, by paces shared through PostgreSQL (or kept in memory
on embedded SQLite); and the pool of rooms made ahead, in the same store."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datemaker.adapters.meet.calls import MeetCaller, MeetObserver
from datemaker.adapters.meet.pace import BothPaces, LocalPace, Pace, PostgresPace
from datemaker.app.retry import Backoff
from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.app.ports import RoomPool, RoomsPort
from datemaker.settings import Settings

if TYPE_CHECKING:
    from datemaker.app.dating_events import DatingEvents

GOOGLE_ENDPOINT = "meet.googleapis.com"


def build_rooms(
    settings: Settings,
    app: DatingEvents,  # its clock, and on PostgreSQL its store's connections
    *,
    observer: MeetObserver | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    backoff: Backoff = Backoff(),
    pool: RoomPool | None = None,
) -> RoomsPort:
    if settings.meet_backend == "fake":
        return FakeRooms()
    from datemaker.adapters.meet.accounts import HostAccount, HostAccounts
    from datemaker.adapters.meet.auth import account_name, token_files
    from datemaker.adapters.meet.google import GoogleRooms

    endpoint = settings.meet_api_endpoint or GOOGLE_ENDPOINT
    project = pace(settings, app, "create:project", settings.meet_project_create_per_minute)
    accounts = []
    for token_file in token_files(settings.meet_token_file):
        name = account_name(token_file)
        paces: dict[str, Pace] = {
            "create": BothPaces(pace(settings, app, f"create:{name}", settings.meet_create_per_minute), project),
            "write": pace(settings, app, f"write:{name}", settings.meet_writes_per_minute),
            "read": pace(settings, app, f"read:{name}", settings.meet_reads_per_minute),
        }
        caller = MeetCaller(paces, backoff=backoff, sleep=sleep, rng=rng, observer=observer)
        accounts.append(HostAccount(name, partial(clients, endpoint, token_file), caller))
    on_change = (lambda name, usable, reason: pool.set_account(name, usable, reason, app.clock())) if pool else None
    hosts = HostAccounts(accounts, app.clock, **({"on_change": on_change} if on_change else {}))
    # Each reserve() ends well inside the clock's lease on the deadline.
    budget = min(10.0, settings.clock_lease_seconds / 3)
    return GoogleRooms(hosts, clock=app.clock, reserve_budget=budget, create_per_minute=settings.meet_create_per_minute,
                       project_create_per_minute=settings.meet_project_create_per_minute)


def build_room_pool(settings: Settings, app: DatingEvents) -> RoomPool | None:
    """The pool of rooms made ahead, in the event store's database; none for
    the in-process fake, whose rooms cost nothing."""
    if settings.meet_backend == "fake":
        return None
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    if settings.uses_postgres:
        from datemaker.adapters.postgres.room_pool import PostgresRoomPool

        return PostgresRoomPool(datastore)
    from datemaker.adapters.sqlite.room_pool import SqliteRoomPool

    return SqliteRoomPool(datastore)


def clients(endpoint: str, token_file: Path) -> tuple[Any, Any]:
    """The account's Meet clients, its token file read now."""
    from google.apps import meet_v2

    options = {"api_endpoint": endpoint}
    credentials = _credentials(endpoint, token_file)
    return (
        meet_v2.SpacesServiceClient(credentials=credentials, transport="rest", client_options=options),
        meet_v2.ConferenceRecordsServiceClient(credentials=credentials, transport="rest", client_options=options),
    )


def _credentials(endpoint: str, token_file: Path) -> Any:
    from google.auth.credentials import AnonymousCredentials

    from datemaker.adapters.meet.auth import load_credentials

    if not endpoint.startswith("http://"):
        return load_credentials(token_file)
    # A plain http:// endpoint is a local fake server: a token it issued
    # (its token_uri on that server) is used, refreshed there (google-auth
    # would otherwise refresh at Google's own address); anything else goes
    # anonymous.
    try:
        token_uri = json.loads(token_file.read_text(encoding="utf-8")).get("token_uri", "")
    except (OSError, ValueError, AttributeError):
        token_uri = ""
    if isinstance(token_uri, str) and token_uri.startswith(endpoint):
        return load_credentials(token_file).with_token_uri(token_uri)
    return AnonymousCredentials()


def pace(settings: Settings, app: DatingEvents, name: str, per_minute: float) -> Pace:
    if settings.uses_postgres:
        datastore = app.recorder.datastore  # type: ignore[attr-defined]  # PostgreSQL's pooled connections
        return PostgresPace(name, per_minute, app.clock, datastore)
    return LocalPace(name, per_minute, app.clock)
