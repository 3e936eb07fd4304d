"""Closing confirmation runs the pairing engine, the costliest step a
deadline takes. The clock works it out ahead, between deadlines, for the
confirmations about to close; at the deadline the plan is used only when the
event is still at the version it was worked out on (a late registration or
confirmation in between makes it stale, and the step plans afresh)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.pairing import Plan

CHUNK = 20  # events brought up to date together before planning


class PlansAhead:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._waiting: list[int] = []
        self._made: dict[int, tuple[int, int, Plan]] = {}  # wire_id -> (version, seed, plan)

    def want(self, wire_ids: Sequence[int]) -> None:
        self._waiting += wire_ids

    def work(self, budget: float, events_of: Callable[[list[int]], list[DatingEvent]]) -> bool:
        """Plan for about `budget` seconds (due deadlines must not wait);
        `events_of` gives the events still to be planned, up to date. True
        while some are left."""
        until = time.monotonic() + budget
        while self._waiting and time.monotonic() < until:
            chunk, self._waiting = self._waiting[:CHUNK], self._waiting[CHUNK:]
            for event in events_of(chunk):
                seed = self._rng.randrange(2**63)
                plan = event.plan_for(seed)
                plan.record  # made now, not at the deadline
                self._made[event.wire_id] = (event.version, seed, plan)
        return bool(self._waiting)

    def take(self, event: DatingEvent) -> tuple[int, Plan | None]:
        """The seed to step with, and the plan worked out ahead when it still fits."""
        fresh = self._rng.randrange(2**63)
        version, seed, plan = self._made.pop(event.wire_id, (0, 0, None))
        if plan is not None and version == event.version:
            return seed, plan
        return fresh, None
