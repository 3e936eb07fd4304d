"""Chooses the rooms backend from the settings (`DATEMAKER_MEET_BACKEND`):
the in-process fake, or Google Meet through google-apps-meet, paced by a
pace shared through PostgreSQL (or kept in memory on embedded SQLite)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from datemaker.adapters.meet.calls import MeetCaller, MeetObserver
from datemaker.adapters.meet.pace import LocalPace, Pace, PostgresPace
from datemaker.app.retry import Backoff
from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.app.ports import RoomsPort
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
) -> RoomsPort:
    if settings.meet_backend == "fake":
        return FakeRooms()
    from google.apps import meet_v2
    from google.auth.credentials import AnonymousCredentials

    from datemaker.adapters.meet.auth import load_credentials
    from datemaker.adapters.meet.google import GoogleRooms

    endpoint = settings.meet_api_endpoint or GOOGLE_ENDPOINT
    # A plain http:// endpoint is a local fake server: no Google account there.
    credentials: Any = (
        AnonymousCredentials() if endpoint.startswith("http://") else load_credentials(settings.meet_token_file)
    )
    options = {"api_endpoint": endpoint}
    spaces = meet_v2.SpacesServiceClient(credentials=credentials, transport="rest", client_options=options)
    records = meet_v2.ConferenceRecordsServiceClient(credentials=credentials, transport="rest", client_options=options)
    caller = MeetCaller(paces(settings, app), backoff=backoff, sleep=sleep, rng=rng, observer=observer)
    # Each reserve() ends well inside the clock's lease on the deadline.
    budget = min(10.0, settings.clock_lease_seconds / 3)
    return GoogleRooms(spaces, records, caller, clock=app.clock, reserve_budget=budget)


def paces(settings: Settings, app: DatingEvents) -> dict[str, Pace]:
    per_minute = {
        "create": settings.meet_create_per_minute,
        "write": settings.meet_writes_per_minute,
        "read": settings.meet_reads_per_minute,
    }
    if settings.uses_postgres:
        datastore = app.recorder.datastore  # type: ignore[attr-defined]  # PostgreSQL's pooled connections
        return {name: PostgresPace(name, rate, app.clock, datastore) for name, rate in per_minute.items()}
    return {name: LocalPace(name, rate, app.clock) for name, rate in per_minute.items()}
