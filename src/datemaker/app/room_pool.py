"""Rooms made ahead, all day, into a pool the dates take their rooms from
once a plan is fixed; and what the operators are told of it (`datemaker
meet capacity`, the pool's gauges).

The pool keeps itself filled to the dates of the next horizon plus a
margin, making a room only when a make is free right now: a plan short of
rooms (waiting for quota) has claimed the next slots already, so the pool
never delays it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from datemaker.app.dating_events import DatingEvents
from datemaker.app.ports import RoomPool, SpareRooms
from datemaker.domain.room_demand import DatesDue, Outlook, dates_due, outlook, pool_target
from datemaker.logs import get_logger

log = get_logger(__name__)

OUTLOOK_HORIZON = timedelta(hours=24)  # what `meet capacity` and the shortfall gauge look at
RUNNING_LOOKBACK = timedelta(hours=6)  # an event started this long ago may still need rooms
REFRESH = timedelta(minutes=1)  # how often the dates ahead are counted again
BUSY_WAIT = 1.0  # seconds: urgent room work is under way here
IDLE_WAIT = 0.5  # seconds: the make that looked free went to someone else


def upcoming_dates(app: DatingEvents, now: datetime, horizon: timedelta) -> list[DatesDue]:
    """The dates still needing a room whose round starts within the horizon."""
    end = now + horizon
    due: list[DatesDue] = []
    for wire_id in app.upcoming_wire_ids(now - RUNNING_LOOKBACK):
        try:
            event = app.get_event(wire_id)
        except Exception as exc:  # one unreadable event never hides the others' needs
            log.warning("event not counted for rooms ahead", event_id=wire_id, error=type(exc).__name__)
            continue
        if event.start >= end:
            break  # soonest first: the rest start later still
        due += [d for d in dates_due(event) if d.at < end]
    return due


def capacity(app: DatingEvents, pool: RoomPool, rate_per_hour: float, now: datetime) -> Outlook:
    """Hour by hour for the next 24 h: the dates, and whether the pool and
    the rate the usable accounts make rooms at will serve them."""
    return outlook(upcoming_dates(app, now, OUTLOOK_HORIZON), pool.free(), rate_per_hour, now, OUTLOOK_HORIZON)


@dataclass
class PoolFigures:
    rooms: int = 0  # in the pool, not handed out
    target: int = 0
    shortfall: int = 0  # dates of the next 24 h that no room will be ready for
    first_short_hour: datetime | None = None


class PoolFiller:
    def __init__(
        self,
        app: DatingEvents,
        pool: RoomPool,
        rooms: SpareRooms,
        *,
        horizon: timedelta,
        margin: int,
        clock: Callable[[], datetime],
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self.app = app
        self.pool = pool
        self.rooms = rooms
        self.horizon = horizon
        self.margin = margin
        self.clock = clock
        self.busy = busy  # urgent room work waits in this process: the pool waits too
        self.figures = PoolFigures()
        self._counted_at: datetime | None = None
        self._made = 0  # since the last count: logged once a count, not once a room

    def count(self) -> PoolFigures:
        """Count the dates ahead again: the target and the outlook."""
        now = self.clock()
        ahead = max(self.horizon, OUTLOOK_HORIZON)
        due = upcoming_dates(self.app, now, ahead)
        free = self.pool.free()
        seen = outlook([d for d in due if d.at < now + OUTLOOK_HORIZON], free, self.rooms.rate_per_hour(), now,
                       OUTLOOK_HORIZON)
        self.figures = PoolFigures(free, pool_target(due, now, self.horizon, self.margin), seen.shortfall,
                                   seen.first_short_hour)
        self._counted_at = now
        if self._made:
            log.info("Meet rooms made ahead", count=self._made, pool=free, target=self.figures.target)
            self._made = 0
        if seen.shortfall:
            log.warning("Meet rooms will fall short", dates=seen.shortfall, first_hour=seen.first_short_hour.isoformat()
                        if seen.first_short_hour else None, pool=free, rate_per_hour=seen.rate_per_hour)
        return self.figures

    def fill(self) -> float:
        """Make rooms while a make is free now and the pool is below its
        target; returns the seconds until it is worth another pass."""
        now = self.clock()
        if self._counted_at is None or now - self._counted_at >= REFRESH:
            self.count()
        made = 0
        while self.figures.rooms < self.figures.target and not self.busy():
            room = self.rooms.make_spare()
            if room is None:
                break
            self.pool.add([room], self.clock())
            self.figures.rooms += 1
            made += 1
        self._made += made
        until_count = max((REFRESH - (self.clock() - (self._counted_at or now))).total_seconds(), 0.0)
        if self.figures.rooms >= self.figures.target:
            return until_count
        if self.busy():
            return min(BUSY_WAIT, until_count)
        # Nothing made although a make looked free: another instance took it.
        return min(max(self.rooms.next_spare_in(), 0.0 if made else IDLE_WAIT), until_count)

    def run(self, stopped: Callable[[float], bool]) -> None:
        """Fill until `stopped(seconds)` (a wait that is True once stopping)."""
        wait = 0.0
        while not stopped(wait):
            try:
                wait = self.fill()
            except Exception as exc:  # the store or Meet away: the dates still get rooms on the spot
                log.warning("filling the Meet room pool failed; it tries again", error=repr(exc))
                wait = 5.0
