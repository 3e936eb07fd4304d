"""`datemaker whatif` as text (the two sides in columns, then both plans)
and as JSON:

    {"format": "datemaker.whatif/1", "event_id", "timezone", "start", "state",
     "settings": {"then": S, "what_if": S}, "presence", "rounds_cap",
     "replans_not_replayed", "then": F, "what_if": F}
    S: {"users_limit", "round_seconds", "break_seconds", "ready_check", "rounds_max"}
    F: {"groups", "rounds", "dates", "unplaced", "sit_outs", "score_mean",
        "score_min", "same_pairs", "length_seconds", "first_round_start",
        "last_round_end", "plan": {"groups", "rounds", "unplaced", "kept_apart"}}

and over many events `{"format": "datemaker.whatif-all/1", "since",
"options", "events": [{"event_id", "start", "timezone", "then", "what_if"}],
"total": {"events", "then", "what_if"}}`. New keys may be added; existing
ones keep their meaning (bump the format number otherwise)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from datemaker.history.describe import plan_lines
from datemaker.history.whatif import Options, Setting, WhatIf
from datemaker.history.whatif_figures import plan_document, public, sides, summed

FORMAT = "datemaker.whatif/1"
FORMAT_ALL = "datemaker.whatif-all/1"
WIDTH = 14  # the label column; each side's column is as wide


def duration_text(seconds: int) -> str:
    """90 -> 1m30s, 3600 -> 1h, 0 -> 0."""
    if not seconds:
        return "0"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{v}{unit}" for v, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if v)


def score_text(score: float | None) -> str:
    return "-" if score is None else f"{score:.2f}"


def _row(label: str, then: Any, now: Any) -> str:
    return f"{label:<{WIDTH}}{str(then):<{WIDTH}}{now}"


def _settings_rows(then: Setting, now: Setting) -> list[str]:
    def on(flag: bool) -> str:
        return "on" if flag else "off"

    return [
        _row("settings", "then", "what if"),
        _row("users limit", then.users_limit, now.users_limit),
        _row("round", duration_text(then.round_length), duration_text(now.round_length)),
        _row("break", duration_text(then.break_length), duration_text(now.break_length)),
        _row("ready check", on(then.ready_check), on(now.ready_check)),
        _row("rounds max", then.rounds_max or "-", now.rounds_max or "-"),
    ]


def figure_rows(then: dict[str, Any], now: dict[str, Any]) -> list[str]:
    same = now["same_pairs"]
    return [
        _row("", "then", "what if"),
        _row("groups", then["groups"], now["groups"]),
        _row("rounds", then["rounds"], now["rounds"]),
        _row("dates", then["dates"], now["dates"]),
        _row("no place", then["unplaced"], now["unplaced"]),
        _row("sit-outs", then["sit_outs"], now["sit_outs"]),
        _row("score mean", score_text(then["score_mean"]), score_text(now["score_mean"])),
        _row("score min", score_text(then["score_min"]), score_text(now["score_min"])),
        _row("same pairs", "-", f"{same} of {now['dates']}"),
        _row("length", duration_text(then["length_seconds"]), duration_text(now["length_seconds"])),
    ]


def _notes(what: WhatIf) -> list[str]:
    lines = []
    seen = what.presence
    if seen is None:
        lines.append("presence: the event never started; the plan is the one fixed before the start")
    else:
        absent = f" ({', '.join(map(str, seen.absent))})" if seen.absent else ""
        lines.append(f"presence: ready check {'on' if seen.ready_check else 'off'}: "
                     f"{len(seen.present)} present, {len(seen.absent)} absent{absent}")
        if seen.assumed:
            lines.append("  counted present, never asked (no place then): " + ", ".join(map(str, seen.assumed)))
    if what.plan.rounds_count < what.rounds_planned:
        lines.append(f"rounds: the planner has no cap; the first {what.plan.rounds_count} of "
                     f"{what.rounds_planned} rounds kept")
    if what.later_replans:
        lines.append(f"note: {what.later_replans} re-plan(s) after the start are not replayed")
    return lines


def render_text(what: WhatIf) -> list[str]:
    event = what.event
    zone = ZoneInfo(event.timezone)
    then, now = sides(what)
    lines = [f"event {event.wire_id}: starts {event.start.astimezone(zone):%Y-%m-%d %H:%M} {event.timezone}, "
             f"{event.state.name}; planned again, nothing written"]
    lines += _settings_rows(what.then, what.now)
    lines += figure_rows(then, now)
    lines += _notes(what)
    lines.append("then:")
    lines += ["  " + line for line in plan_lines(what.ran)]
    lines.append("what if:")
    lines += ["  " + line for line in plan_lines(what.plan)]
    return lines


def document(what: WhatIf) -> dict[str, Any]:
    event = what.event
    zone = ZoneInfo(event.timezone)
    then, now = sides(what)
    seen = what.presence
    return {
        "format": FORMAT,
        "event_id": event.wire_id,
        "timezone": event.timezone,
        "start": event.start.astimezone(zone).isoformat(),
        "state": event.state.name,
        "settings": {"then": what.then.to_dict(), "what_if": what.now.to_dict()},
        "presence": None if seen is None else {
            "ready_check": seen.ready_check,
            "present": list(seen.present),
            "absent": list(seen.absent),
            "assumed_present": list(seen.assumed),
        },
        "rounds_cap": None if what.now.rounds_max is None else {
            "rounds_max": what.now.rounds_max,
            "planned": what.rounds_planned,
            "kept": what.plan.rounds_count,
        },
        "replans_not_replayed": what.later_replans,
        "then": {**public(then), "plan": plan_document(what.ran)},
        "what_if": {**public(now), "plan": plan_document(what.plan)},
    }


def _summary(what: WhatIf) -> dict[str, Any]:
    event = what.event
    zone = ZoneInfo(event.timezone)
    then, now = sides(what)
    return {"event_id": event.wire_id, "start": event.start.astimezone(zone).isoformat(),
            "timezone": event.timezone, "then": then, "what_if": now}


def _line(head: str, then: dict[str, Any], now: dict[str, Any]) -> str:
    def change(name: str, show: Any = str) -> str:
        return f"{show(then[name])} -> {show(now[name])}"

    return (f"{head}: groups {change('groups')}, rounds {change('rounds')}, dates {change('dates')}, "
            f"no place {change('unplaced')}, sit-outs {change('sit_outs')}, "
            f"score mean {change('score_mean', score_text)}, min {change('score_min', score_text)}, "
            f"same pairs {now['same_pairs'] if now['same_pairs'] is not None else '-'}, "
            f"length {change('length_seconds', duration_text)}")


def render_all_text(found: Sequence[WhatIf]) -> list[str]:
    rows = [_summary(what) for what in found]
    lines = []
    for row in rows:
        start = datetime.fromisoformat(row["start"])
        lines.append(_line(f"event {row['event_id']} ({start:%Y-%m-%d %H:%M} {row['timezone']})",
                           row["then"], row["what_if"]))
    then, now = summed([r["then"] for r in rows]), summed([r["what_if"] for r in rows])
    lines.append(_line(f"total, {len(rows)} event(s)", then, now))
    return lines


def all_document(found: Sequence[WhatIf], since: datetime | None, options: Options) -> dict[str, Any]:
    rows = [_summary(what) for what in found]
    return {
        "format": FORMAT_ALL,
        "since": since.isoformat() if since else None,
        "options": {  # null: each event's own
            "users_limit": options.users_limit,
            "round_seconds": options.round_length,
            "break_seconds": options.break_length,
            "ready_check": options.ready_check,
            "rounds_max": options.rounds_max,
        },
        "events": [{**r, "then": public(r["then"]), "what_if": public(r["what_if"])} for r in rows],
        "total": {
            "events": len(rows),
            "then": summed([r["then"] for r in rows]),
            "what_if": summed([r["what_if"] for r in rows]),
        },
    }
