"""Events whose step raises (a bug, a state the pairing cannot use): each is
quarantined. The failure is recorded in its history (the error's class and
when it is tried again), its deadline moves to that retry, ever later while
it keeps failing, and every other event keeps its schedule. Its unsaved
changes are dropped: it is loaded afresh."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from eventsourcing.persistence import IntegrityError

from datemaker.app.dating_events import DatingEvents
from datemaker.app.ports import StoreUnavailable
from datemaker.app.retry import Backoff
from datemaker.domain.errors import DomainError
from datemaker.logs import get_logger

log = get_logger(__name__)

BACKOFF = Backoff(base=2.0, cap=600.0)


class FailingEvents:
    def __init__(self, app: DatingEvents, rng: random.Random,
                 on_failed: Callable[[str], None] | None = None) -> None:
        self.app = app
        self._rng = rng
        self._on_failed = on_failed or (lambda error: None)
        self.attempts: dict[int, int] = {}  # wire_id -> steps failed in a row

    @property
    def wire_ids(self) -> list[int]:
        return sorted(self.attempts)

    def quarantine(self, wire_id: int, exc: Exception, now: datetime) -> datetime:
        """Record the failure; returns when to try the event again."""
        error = type(exc).__name__
        attempt = self.attempts[wire_id] = self.attempts.get(wire_id, 0) + 1
        at = now + timedelta(seconds=max(1.0, BACKOFF.delay(attempt, self._rng)))
        log.error("a deadline's step failed; the event is tried again later", event_id=wire_id,
                  error=error, attempt=attempt, retry_at=at.isoformat())
        self._on_failed(error)
        self._record(wire_id, error, now, at)
        return at

    def recovered(self, wire_id: int) -> None:
        self.attempts.pop(wire_id, None)

    def _record(self, wire_id: int, error: str, now: datetime, retry_at: datetime) -> None:
        # Saved on fresh state, so the failed step's changes are not; the
        # saved deadline is the retry, for this instance and any other.
        try:
            event = self.app.get_event(wire_id)
            event.note_step_failed(error, now, retry_at)
            self.app.save_logged(event)
        except DomainError:
            pass  # over meanwhile: nothing is due any more
        except (StoreUnavailable, IntegrityError) as exc:
            # Not recorded this time; the retry happens all the same.
            log.warning("the failure could not be recorded", event_id=wire_id, error=type(exc).__name__)
        except Exception as exc:  # not even loadable: the retry is all there is
            log.error("the failing event could not be loaded", event_id=wire_id, error=type(exc).__name__)


def pass_failed(exc: Exception, attempt: int) -> None:
    """One pass of the clock raised: it waits a little and takes up where it was."""
    if isinstance(exc, StoreUnavailable):
        log.warning("event store unavailable; the clock tries again", attempt=attempt,
                    error=type(exc.__cause__ or exc).__name__)
    else:
        log.error("a pass of the clock failed; it tries again", attempt=attempt, error=repr(exc), exc_info=exc)
