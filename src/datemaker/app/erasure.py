"""Erasing a person (`datemaker users erase`, README, Privacy): their key is
destroyed (crypto-shredding), and so are the room keys of the events they
were in (names seen in those rooms that nobody was identified by might be
theirs). What those keys sealed reads "erased" from then on, everywhere and
on every replay; ids, states, times, pairs, reactions, scores and moderation
records stay, so histories, pairing rules and the analytics stay whole.

An event not over that still holds their registration needs their data (a
re-plan, re-pairing while the rounds run): the request is recorded and waits,
and the service's privacy job carries it out once those events are over.

The keys are destroyed and the request marked done in one transaction of the
store (app/privacy_ports.py); this instance's keyring forgets them at once,
another's within its cache time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from datemaker.app.dating_events import DatingEvents
from datemaker.app.privacy_ports import ErasureRow, ErasureStore, PersonEvent
from datemaker.domain.errors import DomainError, UnknownEvent
from datemaker.domain.ids import event_uuid
from datemaker.domain.lifecycle import EventState
from datemaker.domain.standing import InvalidModeration, is_word
from datemaker.logs import get_logger

log = get_logger(__name__)

Forget = Callable[[str], None]  # the keyring's: drop a destroyed key from this instance's cache


class UnknownPerson(DomainError):
    reason = "unknown_user"


def user_subject(user_id: int) -> str:
    """The key subject of a person (as adapters/privacy/personal_fields.py names it)."""
    return f"user:{int(user_id)}"


def room_subject(wire_id: int) -> str:
    """The key subject of the names seen in an event's rooms that nobody was identified by."""
    return f"room:{event_uuid(wire_id)}"


@dataclass(frozen=True)
class Waiting:
    wire_id: int
    state: str


@dataclass(frozen=True)
class ErasureDone:
    user_id: int
    ref: str
    outcome: str  # erased, already, nothing_left, waiting
    at: datetime  # carried out at (erased, already, nothing_left) or requested at (waiting)
    keys: int = 0  # keys destroyed by this call
    rooms: tuple[int, ...] = ()  # events whose room keys this call destroyed
    waiting_for: tuple[Waiting, ...] = field(default=())

    def text(self) -> str:
        who = f"user {self.user_id}"
        if self.outcome == "already":
            return (f"{who}: erase request {self.ref} was carried out already at {self.at.isoformat()};"
                    " nothing changed")
        if self.outcome == "waiting":
            events = ", ".join(f"{w.wire_id} ({w.state})" for w in self.waiting_for)
            first = self.waiting_for[0].wire_id
            return (f"{who}: erase request {self.ref} recorded at {self.at.isoformat()}; it waits for event(s)"
                    f" {events}, which still hold their registration and need their data; the service carries"
                    f" it out once they are over (`datemaker events remove {first} {self.user_id} --reason WORD`"
                    " takes them out of an event not running yet sooner; run the erase again then)")
        if self.outcome == "nothing_left":
            return (f"{who}: erase request {self.ref} recorded at {self.at.isoformat()}; nothing of theirs was"
                    " left to erase (erased before, with nothing recorded since)")
        rooms = f" and the room keys of event(s) {', '.join(map(str, self.rooms))}" if self.rooms else ""
        return (f"{who} erased at {self.at.isoformat()} (request {self.ref}): {self.keys} key(s) destroyed,"
                f" theirs{rooms}; their profile, Meet accounts, display names and notes read \"erased\" from now"
                " on; ids, states, times, pairs, reactions, scores and moderation records stay (the analytics"
                " tables hold no personal columns); other instances stop using the keys within a minute")


class Erasure:
    def __init__(self, app: DatingEvents, store: ErasureStore, forget: Forget) -> None:
        self.app, self.store, self.forget = app, store, forget

    def erase(self, user_id: int, *, ref: str, by: str) -> ErasureDone:
        """Erase the person now, or record the request to be carried out once
        the events that need their data are over (see the module).
        UnknownPerson when datemaker never recorded anything of theirs."""
        for name, word in (("a request reference", ref), ("who asks", by)):
            if not is_word(word):
                raise InvalidModeration(f"{name} is one word of at most 64 letters, digits or . _ : @ -")
        if not self.store.seen(user_id):
            raise UnknownPerson(f"user {user_id} was never seen by datemaker: nothing of theirs is recorded here"
                                " (events recorded before personal data was sealed need `datemaker privacy"
                                " reseal` first)")
        return self._carry_out(ErasureRow(user_id, ref, by, self.app.clock(), None))

    def carry_out_waiting(self) -> list[ErasureDone]:
        """Every waiting request whose events are over now (the privacy job)."""
        done = []
        for row in self.store.waiting():
            result = self._carry_out(row)
            if result.outcome != "waiting":
                done.append(result)
        return done

    def waits_for(self, user_id: int, events: Sequence[PersonEvent]) -> list[Waiting]:
        """The events not over that still hold the person's registration."""
        found = []
        for known in events:
            if known.state is not None and EventState(known.state).is_over:
                continue
            try:
                event = self.app.get_event(known.wire_id)
            except UnknownEvent:
                continue
            if not event.state.is_over and event.is_registered(user_id):
                found.append(Waiting(event.wire_id, event.state.name))
        return found

    def _carry_out(self, request: ErasureRow) -> ErasureDone:
        user_id, now = request.user_id, self.app.clock()
        events = self.store.events_of(user_id)
        waiting = self.waits_for(user_id, events)
        waited = {w.wire_id for w in waiting}
        # Room keys only of events over: one not over that they are out of
        # (withdrawn before its start) never had them in a room.
        rooms = [e.wire_id for e in events if e.wire_id not in waited and self._over(e)]
        subjects = None if waiting else [user_subject(user_id), *map(room_subject, rooms)]
        recorded = self.store.record(request, subjects, now)
        for subject in recorded.destroyed:
            self.forget(subject)
        row = recorded.row
        if recorded.done_before:
            assert row.erased_at is not None
            return ErasureDone(user_id, row.request_ref, "already", row.erased_at)
        if subjects is None:
            if recorded.new:
                log.info("erase request waits", user_id=user_id, events=sorted(waited))
            return ErasureDone(user_id, row.request_ref, "waiting", row.requested_at, waiting_for=tuple(waiting))
        destroyed_rooms = tuple(w for w in rooms if room_subject(w) in set(recorded.destroyed))
        user_keys = user_subject(user_id) in recorded.destroyed
        outcome = "erased" if user_keys or destroyed_rooms else "nothing_left"
        log.info("person erased", user_id=user_id, keys=len(recorded.destroyed), rooms=list(destroyed_rooms),
                 outcome=outcome)
        return ErasureDone(user_id, row.request_ref, outcome, now, keys=len(recorded.destroyed),
                           rooms=destroyed_rooms)

    def _over(self, known: PersonEvent) -> bool:
        if known.state is not None and EventState(known.state).is_over:
            return True
        try:
            return self.app.get_event(known.wire_id).state.is_over
        except UnknownEvent:
            return False
