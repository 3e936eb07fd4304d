"""How many Meet rooms the coming dates need, and when, and whether a pool
of rooms made ahead plus the rate rooms can be made at will serve them.

Every date gets a fresh room, ready before its round starts. An event whose
plan is fixed (READY, RUNNING) needs exactly the rooms its later rounds are
still short of. One still taking registrations is estimated: its people
split into groups of at most `users_limit`, sizes differing by at most one,
and each person has at most one date a round; in a group of g, half meet the
other half, so ceil(g/2) rounds of floor(g/2) dates (a group of 20: ten
rounds of ten dates). Nobody has confirmed yet, so everyone registered
counts: the estimate errs on the side of more rooms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil, floor

from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.lifecycle import EventState

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class DatesDue:
    at: datetime  # when their round starts: the rooms must exist by then
    count: int
    event_id: int = 0


def estimated_dates_per_round(people: int, users_limit: int) -> list[int]:
    """Dates of each round, from round 1, for `people` split into groups."""
    if people < 2:
        return []
    groups = ceil(people / max(users_limit, 2))
    base, spare = divmod(people, groups)
    sizes = [base + 1] * spare + [base] * (groups - spare)
    rounds = ceil(max(sizes) / 2)
    return [sum(g // 2 for g in sizes if ceil(g / 2) >= r) for r in range(1, rounds + 1)]


def dates_due(event: DatingEvent) -> list[DatesDue]:
    """The event's dates that still need a room, per round start."""
    t = event.timings
    if event.state in (EventState.READY, EventState.RUNNING):
        needed = event.rooms_needed()
    elif event.state in (EventState.NOT_STARTED, EventState.REG_CONFIRM):
        needed = dict(enumerate(estimated_dates_per_round(len(event.registrations), event.users_limit), start=1))
    else:
        return []
    return [
        DatesDue(t.round_starts_at(event.start, round_no), count, event.wire_id)
        for round_no, count in sorted(needed.items()) if count
    ]


@dataclass(frozen=True)
class HourOutlook:
    starts: datetime
    dates: int  # dates whose round starts in this hour and still need a room
    short: int  # of those, the ones no room will be ready for

    @property
    def covered(self) -> bool:
        return self.short == 0


@dataclass(frozen=True)
class Outlook:
    pool: int  # rooms made and not handed out yet
    rate_per_hour: float  # rooms the usable accounts make in an hour, sustained
    hours: list[HourOutlook]

    @property
    def planned(self) -> int:
        return sum(h.dates for h in self.hours)

    @property
    def shortfall(self) -> int:
        return sum(h.short for h in self.hours)

    @property
    def first_short_hour(self) -> datetime | None:
        return next((h.starts for h in self.hours if h.short), None)


def outlook(due: list[DatesDue], pool: int, rate_per_hour: float, now: datetime, horizon: timedelta) -> Outlook:
    """Hour by hour over the horizon: rooms go to the earliest dates first;
    a date is served when, by its round's start, the pool plus what the rate
    makes from now on holds a room not given to an earlier date."""
    first_hour = now.replace(minute=0, second=0, microsecond=0)
    end = now + horizon
    hours = ceil((end - first_hour) / HOUR) if horizon > timedelta(0) else 0
    dates = [0] * hours
    short = [0] * hours
    served = 0
    for d in sorted(due, key=lambda d: d.at):
        if d.at >= end or not hours:
            break
        at = max(d.at, now)  # overdue: a round about to start that still lacks rooms
        supply = pool + floor(rate_per_hour * (at - now).total_seconds() / 3600)
        given = min(d.count, max(supply - served, 0))
        served += given
        bucket = int((at - first_hour) / HOUR)
        dates[bucket] += d.count
        short[bucket] += d.count - given
    return Outlook(pool, rate_per_hour, [
        HourOutlook(first_hour + k * HOUR, dates[k], short[k]) for k in range(hours)
    ])


def pool_target(due: list[DatesDue], now: datetime, horizon: timedelta, margin: int) -> int:
    """Rooms the pool should hold: the dates of the horizon still without
    one, plus a margin for registrations yet to come."""
    if horizon <= timedelta(0):
        return 0
    end = now + horizon
    return sum(d.count for d in due if d.at < end) + margin
