"""Pacing Meet API calls under the account's quotas (spaces.create 10/min,
writes 100/min, reads 600/min per user).

A pace hands out evenly spaced slots: the caller asks for the next free
slot, is told how long to wait for it, and the slot after it moves one
interval on. The Google quota belongs to the account, not to a process, so
on PostgreSQL the next free slot of each kind of call lives in one row that
every instance updates atomically (`datemaker.meet_pace`); embedded SQLite
means one process, and a pace in memory does. Time comes from an injected
clock, so tests need no sleeping."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from psycopg.sql import SQL, Identifier

Clock = Callable[[], datetime]


class Pace(Protocol):
    name: str

    def take(self, max_wait: float) -> float | None:
        """Claim the next free slot and return the seconds to wait for it;
        None (claiming nothing) when it is more than `max_wait` away."""

    def next_in(self) -> float:
        """Seconds until the next free slot (0: free now), claiming nothing."""


class LocalPace:
    def __init__(self, name: str, per_minute: float, clock: Clock) -> None:
        self.name = name
        self.interval = timedelta(seconds=60.0 / per_minute)
        self.clock = clock
        self._next_free: datetime | None = None
        self._lock = threading.Lock()

    def take(self, max_wait: float) -> float | None:
        with self._lock:
            now = self.clock()
            slot = max(self._next_free or now, now)
            wait = (slot - now).total_seconds()
            if wait > max_wait:
                return None
            self._next_free = slot + self.interval
            return wait

    def next_in(self) -> float:
        with self._lock:
            now = self.clock()
            return max(((self._next_free or now) - now).total_seconds(), 0.0)


class PostgresPace:
    """One row per pace; a single upsert claims the slot, so two instances
    asking at once get consecutive slots, never the same one."""

    def __init__(self, name: str, per_minute: float, clock: Clock, datastore: Any) -> None:
        self.name = name
        self.interval = timedelta(seconds=60.0 / per_minute)
        self.clock = clock
        self.datastore = datastore  # eventsourcing's PostgresDatastore: pooled, reconnecting

    def take(self, max_wait: float) -> float | None:
        now = self.clock()
        params = {"name": self.name, "now": now, "interval": self.interval, "max_wait": timedelta(seconds=max_wait)}
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {schema}.meet_pace AS p (name, next_free) VALUES (%(name)s, %(now)s + %(interval)s)"
                    " ON CONFLICT (name) DO UPDATE SET next_free = GREATEST(p.next_free, %(now)s) + %(interval)s"
                    " WHERE GREATEST(p.next_free, %(now)s) <= %(now)s + %(max_wait)s"
                    " RETURNING next_free - %(interval)s AS slot"
                ).format(schema=Identifier(self.datastore.schema)),
                params,
            )
            row = curs.fetchone()
        if row is None:
            return None
        return max((row["slot"] - now).total_seconds(), 0.0)

    def next_in(self) -> float:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT next_free FROM {schema}.meet_pace WHERE name = %s").format(
                    schema=Identifier(self.datastore.schema)),
                (self.name,),
            )
            row = curs.fetchone()
        return 0.0 if row is None else max((row["next_free"] - self.clock()).total_seconds(), 0.0)


class BothPaces:
    """A call under two quotas at once: the account's and the project's.
    Both slots are claimed and the later one waited for; when the second is
    too far away the first is given up unused, which only ever errs below
    the quota."""

    def __init__(self, first: Pace, second: Pace) -> None:
        self.name = first.name
        self.first, self.second = first, second

    def take(self, max_wait: float) -> float | None:
        wait = self.first.take(max_wait)
        if wait is None:
            return None
        other = self.second.take(max_wait)
        return None if other is None else max(wait, other)

    def next_in(self) -> float:
        return max(self.first.next_in(), self.second.next_in())
