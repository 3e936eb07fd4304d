"""Recurring schedules: operators keep rules in the schedule book (in the
event store, so in PostgreSQL), and `datemaker serve` turns every occurrence
within the horizon into an event, exactly once across instances."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError

from datemaker.app.dating_events import DatingEvents
from datemaker.domain.ids import SCHEDULE_BOOK_ID
from datemaker.domain.recurrence import occurrences
from datemaker.domain.schedule_book import ScheduleBook
from datemaker.domain.timings import Timings
from datemaker.logs import get_logger

log = get_logger(__name__)

DEFAULT_HORIZON = timedelta(days=14)


def book(app: DatingEvents) -> ScheduleBook | None:
    try:
        found = app.repository.get(SCHEDULE_BOOK_ID)
    except AggregateNotFoundError:
        return None
    assert isinstance(found, ScheduleBook)
    return found


def add_schedule(app: DatingEvents, *, rule: str, first_day: date, at: time, timezone: str,
                 users_limit: int = 20, capacity: int | None = None, timings: Timings | None = None,
                 ready_check: bool = True) -> int:
    def attempt() -> int:
        current = book(app) or ScheduleBook()
        rule_id = current.add(rule=rule, first_day=first_day, at=at, timezone=timezone, users_limit=users_limit,
                              capacity=capacity, timings=(timings or Timings()).to_record(), ready_check=ready_check)
        app.save(current)
        return rule_id

    return app.with_retries(attempt)


def remove_schedule(app: DatingEvents, rule_id: int) -> None:
    def attempt() -> None:
        current = book(app) or ScheduleBook()
        current.remove(rule_id)
        app.save(current)

    app.with_retries(attempt)


def upcoming(spec: dict[str, Any], after: datetime, until: datetime) -> list[datetime]:
    return occurrences(
        spec["rule"], date.fromisoformat(spec["first_day"]), time.fromisoformat(spec["time"]),
        ZoneInfo(spec["timezone"]), after, until,
    )


def make_due_events(app: DatingEvents, now: datetime, horizon: timedelta = DEFAULT_HORIZON,
                    confirm_reminder: int | None = None) -> list[int]:
    """Create the events of every occurrence from now to now + horizon that
    has none yet; return their wire ids. `confirm_reminder`: the reminder's
    offset for rules added before it was recorded with their timings."""
    current = book(app)
    if current is None:
        return []
    made = []
    for rule_id, spec in sorted(current.rules.items(), key=lambda item: int(item[0])):
        for start in upcoming(spec, now, now + horizon):
            if not current.was_made(int(rule_id), start):
                wire_id = _make_one(app, int(rule_id), spec, start, confirm_reminder)
                if wire_id is not None:
                    made.append(wire_id)
    return made


def _make_one(app: DatingEvents, rule_id: int, spec: dict[str, Any], start: datetime,
              confirm_reminder: int | None = None) -> int | None:
    def mark_made(wire_id: int) -> list[ScheduleBook] | None:
        fresh = book(app)
        if fresh is None or str(rule_id) not in fresh.rules or fresh.was_made(rule_id, start):
            return None  # removed meanwhile, or another instance made it
        fresh.mark_made(rule_id, start, wire_id)
        return [fresh]

    timings = dict(spec["timings"])
    if confirm_reminder is not None:
        timings.setdefault("confirm_reminder", confirm_reminder)
    wire_id = app.schedule_event(
        start=start.astimezone(UTC), timezone=spec["timezone"], users_limit=spec["users_limit"], capacity=spec["capacity"],
        timings=Timings.from_record(timings), ready_check=spec["ready_check"], along=mark_made,
    )
    if not wire_id:
        return None
    log.info("scheduled from a rule", event_id=wire_id, schedule=rule_id, start=start.isoformat())
    return wire_id
