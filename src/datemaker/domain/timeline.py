"""What a dating event waits for next: the one rule that turns its state and
timings into the next deadline. The round clock stores that deadline with
every save and fires it when due; firing it changes the state, so the same
deadline never fires twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from datemaker.domain.lifecycle import EventState
from datemaker.domain.phases import Phase

if TYPE_CHECKING:
    from datemaker.domain.dating_event import DatingEvent

# Actions the clock performs itself, without calling out (see DatingEvent.advance).
OPEN_CONFIRMATION = "open_confirmation"
REMIND_UNCONFIRMED = "remind_unconfirmed"
CLOSE_CONFIRMATION = "close_confirmation"
ANNOUNCE_RULES = "announce_rules"
BEGIN = "begin"
END_ROUND = "end_round"
START_ROUND = "start_round"
FINISH = "finish"
# Needs the rooms port (I/O), done by the round clock outside the aggregate.
RESERVE_ROOMS = "reserve_rooms"


@dataclass(frozen=True, order=True)
class Step:
    at: datetime
    action: str


def next_step(event: DatingEvent, *, with_rooms: bool = True) -> Step | None:
    """The earliest pending step, or None when the event is over. Without
    rooms: only the steps the aggregate takes by itself. After a step failed,
    it waits until the retry the failure recorded."""
    step = _pending_step(event, with_rooms)
    wait = event.retry_not_before
    if step is not None and wait is not None and step.at < wait:
        return Step(wait, step.action)
    return step


def _pending_step(event: DatingEvent, with_rooms: bool) -> Step | None:
    t, start = event.timings, event.start
    state = event.state
    if state is EventState.NOT_STARTED:
        return Step(t.confirmation_opens_at(start), OPEN_CONFIRMATION)
    if state is EventState.REG_CONFIRM:
        close = Step(t.confirmation_closes_at(start), CLOSE_CONFIRMATION)
        remind_at = t.confirmation_reminder_at(start)
        if remind_at is None or event.confirmation_reminded:
            return close
        return min(close, Step(remind_at, REMIND_UNCONFIRMED))
    if state is EventState.READY:
        pending = [Step(t.round_starts_at(start, 1), BEGIN)]
        if not event.rules_announced:
            pending.append(Step(t.rules_at(start), ANNOUNCE_RULES))
        if with_rooms and event.rooms_needed():
            # As soon as groups are fixed: rooms are made ahead, within quota.
            pending.append(Step(t.confirmation_closes_at(start), RESERVE_ROOMS))
        return min(pending)
    if state is EventState.RUNNING:
        if with_rooms and event.rooms_needed():
            return Step(t.confirmation_closes_at(start), RESERVE_ROOMS)  # overdue: at once
        phase = Phase(event.phase)
        if phase is Phase.ROUND:
            return Step(t.round_ends_at(start, event.round_no), END_ROUND)
        if phase is Phase.BREAK:
            return Step(t.round_starts_at(start, event.round_no + 1), START_ROUND)
        return Step(event.ratings_lock_at(), FINISH)
    if event.calls_left_running():
        # Called off in the middle of a round: its calls end at once.
        return Step(event.cancelled_at or t.round_starts_at(start, event.round_no), END_ROUND)
    return None
