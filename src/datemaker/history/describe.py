"""Each timeline entry in words: a headline and, for plans, rounds and
attendance, detail lines. An event type without a describer here (one added
later) is shown with all its fields, so nothing recorded is ever hidden."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from datemaker.domain.personal_data import ERASED, is_erased
from datemaker.history.erased import seen_as
from datemaker.domain.pairing import Plan
from datemaker.history.timeline import Entry

Lines = list[str]  # the headline first, then detail lines
PLAN_CARRIERS = ("GroupsFormed", "Skipped", "Started", "Replanned", "ParticipantLeft")  # events that record a plan


def pair_text(a: Any, b: Any) -> str:
    return f"{a}+{b}"


def plan_lines(plan: Plan) -> Lines:
    lines = []
    for group in plan.groups:
        lines.append(f"group {group.number} ({group.method}): {', '.join(map(str, group.user_ids))}")
        for planned in group.rounds:
            pairs = ", ".join(pair_text(p.a, p.b) for p in planned.pairs) or "no dates"
            rest = "; ".join(f"{s.user_id} ({s.reason})" for s in planned.sit_outs)
            lines.append(f"  round {planned.number}: {pairs}" + (f"; sits out: {rest}" if rest else ""))
    lines += [f"no place: {u.user_id} ({u.reason})" for u in plan.unplaced]
    lines += [f"kept apart: {pair_text(a, b)} ({', '.join(why)})" for (a, b), why in plan.kept_apart]
    return lines


def round_lines(plan: Plan | None, round_no: int, rooms: dict[str, Any]) -> Lines:
    """The round's dates with the room each pair was given, and its sit-outs."""
    if plan is None:
        return [f"{key}: {room.get('uri', '?')}" for key, room in sorted(rooms.items())]
    lines = []
    for p in sorted(plan.pairs_in_round(round_no), key=lambda p: (p.a, p.b)):
        room = rooms.get(f"{p.a}-{p.b}") or {}
        lines.append(f"{pair_text(p.a, p.b)}: {room.get('uri') or 'no room'}")
    lines += [f"{s.user_id} sits out ({s.reason})" for s in plan.sit_outs(round_no)]
    return lines


