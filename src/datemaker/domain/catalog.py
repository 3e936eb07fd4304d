"""The catalog of dating events: hands out wire ids and remembers when each
event starts, so listings need not scan the whole event store.

Allocating an id and scheduling the event are saved in one transaction; two
instances that allocate at once collide on the catalog's version, and the
loser retries with the next id, so ids never collide. With the platform's
database the ids come from its sequence (operators' events share it), so an
id may come in below the highest one listed: any id not listed is free."""

from __future__ import annotations

import sys
from bisect import bisect_right
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from datemaker.domain.ids import CATALOG_ID


class EventCatalog(Aggregate):
    @staticmethod
    def create_id() -> UUID:  # type: ignore[override]
        return CATALOG_ID

    @event("Opened")
    def __init__(self) -> None:
        self.last_wire_id = 0
        self.starts: dict[str, str] = {}  # str(wire_id) -> start (ISO 8601, UTC)

    def next_wire_id(self) -> int:
        return self.last_wire_id + 1

    def add(self, wire_id: int, start: datetime) -> None:
        if str(wire_id) in self.starts or wire_id < 1:
            raise ValueError(f"wire id {wire_id} is already taken")
        self._listed(wire_id=wire_id, start=start.isoformat())

    @event("Listed")
    def _listed(self, wire_id: int, start: str) -> None:
        self.last_wire_id = max(self.last_wire_id, wire_id)
        self.starts[str(wire_id)] = start

    def move(self, wire_id: int, start: datetime) -> None:
        """The event now starts at `start` (an operator's edit)."""
        if str(wire_id) not in self.starts:
            raise ValueError(f"wire id {wire_id} is not listed")
        self._moved(wire_id=wire_id, start=start.isoformat())

    @event("Moved")
    def _moved(self, wire_id: int, start: str) -> None:
        self.starts[str(wire_id)] = start

    def has(self, wire_id: int) -> bool:
        return str(wire_id) in self.starts

    def wire_ids(self) -> list[int]:
        return sorted(int(w) for w in self.starts)

    def by_start(self) -> list[tuple[datetime, int]]:
        """(start, wire id) of every event, soonest first."""
        return sorted((datetime.fromisoformat(start), int(wire_id)) for wire_id, start in self.starts.items())

    def wire_ids_starting_after(self, instant: datetime) -> list[int]:
        """Events whose start is after `instant`, soonest first."""
        return starting_after(self.by_start(), instant)


def starting_after(by_start: list[tuple[datetime, int]], instant: datetime) -> list[int]:
    """From a `by_start` index: the events that start after `instant`."""
    return [wire_id for _, wire_id in by_start[bisect_right(by_start, (instant, sys.maxsize)) :]]
