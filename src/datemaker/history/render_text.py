"""`datemaker history ID`: the timeline and the state summary as lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from datemaker.history.describe import described, pair_text
from datemaker.history.facts import summary
from datemaker.history.load import History

TYPE_WIDTH = 22  # the longest event names ("RegistrationConfirmed") fit
DETAIL_INDENT = " " * 29  # details line up under the type column


def local(iso: str | None, zone: ZoneInfo | None = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO 8601 instant as wall time in `zone` (as written when None)."""
    if not iso:
        return "-"
    when = datetime.fromisoformat(iso)
    return (when.astimezone(zone) if zone and when.tzinfo else when).strftime(fmt)


def summary_lines(facts: dict[str, Any]) -> list[str]:
    lines = [
        f"state: {facts['state']}"
        + (f", round {facts['round']} ({facts['phase']})" if facts["round"] else "")
        + (f", reason: {facts['end_reason']}" if facts["end_reason"] else ""),
        f"registered {facts['registered']}, confirmed {facts['confirmed']}, "
        f"withdrawn {facts['withdrawn']}, ready {facts['ready']}",
    ]
    if facts["no_shows"]:
        lines.append("no-shows: " + ", ".join(map(str, facts["no_shows"])))
    if facts.get("left"):
        lines.append("left while the rounds ran: " + ", ".join(map(str, facts["left"])))
    plan = facts["plan"]
    if plan is None:
        lines.append("plan: not fixed yet")
    else:
        lines.append(f"plan: {len(plan['groups'])} group(s), {plan['rounds_count']} round(s)")
        for group in plan["groups"]:
            lines.append(f"  group {group['number']}: {', '.join(map(str, group['user_ids']))}")
        for row in plan["rounds"]:
            pairs = ", ".join(
                pair_text(p["a"], p["b"]) + (f" {p['room']}" if p["room"] else "") for p in row["pairs"]
            )
            rest = "; ".join(f"{s['user_id']} ({s['reason']})" for s in row["sit_outs"])
            lines.append(f"  round {row['round']}: {pairs}" + (f"; sits out: {rest}" if rest else ""))
        lines += [f"  no place: {u['user_id']} ({u['reason']})" for u in plan["unplaced"]]
        lines += [f"  kept apart: {pair_text(k['a'], k['b'])} ({', '.join(k['reasons'])})"
                  for k in plan.get("kept_apart", ())]
    if facts["reports"]:
        lines.append("reports: " + ", ".join(f"{a} -> {b}" for a, b in facts["reports"]))
    if facts["matches"]:
        lines.append("matches: " + ", ".join(pair_text(a, b) for a, b in facts["matches"]))
    return lines


def render_text(history: History) -> list[str]:
    event, zone = history.event, history.zone
    start = event.start.astimezone(zone)
    lines = [f"event {event.wire_id}: starts {start:%Y-%m-%d %H:%M} {event.timezone}"]
    if history.as_of is not None:
        lines.append(f"as of {history.as_of:%Y-%m-%d %H:%M:%S %z} (version {history.version})")
    lines.append(f"timeline (times in {event.timezone}):")
    for entry, described_lines in described(history.entries, zone):
        head, *details = described_lines
        lines.append(f"  v{entry.version:<4} {entry.at:%Y-%m-%d %H:%M:%S}  {entry.type:<{TYPE_WIDTH}} {head}")
        lines += [DETAIL_INDENT + detail for detail in details]
    lines.append("summary:")
    lines += ["  " + line for line in summary_lines(summary(event))]
    return lines
