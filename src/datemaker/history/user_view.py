"""`datemaker history --user ID`: one person across every event in the
catalog: their registration, partners per round, ratings given and
received, reports, matches and attendance.

It loads every event in the catalog (fine while there are hundreds; a read
model keyed by user would replace this scan when there are many more)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from datemaker.app.dating_events import DatingEvents
from datemaker.domain.dating_event import DatingEvent
from datemaker.history.describe import described
from datemaker.history.facts import attendance, room_uri
from datemaker.history.render_text import DETAIL_INDENT, TYPE_WIDTH, local
from datemaker.history.timeline import Entry, build_timeline

FORMAT = "datemaker.user-history/1"


class UnknownUser(LookupError):
    """The user took part in no event of the catalog."""


@dataclass(frozen=True)
class EventView:
    facts: dict[str, Any]  # JSON-safe: status, rounds, ratings, reports, matches
    entries: list[Entry]  # the timeline entries about this user


@dataclass(frozen=True)
class UserHistory:
    user_id: int
    events: list[EventView]  # by start

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: {"format", "user_id", "events": [{...facts, "entries": [...]}]}."""
        return {
            "format": FORMAT,
            "user_id": self.user_id,
            "events": [{**v.facts, "entries": [e.to_dict() for e in v.entries]} for v in self.events],
        }


def involves(event: DatingEvent, user_id: int) -> bool:
    key = str(user_id)
    plan = event.planned
    return (
        key in event.registrations
        or key in event.withdrawn_profiles
        or bool(plan and (user_id in plan.placed_user_ids or user_id in plan.unplaced_user_ids))
        or key in event.ratings
        or any(key in given for given in event.ratings.values())
    )


def _rounds(event: DatingEvent, user_id: int) -> list[dict[str, Any]]:
    plan = event.planned
    group = plan.group_of(user_id) if plan else None
    if plan is None or group is None:
        return []
    seen = {(d["round"], p["user_id"]): p for d in attendance(event) for p in d.get("people", [])}
    rows = []
    for planned in group.rounds:
        partner = plan.partner_of(user_id, planned.number)
        sit_out = next((s.reason for s in planned.sit_outs if s.user_id == user_id), None)
        person = seen.get((planned.number, user_id), {})
        rows.append({
            "round": planned.number,
            "partner_id": partner,
            "room": room_uri(event, planned.number, user_id, partner) if partner else None,
            "sit_out": sit_out,
            "attendance": {"status": person["status"], "seconds": person.get("seconds", 0)} if person else None,
        })
    return rows


def _ratings(entries: list[Entry], user_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    given, received = [], []
    for e in entries:
        if e.type != "PartnerRated":
            continue
        row = {"version": e.version, "at": e.at.isoformat(), "reaction": e.get("reaction")}
        if e.get("user_id") == user_id:
            given.append({**row, "partner_id": e.get("partner_id")})
        if e.get("partner_id") == user_id:
            received.append({**row, "user_id": e.get("user_id")})
    return given, received


def event_view(app: DatingEvents, event: DatingEvent, user_id: int) -> EventView:
    zone = ZoneInfo(event.timezone)
    entries = build_timeline(app.history(event.wire_id), zone)
    plan = event.planned
    given, received = _ratings(entries, user_id)
    group = plan.group_of(user_id) if plan else None
    facts = {
        "event_id": event.wire_id,
        "start": event.start.astimezone(zone).isoformat(),
        "timezone": event.timezone,
        "state": event.state.name,
        "registration": ("left" if user_id in event.left
                         else "registered" if event.is_registered(user_id) else "withdrawn"),
        "confirmed": event.is_confirmed(user_id),
        "ready": user_id in event.ready,
        "no_show": user_id in event.no_shows,
        "group": group.number if group else None,
        "no_place": plan.unplaced_reason(user_id) if plan else None,
        "rounds": _rounds(event, user_id),
        "ratings_given": given,
        "ratings_received": received,
        "reports_given": [b for a, b in event.reports if a == user_id],
        "reports_received": [a for a, b in event.reports if b == user_id],
        "matches": [b if a == user_id else a for a, b in event.matches if user_id in (a, b)],
    }
    return EventView(facts, [e for e in entries if user_id in (e.get("user_id"), e.get("partner_id"))])


def user_history(app: DatingEvents, user_id: int) -> UserHistory:
    """Raises UnknownUser when no event of the catalog involves the user."""
    events = [app.get_event(wire_id) for wire_id in app.catalog_wire_ids()]
    mine = sorted((e for e in events if involves(e, user_id)), key=lambda e: (e.start, e.wire_id))
    if not mine:
        raise UnknownUser(f"user {user_id} took part in no dating event")
    return UserHistory(user_id, [event_view(app, e, user_id) for e in mine])


def _reactions(rows: list[dict[str, Any]], who: str) -> str:
    return ", ".join(f"{r[who]} {r['reaction']} ({local(r['at'], fmt='%m-%d %H:%M')})" for r in rows) or "none"


def render_user_text(history: UserHistory) -> list[str]:
    lines = [f"user {history.user_id}: {len(history.events)} event(s)"]
    for view in history.events:
        e = view.facts
        zone = ZoneInfo(e["timezone"])
        lines.append(f"event {e['event_id']} ({local(e['start'])} {e['timezone']}): {e['state']}")
        status = [e["registration"], "confirmed" if e["confirmed"] else "not confirmed"]
        status += ["ready"] if e["ready"] else []
        status += ["no-show"] if e["no_show"] else []
        status += [f"group {e['group']}"] if e["group"] else []
        status += [f"no place ({e['no_place']})"] if e["no_place"] else []
        lines.append("  " + ", ".join(status))
        for r in e["rounds"]:
            seen = r["attendance"]
            was = f" ({seen['status']}, {seen['seconds']}s)" if seen else ""
            if r["partner_id"] is None:
                lines.append(f"  round {r['round']}: sits out ({r['sit_out'] or 'no date'})")
            else:
                lines.append(f"  round {r['round']}: with {r['partner_id']} {r['room'] or 'no room yet'}{was}")
        lines.append("  rated: " + _reactions(e["ratings_given"], "partner_id"))
        lines.append("  rated by: " + _reactions(e["ratings_received"], "user_id"))
        lines.append("  reports given: " + (", ".join(map(str, e["reports_given"])) or "none")
                     + "; received: " + (", ".join(map(str, e["reports_received"])) or "none"))
        lines.append("  matches: " + (", ".join(map(str, e["matches"])) or "none"))
        lines.append("  timeline:")
        for entry, described_lines in described(view.entries, zone):
            lines.append(f"    v{entry.version:<4} {entry.at:%Y-%m-%d %H:%M:%S}  {entry.type:<{TYPE_WIDTH}} {described_lines[0]}")
            lines += [DETAIL_INDENT + "  " + d for d in described_lines[1:]]
    return lines
