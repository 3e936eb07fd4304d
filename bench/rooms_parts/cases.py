"""The rooms bench's cases and its evening: when the events start and when
each case's simulated day begins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

PEOPLE = 20  # per event: 10 M, 10 F, users_limit 20 -> 10 rounds of 10 dates
FIRST_START = time(19, 0)  # the events start evenly over the hour from 19:00 (UTC)
SPREAD = timedelta(hours=1)
POOL_HORIZON = 24 * 3600  # DATEMAKER_MEET_POOL_HORIZON of the pool cases (the default)


@dataclass(frozen=True)
class Case:
    key: str  # its name for --cases
    approach: str  # make_after_plan | pool
    accounts: int
    starts_at: time  # the simulated instant the run starts at, that day
    horizon: int  # DATEMAKER_MEET_POOL_HORIZON, seconds: 0 = no pool filling
    scale: float  # its default: simulated seconds per real second (see rooms_parts/__init__.py)

    def label(self) -> str:
        return f"approach={self.approach} accounts={self.accounts}"


def cases(pool_start: time, pool3_start: time) -> dict[str, Case]:
    return {
        # Nothing happens before the first plan is fixed (18:00): start just before.
        "today": Case("today", "make_after_plan", 1, time(17, 55), 0, 60.0),
        "pool": Case("pool", "pool", 1, pool_start, POOL_HORIZON, 240.0),
        "pool3": Case("pool3", "pool", 3, pool3_start, POOL_HORIZON, 120.0),
    }


def sim_day(now: datetime) -> datetime:
    """Midnight (UTC) of the simulated day: tomorrow, so everything set up
    now (registrations, confirmations) comes before it."""
    tomorrow = now.astimezone(UTC) + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)


def event_start(day: datetime, i: int, events: int) -> datetime:
    """Event i of `events`, evenly over the hour from 19:00."""
    first = day + timedelta(hours=FIRST_START.hour, minutes=FIRST_START.minute)
    return first + SPREAD * i / events


def at(day: datetime, clock_time: time) -> datetime:
    return day + timedelta(hours=clock_time.hour, minutes=clock_time.minute)
