"""Where the personal fields (domain/personal_data.py) sit in each recorded
event and snapshot of a dating event, and whose they are: the walkers that
seal them on the way into the store and open them on the way out. Fields
recorded before sealing existed are plain, and are read as they are.

A group of fields in a record is replaced by one `"sealed": marker`; a single
top-level field (a note) by `{"sealed": marker}` in its place, so a recorded
event keeps exactly its own arguments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from datemaker.domain.personal_data import ERASED, NOTE_FIELDS, PARTNER_FIELDS, PROFILE_FIELDS, SEEN_FIELDS

Seal = Callable[[str, dict[str, Any]], list[Any]]
Open = Callable[[list[Any]], dict[str, Any] | None]

AGGREGATE = "datemaker.domain.dating_event:DatingEvent"
SNAPSHOT = "eventsourcing.domain:Snapshot"
SEALED = "sealed"
# Topics of the recorded events that carry personal fields.
REGISTERED, CANCELLED, LEFT, ATTENDANCE = (
    f"{AGGREGATE}.{name}" for name in ("Registered", "RegistrationCancelled", "ParticipantLeft", "AttendanceRecorded"))
PERSONAL_TOPICS = frozenset({REGISTERED, CANCELLED, LEFT, ATTENDANCE, SNAPSHOT})


def user(user_id: Any) -> str:
    return f"user:{int(user_id)}"


def room(originator_id: UUID | str) -> str:
    """Names seen in an event's rooms that nobody could be identified by."""
    return f"room:{originator_id}"


class Walk:
    """One pass over a record's personal fields: sealing, opening, or listing
    the subjects (`seal` and `open_` given as collectors)."""

    def __init__(self, seal: Seal | None = None, open_: Open | None = None) -> None:
        self.seal, self.open_ = seal, open_

    def event(self, topic: str, state: dict[str, Any], originator_id: UUID | str) -> dict[str, Any]:
        if topic == REGISTERED:
            return {**state, "profile": self.group(state["profile"], user(state["user_id"]), PROFILE_FIELDS)}
        if topic in (CANCELLED, LEFT):
            return self.notes(state, user(state["user_id"]))
        if topic == ATTENDANCE:
            return {**state, "dates": self.dates(state["dates"], originator_id)}
        if topic == SNAPSHOT and state.get("topic") == AGGREGATE:
            return {**state, "state": self.aggregate(state["state"], originator_id)}
        return state

    def aggregate(self, agg: dict[str, Any], originator_id: UUID | str) -> dict[str, Any]:
        out = dict(agg)
        if "registrations" in agg:
            out["registrations"] = {
                uid: {**entry, "profile": self.group(entry["profile"], user(uid), PROFILE_FIELDS)}
                for uid, entry in agg["registrations"].items()}
        if "withdrawn_profiles" in agg:
            out["withdrawn_profiles"] = {
                uid: self.group(profile, user(uid), PROFILE_FIELDS) for uid, profile in agg["withdrawn_profiles"].items()}
        if "attendance" in agg:
            out["attendance"] = {
                round_no: {**recorded, "dates": self.dates(recorded["dates"], originator_id)}
                for round_no, recorded in agg["attendance"].items()}
        return out

    def dates(self, dates: list[dict[str, Any]], originator_id: UUID | str) -> list[dict[str, Any]]:
        return [{
            **date,
            "people": [self.group(p, user(p["user_id"]), PARTNER_FIELDS) for p in date.get("people", [])],
            "others": [self.group(o, user(o["user_id"]) if o.get("user_id") else room(originator_id), SEEN_FIELDS)
                       for o in date.get("others", [])],
        } for date in dates]

    def group(self, holder: dict[str, Any], subject: str, fields: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(holder, dict):
            return holder
        if SEALED in holder:
            return self._open_group(holder, fields)
        if self.seal is None or holder.get(ERASED):
            return holder
        taken = {f: holder[f] for f in fields if holder.get(f) not in (None, [], "")}
        if not taken:
            return holder
        out = {k: v for k, v in holder.items() if k not in taken}
        out[SEALED] = self.seal(subject, taken)
        return out

    def notes(self, state: dict[str, Any], subject: str) -> dict[str, Any]:
        out = dict(state)
        for name in NOTE_FIELDS:
            value = state.get(name)
            if isinstance(value, dict) and SEALED in value:
                if self.open_ is not None:
                    opened = self.open_(value[SEALED])
                    out[name] = opened.get(name) if opened is not None else None
            elif isinstance(value, str) and value and self.seal is not None:
                out[name] = {SEALED: self.seal(subject, {name: value})}
        return out

    def _open_group(self, holder: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        if self.open_ is None:
            return holder  # sealing what is sealed already: as it is
        values = self.open_(holder[SEALED])
        out = {k: v for k, v in holder.items() if k != SEALED}
        if values is None:
            out.update({f: (list(v) if isinstance(v, list) else v) for f, v in fields.items()})
            out[ERASED] = True
        else:
            out.update(values)
        return out


def subjects_to_seal(topic: str, state: dict[str, Any], originator_id: UUID | str) -> set[str]:
    found: set[str] = set()

    def note(subject: str, values: dict[str, Any]) -> list[Any]:
        found.add(subject)
        return []

    if topic in PERSONAL_TOPICS:
        Walk(seal=note).event(topic, state, originator_id)
    return found


def markers_in(topic: str, state: dict[str, Any], originator_id: UUID | str) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()

    def note(marker: list[Any]) -> dict[str, Any] | None:
        found.add((marker[0], int(marker[1])))
        return {}

    if topic in PERSONAL_TOPICS:
        Walk(open_=note).event(topic, state, originator_id)
    return found
