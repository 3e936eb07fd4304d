"""What a moderator reads off one event, as plain JSON-safe data shared by
every renderer: the state summary, the round x pair grid with room links,
sit-outs and no-place reasons, reactions and attendance."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.pairing import Plan
from datemaker.domain.pairing.model import kept_apart_record
from datemaker.history.timeline import Entry


def room_uri(event: DatingEvent, round_no: int, a: int, b: int) -> str | None:
    """The link the pair was given when its round started (None before)."""
    room = event.room_of(round_no, a, b)
    return room.get("uri") if room else None


def rounds_grid(event: DatingEvent) -> list[dict[str, Any]]:
    """Per round of the plan in force: its pairs (with room links once given)
    and who sits it out, and why."""
    plan = event.planned
    if plan is None:
        return []
    rows = []
    for round_no in range(1, plan.rounds_count + 1):
        pairs = sorted(plan.pairs_in_round(round_no), key=lambda p: (p.a, p.b))
        rows.append({
            "round": round_no,
            "pairs": [
                {"a": p.a, "b": p.b, "score": p.score, "room": room_uri(event, round_no, p.a, p.b)}
                for p in pairs
            ],
            "sit_outs": [
                {"user_id": s.user_id, "reason": s.reason}
                for s in sorted(plan.sit_outs(round_no), key=lambda s: s.user_id)
            ],
        })
    return rows


def plan_summary(event: DatingEvent) -> dict[str, Any] | None:
    plan = event.planned
    if plan is None:
        return None
    return {
        "rounds_count": plan.rounds_count,
        "groups": [
            {"number": g.number, "user_ids": list(g.user_ids), "method": g.method} for g in plan.groups
        ],
        "rounds": rounds_grid(event),
        "unplaced": [{"user_id": u.user_id, "reason": u.reason} for u in plan.unplaced],
        "kept_apart": [kept_apart_record(item) for item in plan.kept_apart],
    }


def attendance(event: DatingEvent) -> list[dict[str, Any]]:
    """Recorded attendance, one row per date, rounds in order."""
    recorded: dict[str, dict[str, Any]] = getattr(event, "attendance", None) or {}
    rows = []
    for round_key in sorted(recorded, key=int):
        reading = recorded[round_key]
        for date in reading.get("dates", []):
            rows.append({"round": int(round_key), "final": bool(reading.get("final")), **date})
    return rows


def reactions(entries: list[Entry], plan: Plan | None) -> list[dict[str, Any]]:
    """Every rating as recorded (a changed mind shows as two rows), with the
    round in which the two met."""
    rows = []
    for entry in entries:
        if entry.type != "PartnerRated":
            continue
        user_id, partner_id = entry.get("user_id"), entry.get("partner_id")
        met = dict((p, n) for n, p in plan.dates_of(user_id)) if plan and isinstance(user_id, int) else {}
        rows.append({
            "version": entry.version,
            "at": entry.at.isoformat(),
            "user_id": user_id,
            "partner_id": partner_id,
            "reaction": entry.get("reaction"),
            "round": met.get(partner_id),
        })
    return rows


def summary(event: DatingEvent) -> dict[str, Any]:
    """The state: counts, the plan if fixed, the current round and phase."""
    zone = ZoneInfo(event.timezone)
    withdrawn = sorted(int(uid) for uid in event.withdrawn_profiles if uid not in event.registrations)
    return {
        "event_id": event.wire_id,
        "state": event.state.name,
        "state_id": int(event.state),
        "start": event.start.astimezone(zone).isoformat(),
        "timezone": event.timezone,
        "users_limit": event.users_limit,
        "capacity": event.capacity,
        "registered": len(event.registrations),
        "confirmed": len(event.confirmed_user_ids),
        "withdrawn": len(withdrawn),
        "ready": len(event.ready),
        "registered_user_ids": event.registered_user_ids,
        "confirmed_user_ids": event.confirmed_user_ids,
        "withdrawn_user_ids": withdrawn,
        "no_shows": list(event.no_shows),
        "left": list(event.left),  # gone while the rounds ran
        "round": event.round_no or None,
        "phase": event.phase or None,
        "plan": plan_summary(event),
        "ratings": [
            {"user_id": int(a), "partner_id": int(b), "reaction": r}
            for a, given in sorted(event.ratings.items(), key=lambda kv: int(kv[0]))
            for b, r in sorted(given.items(), key=lambda kv: int(kv[0]))
        ],
        "reports": [list(r) for r in event.reports],
        "matches": [list(m) for m in event.matches],
        "end_reason": event.end_reason,
        "attendance": attendance(event),
    }