def _scheduled(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    start = e.get("start")
    local = datetime.fromisoformat(start).astimezone(zone).strftime("%Y-%m-%d %H:%M") if start else "?"
    return [
        f"starts {local} {e.get('timezone')}, users_limit {e.get('users_limit')}, "
        f"capacity {e.get('capacity') or 'unlimited'}, ready check {'on' if e.get('ready_check') else 'off'}"
    ]


def _registered(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    profile = e.get("profile") or {}
    about = ERASED if is_erased(profile) else ", ".join(str(v) for v in (profile.get("sex"), profile.get("city")) if v)
    return [f"user {e.get('user_id')}" + (f" ({about})" if about else "")]


def _why(e: Entry) -> str:
    return ": ".join(str(word) for word in (e.get("reason"), e.get("note")) if word)


def _user(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    return [f"user {e.get('user_id')}" + (f" ({_why(e)})" if _why(e) else "")]


def _replanned(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    removed = ", ".join(map(str, e.get("removed") or []))
    lost = ", ".join(map(str, e.get("lost_place") or []))
    head = f"without {removed} ({e.get('reason')}): {plan.rounds_count if plan else 0} round(s)"
    return [head + (f"; no place any more: {lost}" if lost else ""), *(plan_lines(plan) if plan else [])]


def _left(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    """Someone left while the rounds ran: why, their date cut short, and the
    rounds still to come as re-paired (those already started stay)."""
    who, why = e.get("user_id"), _why(e)
    head = f"user {who} " + (f"taken out ({why})" if why else "left") + f" during round {e.get('round_no')}"
    if e.get("partner_id") is not None:
        head += f"; {e.get('partner_id')} rests for the rest of it"
    if e.get("plan") is None or plan is None:
        return [head + "; no rounds to come for their group"]
    first = e.get("from_round")
    lines = [head + f"; rounds {first}-{plan.rounds_count} re-paired without them"]
    group = next((g for g in plan.groups if who in g.user_ids), None)
    for planned in group.rounds if group else ():
        if planned.number >= first:
            pairs = ", ".join(pair_text(p.a, p.b) for p in planned.pairs) or "no dates"
            rest = "; ".join(f"{s.user_id} ({s.reason})" for s in planned.sit_outs)
            line = f"  group {group.number} round {planned.number}: {pairs}"
            lines.append(line + (f"; sits out: {rest}" if rest else ""))
    return lines


def _with_plan(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    head = f"{len(plan.groups)} group(s), {plan.rounds_count} round(s)" if plan else "no plan"
    if e.get("reason"):
        head = f"{e.get('reason')}; {head}"
    return [head, *(plan_lines(plan) if plan else [])]


def _started(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    no_shows = ", ".join(map(str, e.get("no_shows") or [])) or "none"
    if e.get("plan") is None:  # recorded only when the present were re-paired
        lines = [f"no-shows: {no_shows}; the dates stay as announced"]
    else:
        lines = [f"no-shows: {no_shows}; re-paired: {plan.rounds_count if plan else 0} round(s)"]
        lines += plan_lines(plan) if plan else []
    if e.get("round_no"):
        lines.append(f"round {e.get('round_no')} rooms:")
        lines += ["  " + line for line in round_lines(plan, e.get("round_no"), e.get("rooms") or {})]
    return lines


def _round_started(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    return [f"round {e.get('round_no')}", *round_lines(plan, e.get("round_no"), e.get("rooms") or {})]


def _round_ended(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    return [f"round {e.get('round_no')}, now {e.get('phase')}"]


def _rooms_reserved(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    return [f"{len(e.get('rooms') or [])} room(s) for round {e.get('round_no')}"]


def _rated(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    category = f" ({e.get('category')})" if e.get("category") else ""
    return [f"{e.get('user_id')} -> {e.get('partner_id')}: {e.get('reaction')}{category}"]


def _attendance(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    lines = [f"round {e.get('round_no')}" + (" (final reading)" if e.get("final") else "")]
    for date in e.get("dates") or []:
        people = ", ".join(
            f"{p.get('user_id')} {p.get('status')} {p.get('seconds', 0)}s" for p in date.get("people", [])
        )
        others = ", ".join(seen_as(o).removeprefix("unknown: ") or "?" for o in date.get("others", []))
        pair = pair_text(*date.get("pair", ["?", "?"]))
        lines.append(f"{pair}: {people}" + (f"; also in the room: {others}" if others else ""))
    return lines


def _finished(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    matches = ", ".join(pair_text(*m) for m in e.get("matches") or [])
    return [f"matches: {matches or 'none'}"]


def _reason(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    return [f"reason: {e.get('reason')}"]


def duration_text(seconds: Any) -> str:
    """Seconds as the CLI writes durations: `90s`, `5m`, `1h30m`, `0`."""
    if not isinstance(seconds, int) or seconds <= 0:
        return str(seconds)
    parts, left = [], seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts)


def _edited_value(name: str, value: Any, other: Any, zone: ZoneInfo) -> str:
    if name == "start":
        when = datetime.fromisoformat(value).astimezone(zone)
        same_day = datetime.fromisoformat(other).astimezone(zone).date() == when.date()
        return when.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")
    if name == "capacity" and value is None:
        return "unlimited"
    if name in ("start", "timezone", "users_limit", "capacity"):
        return str(value)
    return duration_text(value)  # one of the timings, in seconds


def _edited(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    changed = []
    for name, (old, new) in (e.get("changes") or {}).items():
        label = name.replace("_length", "").replace("_", " ")
        changed.append(f"{label} {_edited_value(name, old, new, zone)} → {_edited_value(name, new, old, zone)}")
    return [f"edited by {e.get('by')}: {', '.join(changed) or 'nothing'}"]


def _confirmations_reset(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    dropped = ", ".join(map(str, e.get("dropped") or [])) or "none"
    asked = ", ".join(map(str, e.get("user_ids") or [])) or "nobody"
    return [f"confirmations reset ({e.get('reason')}): no longer confirmed: {dropped}; asked again: {asked}"]


def _step_failed(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    retry = e.get("retry_at")
    local = datetime.fromisoformat(retry).astimezone(zone).strftime("%H:%M:%S") if retry else "?"
    return [f"the clock's next step failed ({e.get('error')}); tried again at {local}"]


def _generic(e: Entry, plan: Plan | None, zone: ZoneInfo) -> Lines:
    shown = {k: v for k, v in e.fields.items() if k != "state"}
    return [", ".join(f"{k}={json.dumps(v, ensure_ascii=False, sort_keys=True)}" for k, v in shown.items())]


DESCRIBERS: dict[str, Callable[[Entry, Plan | None, ZoneInfo], Lines]] = {
    "Scheduled": _scheduled,
    "Registered": _registered,
    "RegistrationCancelled": _user,
    "RegistrationConfirmed": _user,
    "ConfirmationOpened": lambda e, p, z: ["asking registered users to confirm"],
    "ConfirmationReminded": lambda e, p, z: [
        f"asked again to confirm: {', '.join(map(str, e.get('user_ids') or [])) or 'nobody'}"],
    "GroupsFormed": _with_plan,
    "Skipped": _with_plan,
    "Replanned": _replanned,
    "ParticipantLeft": _left,
    "Cancelled": _reason,
    "Edited": _edited,
    "ConfirmationsReset": _confirmations_reset,
    "MarkedReady": _user,
    "RulesAnnounced": lambda e, p, z: ["rules and the ready check sent"],
    "Started": _started,
    "RoomsReserved": _rooms_reserved,
    "RoundStarted": _round_started,
    "RoundEnded": _round_ended,
    "PartnerRated": _rated,
    "AttendanceRecorded": _attendance,
    "Finished": _finished,
    "StepFailed": _step_failed,
    "StepsResumed": lambda e, p, z: ["the clock's steps go on again"],
}


def described(entries: list[Entry], zone: ZoneInfo) -> list[tuple[Entry, Lines]]:
    """Every entry with its lines; rounds are read against the plan in force."""
    plan: Plan | None = None
    out = []
    for entry in entries:
        if entry.type in PLAN_CARRIERS and isinstance(entry.get("plan"), dict):
            try:
                plan = Plan.from_record(entry.get("plan"))
            except (ValueError, KeyError, TypeError):
                plan = None  # an unreadable plan record: show the rest as recorded
        describe = DESCRIBERS.get(entry.type, _generic)
        try:
            lines = describe(entry, plan, zone)
        except (ValueError, KeyError, TypeError, AttributeError):
            lines = _generic(entry, plan, zone)  # a shape this code does not expect
        out.append((entry, lines))
    return out
