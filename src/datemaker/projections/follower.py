"""The follower: keeps the read models up with the event log.

Each step reads the notifications after the position it knows, then, in one
transaction, checks that the stored position is still that one, writes the
rows and stores the new position. A crash before the commit leaves both as
they were; a second follower (or a restart that still holds a batch it read
before) finds the stored position moved and writes nothing, so every
notification is projected exactly once. One instance of `datemaker serve`
follows at a time (an advisory lock); the others stand by."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from datemaker.app.dating_events import DatingEvents
from datemaker.app.leadership import lead
from datemaker.app.pause import pause
from datemaker.app.ports import Leadership
from datemaker.logs import get_logger
from datemaker.projections import tables
from datemaker.projections.changes import Batch, Change, ChangeReader
from datemaker.projections.projector import apply_changes

log = get_logger(__name__)

LEADER_LOCK_KEY = 0x646D5F70726A6C  # "dm_prjl": the one instance that follows
MAX_RETRY_PAUSE = 60.0


class ProjectionFollower:
    def __init__(
        self,
        app: DatingEvents,
        connect: Callable[[], psycopg.Connection[Any]],
        leadership: Leadership,
        *,
        chunk: int = 500,
        tick_seconds: float = 0.5,
        retry_pause: float = 1.0,
        takes_snapshots: bool = False,
        after_changes: Callable[[Any, Sequence[Change]], None] | None = None,
    ) -> None:
        self.connect = connect  # an autocommit connection to the read models' database
        self.reader = ChangeReader(app, takes_snapshots=takes_snapshots)
        self.chunk = chunk
        self.tick_seconds = tick_seconds
        self.retry_pause = retry_pause  # doubled after each failure in a row
        self.leadership = leadership
        # Run inside each batch's transaction once its rows are written
        # (the reports rule, auto_block.py); its failure fails the batch.
        self.after_changes = after_changes
        self._conn: psycopg.Connection[Any] | None = None
        self._position: int | None = None  # the stored position, as last seen

    # --- one step at a time (also what tests drive) --------------------------

    def stored_position(self) -> int:
        with self._connection().cursor() as cur:
            return tables.stored_position(cur)

    def read(self, after: int) -> Batch:
        return self.reader.read(after, self.chunk)

    def commit(self, batch: Batch) -> bool:
        """Write `batch` and its position in one transaction; False (nothing
        written) when the stored position is no longer the one it was read after."""
        conn = self._connection()
        with conn.transaction(), conn.cursor() as cur:
            tables.lock_writers(cur)
            stored = tables.stored_position(cur)
            if stored != batch.after:
                log.info("projection batch already done elsewhere", read_after=batch.after, stored=stored)
                self._position = None
                return False
            apply_changes(cur, batch.changes)
            if self.after_changes is not None and batch.changes:
                self.after_changes(cur, batch.changes)
            tables.advance_tracking(cur, batch.last)
        self._position = batch.last
        return True

    def step(self) -> bool:
        """Project the next notifications; False when there was nothing new."""
        after = self.stored_position() if self._position is None else self._position
        batch = self.read(after)
        if batch.last == after:
            return False
        self.commit(batch)
        return True

    def catch_up(self) -> int:
        """Step until the head of the log; returns the position reached."""
        while self.step():
            pass
        return self.stored_position()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # --- as a task of `datemaker serve` ----------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await lead(self.leadership, stop, self._follow)  # or stand by while another instance follows
        finally:
            await asyncio.to_thread(self.close)

    async def _follow(self, stop: asyncio.Event) -> None:
        log.info("following the event log into the analytics tables")
        failures = 0
        while not stop.is_set():
            try:
                advanced = await asyncio.to_thread(self.step)
                failures = 0
            except Exception as exc:  # analytics must never stop the service: retry later
                failures += 1
                log.error("projection step failed", error=repr(exc), failures=failures)
                self._position = None
                await asyncio.to_thread(self.close)
                await pause(stop, min(MAX_RETRY_PAUSE, self.retry_pause * 2 ** (failures - 1)))
                continue
            if not advanced:
                if not await asyncio.to_thread(self.leadership.still_held):
                    log.warning("projection leadership lost")
                    return
                await pause(stop, self.tick_seconds)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
        return self._conn
