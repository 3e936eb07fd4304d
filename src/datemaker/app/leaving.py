"""An operator takes someone out of an event (`datemaker events remove`).

The aggregate decides what leaving means at each stage (`DatingEvent.leave`):
before the start the registration is withdrawn (in READY the plan is made
again without them); while the rounds run, the rounds still to come are
re-paired without them. The bot's `leave_event` and a moderator's block take
the same path. Taking out someone who is out already records nothing."""

from __future__ import annotations

import random
from dataclasses import dataclass

from datemaker.app.dating_events import DatingEvents
from datemaker.domain.dating_event import REMOVED, DatingEvent
from datemaker.domain.standing import InvalidModeration, is_word
from datemaker.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Removal:
    recorded: bool  # False: they were out already; nothing changed
    state: str  # the event's state when they were taken out
    from_round: int | None = None  # RUNNING: the first round re-paired without them
    partner_id: int | None = None  # RUNNING: their partner of the round under way, now resting
    lost_place: tuple[int, ...] = ()  # READY: who has no place in the plan made again

    def text(self, wire_id: int, user_id: int) -> str:
        if not self.recorded:
            return f"user {user_id} is out of event {wire_id} already: nothing changed"
        head = f"user {user_id} taken out of event {wire_id} ({self.state})"
        if self.from_round is not None:
            head += f"; rounds from {self.from_round} re-paired without them"
            if self.partner_id is not None:
                head += f"; their partner {self.partner_id} rests for the rest of the round"
        elif self.state == "READY":
            head += "; the plan is made again without them"
            if self.lost_place:
                head += "; no place any more: " + ", ".join(map(str, self.lost_place))
        else:
            head += "; registration withdrawn"
        return head


class Leaving:
    def __init__(self, app: DatingEvents, *, rng: random.Random | None = None) -> None:
        self.app = app
        self._rng = rng or random.Random()

    def remove(self, wire_id: int, user_id: int, *, reason: str) -> Removal:
        """Take `user_id` out of event `wire_id` for `reason` (one word).
        NotRegistered when they never were in it; a DomainError when the
        event no longer allows it (over, the last round over, no place)."""
        if not is_word(reason):  # no free text is kept
            raise InvalidModeration("a reason is one word of at most 64 letters, digits or . _ : @ -")
        seed = self._rng.randrange(2**63)
        found = self.app.get_event(wire_id)  # UnknownEvent when there is none
        if _out_already(found, user_id):
            return Removal(False, found.state.name)

        def take_out(event: DatingEvent) -> Removal:
            state = event.state.name
            # The operator's word is the note: recorded, never logged.
            event.leave(user_id, self.app.clock(), seed, reason=REMOVED, note=reason)
            last = event.pending_events[-1]
            if isinstance(last, DatingEvent.ParticipantLeft):
                return Removal(True, state, from_round=last.from_round, partner_id=last.partner_id)
            return Removal(True, state, lost_place=tuple(getattr(last, "lost_place", ())))

        done = self.app.change(wire_id, take_out)
        log.info("taken out of an event", event_id=wire_id, user_id=user_id, state=done.state)
        return done


def _out_already(event: DatingEvent, user_id: int) -> bool:
    """Left while the rounds ran, or withdrawn (and not registered again)."""
    withdrawn = str(user_id) in event.withdrawn_profiles and not event.is_registered(user_id)
    return user_id in event.left or withdrawn
