"""Leadership (the port in `app/ports.py`) through a PostgreSQL advisory lock."""

from __future__ import annotations

import psycopg

from datemaker.adapters.postgres.schema import connect
from datemaker.settings import Settings


class AdvisoryLeader:
    """Leadership through a PostgreSQL session-level advisory lock, held on a
    connection of its own: it ends when that connection does."""

    def __init__(self, settings: Settings, key: int) -> None:
        self.settings = settings
        self.key = key
        self._conn: psycopg.Connection | None = None

    def try_acquire(self) -> bool:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect(self.settings, autocommit=True)
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            return bool(row and row[0])
        except psycopg.OperationalError:
            self._drop()
            return False

    def still_held(self) -> bool:
        try:
            return self._conn is not None and self._conn.execute("SELECT 1").fetchone() is not None
        except psycopg.OperationalError:
            self._drop()
            return False

    def release(self) -> None:
        self._drop()  # closing the session releases the lock

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
