"""Dating events kept in memory between uses, so that a busy part of the
service does not load an event from the store every time it needs it.

One cache for every user of live state: the bot-command handler and the round
clock take an event out, bring it up to date with what other writers saved
since (one query for many events), change it and put it back only once their
save succeeded, so a failed save never leaves unsaved changes in memory. The
log's followers (the outbox, the analytics tables) read the log in order and
ask for the state right after each recorded event: applying the next one is
cheap, a gap (restart, eviction) loads what came before. At most `kept`
events are kept; the least recently used go first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from datemaker.app.dating_events import DatingEvents
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import UnknownEvent
from datemaker.domain.ids import event_uuid


class LiveEvents:
    def __init__(self, app: DatingEvents, kept: int = 10_000) -> None:
        self.app = app
        self.kept = kept  # more than the live events, or every use reloads
        self._events: OrderedDict[UUID, DatingEvent] = OrderedDict()

    def __contains__(self, wire_id: int) -> bool:
        return event_uuid(wire_id) in self._events

    def __len__(self) -> int:
        return len(self._events)

    def peek(self, wire_id: int) -> DatingEvent | None:
        """As last kept, left in place and not brought up to date."""
        return self._events.get(event_uuid(wire_id))

    def take(self, wire_id: int) -> DatingEvent:
        """Out of memory and up to date; loaded when not kept. UnknownEvent
        when there is no such event."""
        return self.take_all([wire_id])[0]

    def take_all(self, wire_ids: Sequence[int]) -> list[DatingEvent]:
        """Each out of memory; the kept ones brought up to date in one query."""
        kept = {w: self._events.pop(event_uuid(w), None) for w in wire_ids}
        self.app.brought_up_to_date([e for e in kept.values() if e is not None])
        return [found if found is not None else self.app.get_event(w) for w, found in kept.items()]

    def load(self, wire_ids: Iterable[int]) -> list[int]:
        """Load and keep those not kept yet; returns the ids that are unknown."""
        unknown = []
        for wire_id in wire_ids:
            if wire_id in self:
                continue
            try:
                self.keep(self.app.get_event(wire_id))
            except UnknownEvent:
                unknown.append(wire_id)
        return unknown

    def keep(self, *events: DatingEvent) -> None:
        for event in events:
            self._events[event.id] = event
            self._events.move_to_end(event.id)
        while len(self._events) > self.kept:
            self._events.popitem(last=False)

    def forget(self, wire_id: int) -> None:
        self._events.pop(event_uuid(wire_id), None)

    def after(self, recorded: Any) -> DatingEvent:
        """The event's state right after `recorded`, for a follower reading
        the log in order (the state kept moves on with it)."""
        oid, version = recorded.originator_id, recorded.originator_version
        state = self._events.pop(oid, None)
        if state is None or state.version != version - 1:
            state = None if version == 1 else self.app.repository.get(oid, version=version - 1)
        state = recorded.mutate(state)
        assert isinstance(state, DatingEvent)
        self.keep(state)
        return state
