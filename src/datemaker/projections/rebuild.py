"""`datemaker projections rebuild` and `status`: replay the whole log into
empty read models, and say how far the follower is behind the log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from dataclasses import dataclass

from datemaker.app.dating_events import DatingEvents
from datemaker.projections import tables
from datemaker.projections.changes import ChangeReader
from datemaker.projections.projector import apply_changes


@dataclass(frozen=True)
class ProjectionStatus:
    position: int  # the last notification projected
    head: int  # the last notification in the log

    @property
    def behind(self) -> int:
        return max(self.head - self.position, 0)


def status(app: DatingEvents, connect: Callable[[], Any]) -> ProjectionStatus:
    """`connect()`: an autocommit connection to the read models' database."""
    with connect() as conn, conn.cursor() as cur:
        position = tables.stored_position(cur)
    return ProjectionStatus(position=position, head=app.recorder.max_notification_id() or 0)


def rebuild(
    app: DatingEvents,
    connect: Callable[[], Any],
    *,
    chunk: int = 1000,
    on_progress: Callable[[int], None] = lambda position: None,
) -> ProjectionStatus:
    """Empty the read models and replay the log from its start, in one
    transaction: readers see the old rows until it commits, and live
    followers wait on the writers' lock, then carry on from where it ended."""
    reader = ChangeReader(app, states_kept=4096)  # replay in order: few reloads
    with connect() as conn, conn.transaction(), conn.cursor() as cur:
        tables.lock_writers(cur)
        tables.clear_read_models(cur)
        position = 0
        while (batch := reader.read(position, chunk)).last != position:
            apply_changes(cur, batch.changes)
            position = batch.last
            on_progress(position)
        if position:
            tables.advance_tracking(cur, position)
    return ProjectionStatus(position=position, head=max(position, app.recorder.max_notification_id() or 0))
