"""Each dating event's state rebuilt alongside the event log, for followers
that read the log in order (the outbox, the analytics tables): applying the
next recorded event is cheap; a gap (restart, eviction) loads what came before."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from uuid import UUID

from datemaker.app.dating_events import DatingEvents
from datemaker.domain.dating_event import DatingEvent


class StatesAlongside:
    def __init__(self, app: DatingEvents, kept: int = 10_000) -> None:
        self.app = app
        self.kept = kept  # more than the live events, or every read reloads
        self._states: OrderedDict[UUID, DatingEvent] = OrderedDict()

    def after(self, recorded: Any) -> DatingEvent:
        """The event's state right after `recorded`."""
        oid, version = recorded.originator_id, recorded.originator_version
        state = self._states.pop(oid, None)
        if state is None or state.version != version - 1:
            state = None if version == 1 else self.app.repository.get(oid, version=version - 1)
        state = recorded.mutate(state)
        assert isinstance(state, DatingEvent)
        self._states[oid] = state
        while len(self._states) > self.kept:
            self._states.popitem(last=False)
        return state
