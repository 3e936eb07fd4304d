"""Events whose step raises (a bug, a profile the pairing cannot use): each is
tried again later, ever later while it keeps failing, and every other event
keeps its schedule. Its unsaved changes are dropped: it is loaded afresh."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from datemaker.app.retry import Backoff
from datemaker.logs import get_logger

log = get_logger(__name__)

BACKOFF = Backoff(base=2.0, cap=600.0)


class FailingEvents:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.attempts: dict[int, int] = {}  # wire_id -> steps failed in a row

    def retry_at(self, wire_id: int, exc: Exception, now: datetime) -> datetime:
        attempt = self.attempts[wire_id] = self.attempts.get(wire_id, 0) + 1
        at = now + timedelta(seconds=max(1.0, BACKOFF.delay(attempt, self._rng)))
        log.error("a deadline's step failed; the event is tried again later", event_id=wire_id,
                  error=type(exc).__name__, attempt=attempt, retry_at=at.isoformat())
        return at

    def recovered(self, wire_id: int) -> None:
        self.attempts.pop(wire_id, None)
