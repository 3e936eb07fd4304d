"""Who holds a lease, and whether it is still alive.

The round clock's deadline leases and the platform inbox's leases run for
`DATEMAKER_CLOCK_LEASE_SECONDS`, so that an instance that dies does not keep
its work for ever. Waiting that long after a crash would hold up rounds that
are due, so each lease also names its holder: a number whose session-level
advisory lock this process keeps, on a connection of its own, while it
lives. A process that dies (kill -9 too) loses its session and the lock with
it; a lease whose holder's lock nobody holds is free at once, whatever its
time says (`LIVE_HOLDERS` below, used by the claims in `recorder.py`).

A lease only saves work: two instances that both fire a deadline are kept
apart by optimistic concurrency. So when this process cannot hold its lock
(the database is away), its leases name no holder and run out by time."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import psycopg

# The first key of the two-key advisory locks that stand for lease holders
# (the second is the holder's number); other advisory locks use one key.
NAMESPACE = 0x6C656173  # "leas"
RECHECK_SECONDS = 2.0  # how often the lock's session is checked, or connected again after a failure

# The holders alive now, in this database, for the claims' queries.
LIVE_HOLDERS = (
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2"
    f" AND classid = {NAMESPACE}"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class LeaseHolder:
    """This process's number on the leases it takes, its lock held while it lives."""

    def __init__(self, connection_kwargs: dict[str, Any], rng: random.Random | None = None) -> None:
        self._kwargs = {"connect_timeout": 5, **{k: v for k, v in connection_kwargs.items() if k != "row_factory"},
                        "autocommit": True, "application_name": "datemaker-lease-holder"}
        self._rng = rng or random.Random()
        self._lock = threading.Lock()  # the clock and the inbox take leases on threads of their own
        self._conn: psycopg.Connection | None = None
        self._number: int | None = None  # kept across reconnections: our leases stay ours
        self._checked_at = 0.0

    def number(self) -> int | None:
        """The number to name on a lease, its lock held; None while the lock
        cannot be held (the lease then runs out by time alone)."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at < RECHECK_SECONDS:  # (the claims come ten times a second)
                return self._number if self._conn is not None and not self._conn.closed else None
            self._checked_at = now
            try:
                if self._conn is None or self._conn.closed or self._conn.broken:
                    self._lock_a_number()
                else:
                    self._conn.execute("SELECT 1")
            except psycopg.Error:
                self._drop()
                return None
            return self._number

    def close(self) -> None:
        """Ends the session: the leases taken are free for anyone at once."""
        with self._lock:
            self._drop()

    def _lock_a_number(self) -> None:
        self._drop()
        conn = psycopg.connect(**self._kwargs)
        try:
            for _ in range(10):
                number = self._number or self._rng.randint(1, 2**31 - 1)
                row = conn.execute("SELECT pg_try_advisory_lock(%s::int, %s::int)", (NAMESPACE, number)).fetchone()
                if row and row[0]:
                    self._conn, self._number = conn, number
                    return
                self._number = None  # someone else's (after a restart of the database): another one
        except BaseException:
            conn.close()
            raise
        conn.close()
        raise psycopg.OperationalError("no free lease holder number")

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
