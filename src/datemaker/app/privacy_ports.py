"""What erasing a person and retention need from the store (README, Privacy):
the person keys to destroy, the events each person's data is in, and the
record of every erase request. The PostgreSQL and embedded stores implement
it (adapters/postgres/erasures.py, adapters/sqlite/erasures.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol


class PersonEvent(NamedTuple):
    """An event someone's data is in, as its summary row says now."""

    wire_id: int
    state: int | None  # None: no summary row (nothing saved since it existed)
    over_at: datetime | None


class ErasureRow(NamedTuple):
    user_id: int
    request_ref: str
    requested_by: str
    requested_at: datetime
    erased_at: datetime | None  # None: waiting for the person's events to be over


class Recorded(NamedTuple):
    row: ErasureRow  # as it is after the call
    new: bool  # this call recorded the request
    done_before: bool  # it was carried out before this call: nothing changed
    destroyed: tuple[str, ...]  # the subjects whose keys this call destroyed


class RetentionDue(NamedTuple):
    user_id: int
    last_event: int  # the wire id of the event of theirs that was over last
    over_at: datetime


class ErasureStore(Protocol):
    def seen(self, user_id: int) -> bool:
        """Whether anything of this person was ever recorded (a key, an event, a request)."""

    def events_of(self, user_id: int) -> list[PersonEvent]:
        """The events the person's data is in, by wire id."""

    def record(self, request: ErasureRow, subjects: Sequence[str] | None, now: datetime) -> Recorded:
        """In one transaction: record the request unless it is (same person and
        reference); a request already carried out is returned as it is and
        changes nothing. With `subjects` (None: it waits), destroy every live
        key of them and mark the request carried out at `now`. Safe when
        several instances do it at once."""

    def waiting(self) -> list[ErasureRow]:
        """Requests not carried out yet, oldest first."""

    def retention_due(self, cutoff: datetime) -> list[RetentionDue]:
        """People with a live key whose events are all over, the last one at
        or before `cutoff`."""

    def rooms_due(self, cutoff: datetime) -> list[int]:
        """Events over at or before `cutoff` whose room key is live."""

    def destroy(self, subjects: Sequence[str], at: datetime) -> tuple[str, ...]:
        """Destroy every live key of these subjects; the ones it destroyed."""
