"""Set-up through the application: the phases' events, scheduled and
populated in group saves, and everyone's confirmation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from round_clock_parts.run import utc_now

USER_ID_BASE = 7_000_000_000
CHUNK = 100  # aggregates per group save during set-up


def open_app(settings: Any) -> Any:
    from datemaker.runtime.bootstrap import open_dating_events

    return open_dating_events(settings)


def profile(n: int, sex: str) -> Any:
    from datemaker.domain.profile import Profile

    return Profile(sex=sex, birthday=date(1991, 1, 1) + timedelta(days=(n * 211) % 3000),
                   city="Kazan", rating=float(n % 5), manual_score=1 + n % 3)


@dataclass
class Planned:
    start: datetime
    timings: Any
    people: list[int]


def setup_events(
    app: Any, count: int, starts: Callable[[int], datetime], timings: Any, people: Callable[[int], int],
    *, confirm: bool,
) -> dict[int, Planned]:
    """Schedule `count` events and register their people, in group saves of
    CHUNK aggregates (plus the catalog, which hands out the wire ids). With
    `confirm`, confirmation is opened and everyone confirms in set-up too."""
    from datemaker.domain.catalog import EventCatalog
    from datemaker.domain.dating_event import DatingEvent

    catalog = app._catalog() or EventCatalog()  # a fresh database: a new catalog
    planned: dict[int, Planned] = {}
    for first in range(0, count, CHUNK):
        batch = []
        now = utc_now()
        for i in range(first, min(count, first + CHUNK)):
            wire_id = catalog.next_wire_id()
            start = starts(i)
            catalog.add(wire_id, start)
            event = DatingEvent.schedule(wire_id=wire_id, start=start, timezone="Europe/Moscow",
                                         users_limit=20, timings=timings, ready_check=False)
            if confirm:
                event.open_confirmation(now)
            uids = [USER_ID_BASE + wire_id * 100 + k for k in range(people(i))]
            for k, uid in enumerate(uids):
                event.register(uid, profile(uid, "M" if (k + i) % 2 else "F"), now)
            if confirm:
                for uid in uids:
                    event.confirm_registration(uid, now)
            planned[wire_id] = Planned(start, timings, uids)
            batch.append(event)
        app.save(catalog, *batch)
    return planned


def confirm_everyone(app: Any, planned: dict[int, Planned]) -> int:
    """Everyone confirms, written in group saves (one event at a time when a
    group save loses a race with the clock). Returns the confirmations."""
    from eventsourcing.persistence import IntegrityError

    done = 0
    wire_ids = sorted(planned)
    for first in range(0, len(wire_ids), 50):
        chunk = wire_ids[first:first + 50]
        events = [app.get_event(w) for w in chunk]
        now = utc_now()
        for event in events:
            for uid in planned[event.wire_id].people:
                event.confirm_registration(uid, now)
        try:
            app.save(*events)
            done += sum(len(planned[w].people) for w in chunk)
        except IntegrityError:
            for w in chunk:
                def confirm(e: Any, w: int = w) -> None:
                    for uid in planned[w].people:
                        if not e.is_confirmed(uid):
                            e.confirm_registration(uid, utc_now())
                app.change(w, confirm)
                done += len(planned[w].people)
    return done
