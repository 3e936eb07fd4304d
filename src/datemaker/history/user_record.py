"""`datemaker users show USER_ID`: a user as the moderators see them: their
blocks (in force, run out, lifted), the reports they gave and received with
the decisions on them, and their events with each round's partner and
attendance. Read from the event store; scans the catalog like `history --user`."""

from __future__ import annotations

from typing import Any

from datemaker.app.dating_events import DatingEvents
from datemaker.history.render_text import local
from datemaker.history.reports import Reports
from datemaker.history.user_view import event_view, involves

FORMAT = "datemaker.user/1"
EVENT_FACTS = ("event_id", "start", "timezone", "state", "registration", "confirmed", "ready", "no_show",
               "group", "no_place", "rounds")


def user_record(app: DatingEvents, user_id: int) -> dict[str, Any]:
    """The documented shape of `users show --json`."""
    reports = Reports(app)
    standing = reports.standing(user_id)
    now = app.clock()
    events = [reports.event(w)[0] for w in app.catalog_wire_ids()]
    mine = sorted((e for e in events if involves(e, user_id)), key=lambda e: (e.start, e.wire_id))
    filed = reports.listed()
    return {
        "format": FORMAT,
        "user_id": user_id,
        "blocked": standing.block_in_force(now) if standing else None,
        "blocks": list(standing.blocks) if standing else [],
        "reports_given": [r.to_dict(reports.decision(r)) for r in filed if r.reporter == user_id],
        "reports_received": [r.to_dict(reports.decision(r)) for r in filed if r.reported == user_id],
        "events": [{k: v for k, v in event_view(app, e, user_id).facts.items() if k in EVENT_FACTS} for e in mine],
    }


def _block_line(block: dict[str, Any]) -> str:
    def when(iso: str) -> str:
        return local(iso, fmt="%Y-%m-%d %H:%M %z")

    until = f" until {when(block['until'])}" if block["until"] else " until lifted"
    lifted = f"; lifted {when(block['lifted_at'])} by {block['lifted_by']}" if block["lifted_at"] else ""
    why = f" (report {block['report_id']})" if block.get("report_id") else ""
    return f"  {when(block['at'])} by {block['by']}: {block['reason']}{why}{until}{lifted}"


def render_user_record(doc: dict[str, Any]) -> list[str]:
    blocked = doc["blocked"]
    lines = [f"user {doc['user_id']}: " + (f"blocked ({blocked['reason']})" if blocked else "not blocked")]
    lines.append("blocks:" + ("" if doc["blocks"] else " none"))
    lines += [_block_line(b) for b in doc["blocks"]]
    for key, title, other in (("reports_given", "reports given", "reported"), ("reports_received", "reports received", "reporter")):
        lines.append(f"{title}:" + ("" if doc[key] else " none"))
        lines += [f"  {r['report_id']} {local(r['at'])} {other} {r[other]}"
                  + (f" ({r['category']})" if r["category"] else "") + f": {r['status']}" for r in doc[key]]
    lines.append("events:" + ("" if doc["events"] else " none"))
    for e in doc["events"]:
        flags = [e["registration"], "confirmed" if e["confirmed"] else "not confirmed"]
        flags += (["ready"] if e["ready"] else []) + (["no-show"] if e["no_show"] else [])
        flags += [f"no place ({e['no_place']})"] if e["no_place"] else []
        lines.append(f"  event {e['event_id']} ({local(e['start'])} {e['timezone']}), {e['state']}: {', '.join(flags)}")
        for r in e["rounds"]:
            seen = r["attendance"]
            was = f": {seen['status']}, {seen['seconds']}s" if seen else ": attendance not recorded"
            if r["partner_id"] is None:
                lines.append(f"    round {r['round']}: sits out ({r['sit_out'] or 'no date'})")
            else:
                lines.append(f"    round {r['round']} with {r['partner_id']}{was}")
    return lines
