"""From what Meet saw in a date's room to what the event's history keeps:
for each of the two partners, when they joined, when they last left, how
long they were in the call during the round, and a word for it (present,
late, left_early, no_show, or unknown when the room held someone nobody
could identify). Everyone else seen in the room is kept too, identified
where possible: an earlier partner walking into a later date shows up.

Identity, best first: a signed-in account already tied to a user in this
event; a display name that equals one partner's platform name or username
(or starts with the name), never both partners'; otherwise unknown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from datemaker.domain.rooms import Attendee, Session


def date_attendance(
    pair: tuple[int, int],
    space: str,
    attendees: list[Attendee] | None,
    window: tuple[datetime, datetime],
    read_at: datetime,
    names: dict[int, list[str]],
    accounts: dict[str, int],
) -> dict[str, Any]:
    """One date's record. `attendees` None: the room could not be read."""
    if attendees is None:
        people = [{"user_id": uid, "status": "unknown", "sessions": 0} for uid in pair]
        return {"pair": list(pair), "space": space, "unread": True, "people": people, "others": []}
    mine: dict[int, list[tuple[Attendee, str]]] = {uid: [] for uid in pair}
    others = []
    for attendee in attendees:
        uid, how = identify(attendee, pair, names, accounts)
        if uid in mine:
            mine[uid].append((attendee, how))
        else:
            others.append({"user_id": uid, "kind": attendee.kind, "display_name": attendee.display_name,
                           **_times(attendee.sessions, window, read_at)})
    anonymous_left = any(o["user_id"] is None for o in others)
    people = [_person(uid, mine[uid], window, read_at, anonymous_left) for uid in pair]
    return {"pair": list(pair), "space": space, "people": people, "others": others}


def identify(
    attendee: Attendee, pair: tuple[int, int], names: dict[int, list[str]], accounts: dict[str, int]
) -> tuple[int | None, str]:
    if attendee.account and attendee.account in accounts:
        return accounts[attendee.account], "account"
    seen = _normalise(attendee.display_name)
    if attendee.kind != "phone" and seen:
        fits = [uid for uid in pair if any(_fits(seen, _normalise(n)) for n in names.get(uid, []) if n)]
        if len(fits) == 1:
            return fits[0], "name"
    return None, ""


def known_accounts(attendance: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Accounts already tied to users by earlier rounds of the same event."""
    found: dict[str, int] = {}
    for recorded in attendance.values():
        for date in recorded["dates"]:
            for person in date["people"]:
                for account in person.get("accounts", []):
                    found[account] = person["user_id"]
    return found


def _person(
    uid: int, found: list[tuple[Attendee, str]], window: tuple[datetime, datetime], read_at: datetime, anonymous_left: bool
) -> dict[str, Any]:
    sessions = tuple(s for attendee, _ in found for s in attendee.sessions)
    person: dict[str, Any] = {"user_id": uid, **_times(sessions, window, read_at)}
    if found:
        person["matched_by"] = sorted({how for _, how in found})[0]
        person["accounts"] = sorted({a.account for a, _ in found if a.account})
    start, end = window
    grace = timedelta(seconds=min(60.0, (end - start).total_seconds() / 5))
    if not sessions:
        # Nobody identified as them came; someone unidentified might be them.
        person["status"] = "unknown" if anonymous_left else "no_show"
        return person
    joined = min(s.start for s in sessions)
    still_in = any(s.end is None for s in sessions)
    last_left = max(s.end for s in sessions if s.end is not None) if not still_in else None
    person["late"] = joined > start + grace
    person["left_early"] = last_left is not None and last_left < end - grace
    person["status"] = "late" if person["late"] else "left_early" if person["left_early"] else "present"
    return person


def _times(sessions: Sequence[Session], window: tuple[datetime, datetime], read_at: datetime) -> dict[str, Any]:
    if not sessions:
        return {"joined_at": None, "left_at": None, "seconds": 0, "sessions": 0}
    start, end = window
    inside = sum(
        max((min(s.end or read_at, end) - max(s.start, start)).total_seconds(), 0.0) for s in sessions
    )
    open_session = any(s.end is None for s in sessions)
    return {
        "joined_at": min(s.start for s in sessions).isoformat(),
        "left_at": None if open_session else max(s.end for s in sessions if s.end).isoformat(),  # type: ignore[type-var]
        "seconds": round(inside),
        "sessions": len(sessions),
    }


def _normalise(name: str) -> str:
    return " ".join(name.casefold().split())


def _fits(seen: str, known: str) -> bool:
    return seen == known or seen.split(" ")[0] == known
