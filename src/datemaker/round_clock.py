"""The round clock: fires every dating event's deadlines on time, durably.

Each save of an event stores its next deadline in the same transaction
(`DatingEvents.save`). The clock leases due deadlines (several instances
never take the same one; a dead instance's lease runs out and another takes
over), makes the rooms the event still needs, lets the aggregate take every
step that is due and saves. A deadline that passed while no clock ran fires
late, once: taking a step changes the state, and optimistic concurrency lets
only one of two racing writers save it."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import datetime

from eventsourcing.persistence import IntegrityError

from datemaker.adapters.recorders import Deadline
from datemaker.application import DatingEvents
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import UnknownEvent
from datemaker.logs import get_logger
from datemaker.rooms import Room, RoomsPort

log = get_logger(__name__)


class RoundClock:
    def __init__(
        self,
        app: DatingEvents,
        rooms: RoomsPort,
        *,
        clock: Callable[[], datetime] | None = None,
        batch: int = 100,
        lease_seconds: float = 30.0,
        tick_seconds: float = 0.05,
        rng: random.Random | None = None,
        on_fired: Callable[[str, float], None] | None = None,
    ) -> None:
        self.app = app
        self.rooms = rooms
        self.clock = clock or app.clock
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.tick_seconds = tick_seconds
        self._rng = rng or random.Random()
        self._on_fired = on_fired or (lambda action, skew: None)
        self.ready = asyncio.Event()
        self.alive_at = 0.0  # monotonic time of the last pass, for readiness

    async def run(self, stop: asyncio.Event) -> None:
        self.ready.set()
        while not stop.is_set():
            self.alive_at = time.monotonic()
            fired = await asyncio.to_thread(self.fire_due)
            if fired == 0:
                try:
                    await asyncio.wait_for(stop.wait(), self.tick_seconds)
                except TimeoutError:
                    pass

    def fire_due(self) -> int:
        """One pass: fire every deadline due now (up to `batch`), all saved in
        one transaction; when that loses a race, one by one."""
        due = self.app.claim_due(self.clock(), self.lease_seconds, self.batch)
        if len(due) > 1:
            try:
                self._fire_together(due)
                return len(due)
            except IntegrityError:
                pass  # someone else changed one of them: take them one at a time
        for deadline in due:
            self.fire(deadline.wire_id, deadline.due_at)
        return len(due)

    def _fire_together(self, due: list[Deadline]) -> None:
        now = self.clock()
        fired: list[tuple[DatingEvent, datetime, list[str], list[int]]] = []
        for deadline in due:
            try:
                event = self.app.get_event(deadline.wire_id)
            except UnknownEvent:
                continue
            self._make_rooms(event, now)
            taken = event.advance(now, seed=self._rng.randrange(2**63))
            ended = [e.round_no for e in event.pending_events if isinstance(e, DatingEvent.RoundEnded)]
            fired.append((event, deadline.due_at, taken, ended))
        self.app.save_logged(*(event for event, *_ in fired))
        for event, due_at, taken, ended in fired:
            self._after_save(event, now, due_at, taken, ended)

    def fire(self, wire_id: int, due_at: datetime | None = None) -> list[str]:
        for _ in range(20):
            try:
                event = self.app.get_event(wire_id)
            except UnknownEvent:
                return []
            now = self.clock()
            try:
                self._make_rooms(event, now)
                taken = event.advance(now, seed=self._rng.randrange(2**63))
                ended = [e.round_no for e in event.pending_events if isinstance(e, DatingEvent.RoundEnded)]
                self.app.save_logged(event)  # also stores the next deadline
            except IntegrityError:
                continue  # another writer saved first: look again
            self._after_save(event, now, due_at, taken, ended)
            return taken
        log.error("gave up firing a deadline after repeated conflicts", event_id=wire_id)
        return []

    def _after_save(
        self, event: DatingEvent, now: datetime, due_at: datetime | None, taken: list[str], ended: list[int]
    ) -> None:
        skew = (now - due_at).total_seconds() if due_at else 0.0
        for action in taken:
            log.info("deadline fired", event_id=event.wire_id, action=action, round=event.round_no, skew_seconds=round(skew, 3))
            self._on_fired(action, skew)
        for round_no in ended:
            self._end_calls(event, round_no)

    def _make_rooms(self, event: DatingEvent, now: datetime) -> None:
        for round_no, count in sorted(event.rooms_needed().items()):
            rooms = self.rooms.reserve(count)
            event.add_rooms(round_no, [room.to_record() for room in rooms], now)
            log.info("rooms reserved", event_id=event.wire_id, round=round_no, count=len(rooms))

    def _end_calls(self, event: DatingEvent, round_no: int) -> None:
        for room in event.rooms.get(str(round_no), {}).values():
            try:
                self.rooms.end_call(Room(**room))
            except Exception as exc:  # a call left running ends when people leave
                log.warning("could not end a call", event_id=event.wire_id, round=round_no, error=repr(exc))
