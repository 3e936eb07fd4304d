"""Closing confirmation runs the pairing engine, the costliest step a
deadline takes. The clock works it out ahead, between deadlines, for the
confirmations about to close; at the deadline the plan is used only when the
event is still at the version it was worked out on (a late registration or
confirmation in between makes it stale, and the step plans afresh). Either
way the pairs earlier events forbid (`never_again.py`) are kept apart: asked
of the store for a whole chunk ahead, or for one event when it plans afresh."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from datemaker.app.never_again import HasStore, NeverAgain
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.pairing import NeverMeet, Plan

CHUNK = 20  # events brought up to date together before planning


class PlansAhead:
    def __init__(self, rng: random.Random, app: HasStore | None = None) -> None:
        self._rng = rng
        self._never_again = NeverAgain(app) if app is not None else None
        self._waiting: list[int] = []
        # wire_id -> (version, seed, plan, the pairs it kept apart)
        self._made: dict[int, tuple[int, int, Plan, NeverMeet]] = {}

    def want(self, wire_ids: Sequence[int]) -> None:
        self._waiting += wire_ids

    def work(self, budget: float, events_of: Callable[[list[int]], list[DatingEvent]]) -> bool:
        """Plan for about `budget` seconds (due deadlines must not wait);
        `events_of` gives the events still to be planned, up to date. True
        while some are left."""
        until = time.monotonic() + budget
        while self._waiting and time.monotonic() < until:
            chunk, self._waiting = self._waiting[:CHUNK], self._waiting[CHUNK:]
            events = events_of(chunk)
            apart = self._never_again.for_events(events) if self._never_again else {}
            for event in events:
                seed = self._rng.randrange(2**63)
                never_meet = apart.get(event.wire_id, {})
                plan = event.plan_for(seed, never_meet)
                plan.record  # made now, not at the deadline
                self._made[event.wire_id] = (event.version, seed, plan, never_meet)
        return bool(self._waiting)

    def take(self, event: DatingEvent) -> tuple[int, Plan | None, NeverMeet]:
        """The seed to step with, the plan worked out ahead when it still fits,
        and the pairs to keep apart (asked of the store only if it plans afresh)."""
        fresh = self._rng.randrange(2**63)
        version, seed, plan, never_meet = self._made.pop(event.wire_id, (0, 0, None, {}))
        if plan is not None and version == event.version:
            return seed, plan, never_meet
        return fresh, None, self._never_again.when_read(event) if self._never_again else {}
