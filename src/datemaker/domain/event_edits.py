"""What an operator's edit of a dating event may change, and until when.

An edit names the fields to change: `start`, `timezone`, `users_limit`,
`capacity` (None: unlimited) and the offsets of `Timings` by their field
names. Only the values that differ from the event's are changes; they are
recorded as `{field: [old, new]}`, JSON-plain: the start in ISO 8601 (UTC),
offsets in seconds.

Until when:
- the start, the zone, the group size and the timings: until confirmation
  closes (NOT_STARTED, REG_CONFIRM). From then on groups and rounds are fixed
  on them and everyone has been told whether they take part.
- the capacity: while registration is open (the same states), since it is
  checked only at registration; in READY a new one would change nothing, so
  it is refused rather than taken in silence. Never below the registrations
  held: nobody loses a place by it.
- a new start or new timings must leave confirmation closing after the edit:
  a deadline already past would have the clock fix the groups at once on
  confirmations collected for another time (and a start in the past is
  past every deadline).

Confirmations collected for one time do not hold for another. A change that
moves the dates (the start, the ready grace, a round's or a break's length)
while confirmation is open resets them, and everyone registered is asked
again (`ConfirmationsReset`). See `DatingEvent.edit` for why the event stays
in REG_CONFIRM then."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from datemaker.domain.errors import DomainError, EventOver, InvalidSchedule
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings

if TYPE_CHECKING:
    from datemaker.domain.dating_event import DatingEvent

TIMING_FIELDS = tuple(f.name for f in fields(Timings))
EVENT_FIELDS = ("start", "timezone", "users_limit", "capacity")
EDITABLE = (*EVENT_FIELDS, *TIMING_FIELDS)  # also the order changes are recorded in

UNTIL_CONFIRMATION_CLOSES = frozenset({EventState.NOT_STARTED, EventState.REG_CONFIRM})
# Capacity is checked at registration only, which closes with confirmation.
WHILE_REGISTRATION_IS_OPEN = UNTIL_CONFIRMATION_CLOSES
# What moves the dates people confirmed they would come to.
MOVES_THE_DATES = frozenset({"start", "ready_grace", "round_length", "break_length"})


class EditClosed(DomainError):
    """The field can no longer change in the event's state."""

    reason = "edit_closed"


class CapacityBelowRegistrations(DomainError):
    reason = "capacity_below_registrations"


class StartTooSoon(DomainError):
    """The new start is past, or confirmation would already have closed by it."""

    reason = "start_too_soon"


def changes_for(event: DatingEvent, requested: Mapping[str, Any], at: datetime) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for what `requested` changes; raises a
    DomainError when the edit is refused (then nothing is changed)."""
    if event.state.is_over:
        raise EventOver(event.state.name, "edit the event")
    unknown = sorted(set(requested) - set(EDITABLE))
    if unknown:
        raise InvalidSchedule(f"cannot edit {', '.join(unknown)}: only {', '.join(EDITABLE)}")
    old = _values(event)
    new = {**old, **_checked(requested, event.timings)}
    changes = {name: [old[name], new[name]] for name in EDITABLE if new[name] != old[name]}
    for name in changes:
        _require_open(event.state, name)
    if "capacity" in changes and new["capacity"] is not None and new["capacity"] < len(event.registrations):
        raise CapacityBelowRegistrations(
            f"capacity {new['capacity']} is below the {len(event.registrations)} registrations held"
        )
    if changes.keys() & {"start", *TIMING_FIELDS}:
        start = datetime.fromisoformat(new["start"])
        closes = Timings(**{name: new[name] for name in TIMING_FIELDS}).confirmation_closes_at(start)
        if start <= at:
            raise StartTooSoon(f"the new start {new['start']} is in the past")
        if closes <= at:
            raise StartTooSoon(f"confirmation would have closed at {closes.isoformat()} by the new start and timings")
    return changes


def moves_the_dates(changes: Mapping[str, Any]) -> bool:
    return bool(MOVES_THE_DATES & changes.keys())


def _values(event: DatingEvent) -> dict[str, Any]:
    return {
        "start": event.start.astimezone(UTC).isoformat(),
        "timezone": event.timezone,
        "users_limit": event.users_limit,
        "capacity": event.capacity,
        **event.timings.to_record(),
    }


def _checked(requested: Mapping[str, Any], timings: Timings) -> dict[str, Any]:
    """The requested values as recorded, each checked as `DatingEvent.schedule` does."""
    found = dict(requested)
    if "start" in found:
        start = found["start"]
        if not isinstance(start, datetime) or start.utcoffset() is None:
            raise InvalidSchedule("start must carry its offset (an aware datetime)")
        found["start"] = start.astimezone(UTC).isoformat()
    if "timezone" in found and not (isinstance(found["timezone"], str) and found["timezone"]):
        raise InvalidSchedule("timezone must be an IANA zone name")
    if "users_limit" in found and not (_whole(found["users_limit"]) and found["users_limit"] >= 2):
        raise InvalidSchedule("users_limit must be at least 2 (one pair)")
    capacity = found.get("capacity")
    if capacity is not None and not (_whole(capacity) and capacity >= 1):
        raise InvalidSchedule("capacity must be at least 1 when given")
    offsets = {name: found[name] for name in TIMING_FIELDS if name in found}
    if offsets:
        found.update(Timings(**{**timings.to_record(), **offsets}).to_record())  # InvalidSchedule when wrong
    return found


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require_open(state: EventState, name: str) -> None:
    if name == "capacity":
        if state not in WHILE_REGISTRATION_IS_OPEN:
            raise EditClosed(f"the capacity cannot change while the event is {state.name}: registration has closed")
    elif state not in UNTIL_CONFIRMATION_CLOSES:
        raise EditClosed(f"the {name.replace('_', ' ')} cannot change while the event is {state.name}:"
                         " confirmation has closed")
