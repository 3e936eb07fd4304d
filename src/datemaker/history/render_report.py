"""One report's evidence (history/reports.py) as lines and as one
self-contained page, on `history --html`'s rules: inline CSS, a
Content-Security-Policy that loads nothing, no scripts, every recorded value
escaped, only http(s) room links clickable."""

from __future__ import annotations

from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from datemaker.history.erased import profile_words, seen_as
from datemaker.history.render_html import CSP, CSS, cells, link, table
from datemaker.history.render_text import local


def _profile(person: dict[str, Any]) -> str:
    fields = ("sex", "birthday", "city", "rating", "manual_score")
    return ", ".join(profile_words(person.get("profile"), fields)) or "none recorded"


def _status(doc: dict[str, Any]) -> str:
    decision = doc["decision"]
    if decision is None:
        return "open"
    note = f", note {decision['note']}" if decision.get("note") else ""
    return f"{decision['outcome']} by {decision['by']} at {local(decision['at'], ZoneInfo(doc['timezone']))}{note}"


def _seen(person: dict[str, Any], zone: ZoneInfo) -> str:
    status = f"{person['status']} " if person.get("status") else ""
    return (f"{seen_as(person)} "
            f"{status}{person.get('seconds', 0)}s "
            f"({local(person.get('joined_at'), zone, '%H:%M:%S')} - {local(person.get('left_at'), zone, '%H:%M:%S')})")


def render_report_text(doc: dict[str, Any]) -> list[str]:
    zone = ZoneInfo(doc["timezone"])
    lines = [
        f"report {doc['report_id']}: {doc['reporter']} reported {doc['reported']} in event {doc['event_id']}"
        f" at {local(doc['at'], zone, '%Y-%m-%d %H:%M:%S')} {doc['timezone']}"
        + (f" ({doc['category']})" if doc["category"] else ""),
        f"status: {_status(doc)}",
    ]
    for role in ("reporter", "reported"):
        person = doc["people"][role]
        flags = [person["registration"]] + (["no-show"] if person["no_show"] else [])
        flags += [f"blocked ({person['blocked']['reason']})"] if person["blocked"] else []
        lines.append(f"{role} {person['user_id']}: {_profile(person)}; {', '.join(flags)}")
    date = doc["date"]
    if date is None:
        lines.append("date: not found in the plan")
    else:
        lines.append(f"date: round {date['round']} {local(date['starts_at'], zone, '%H:%M')}-"
                     f"{local(date['ends_at'], zone, '%H:%M')}, room {date['room'] or 'none given'}")
        seen = date["attendance"]
        if seen is None:
            lines.append("  attendance not recorded")
        else:
            lines += ["  " + _seen(p, zone) for p in seen.get("people", [])]
            lines += ["  also in the room: " + _seen(o, zone) for o in seen.get("others", [])]
    lines.append("reactions between them:")
    lines += [f"  {local(r['at'], zone, '%H:%M:%S')} {r['from']} -> {r['to']}: {r['reaction']}" for r in doc["reactions"]]
    lines.append("earlier reports between or about them: " + (
        ", ".join(f"{r['report_id']} ({r['status']})" for r in doc["earlier_reports"]) or "none"))
    lines.append(f"timeline around it ({doc['timezone']}):")
    lines += [f"  v{e['version']:<4} {local(e['at'], zone, '%H:%M:%S')}  {e['type']:<20} {e['what'][0]}"
              for e in doc["timeline"]]
    return lines


def _facts(doc: dict[str, Any]) -> str:
    zone = ZoneInfo(doc["timezone"])
    items = [
        ("event", f"{doc['event_id']} ({doc['event']['state']}), starts {local(doc['event']['start'])} {doc['timezone']}"),
        ("filed", f"{local(doc['at'], zone, '%Y-%m-%d %H:%M:%S')} by {doc['reporter']} about {doc['reported']}"),
        ("category", doc["category"] or "none"),
        ("status", _status(doc)),
    ]
    return '<dl id="report">' + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items) + "</dl>"


def _people(doc: dict[str, Any]) -> str:
    rows = []
    for role in ("reporter", "reported"):
        p = doc["people"][role]
        blocked = p["blocked"]["reason"] if p["blocked"] else "no"
        rows.append(cells(role, p["user_id"], _profile(p), p["registration"], "yes" if p["no_show"] else "no", blocked))
    return table("people", ("who", "user", "profile at the event", "registration", "no-show", "blocked"), rows, "")


def _date(doc: dict[str, Any]) -> str:
    date, zone = doc["date"], ZoneInfo(doc["timezone"])
    if date is None:
        return '<p id="date" class="muted">the two had no date in the plan</p>'

    def clock(iso: str | None) -> str:
        return local(iso, zone, "%H:%M:%S")

    head = (f'<p id="date">round {escape(str(date["round"]))}, {escape(clock(date["starts_at"]))} to '
            f'{escape(clock(date["ends_at"]))}: {link(date["room"])}</p>')
    seen = date["attendance"] or {}
    rows = [cells(p.get("user_id"), p.get("status"), p.get("seconds", 0), clock(p.get("joined_at")), clock(p.get("left_at")))
            for p in seen.get("people", [])]
    rows += [cells(seen_as(o), "also in the room", o.get("seconds", 0),
                   clock(o.get("joined_at")), clock(o.get("left_at")), cls="other") for o in seen.get("others", [])]
    return head + table("attendance", ("who", "status", "seconds", "joined", "left"), rows, "attendance not recorded")


def _reactions(doc: dict[str, Any]) -> str:
    zone = ZoneInfo(doc["timezone"])
    rows = (cells(local(r["at"], zone, "%H:%M:%S"), r["from"], r["to"], r["reaction"], r["category"] or "",
                  cls=str(r["reaction"])) for r in doc["reactions"])
    return table("reactions", ("time", "from", "to", "reaction", "category"), rows, "no reactions between them")


def _earlier(doc: dict[str, Any]) -> str:
    zone = ZoneInfo(doc["timezone"])
    rows = (cells(r["report_id"], local(r["at"], zone), r["reporter"], r["reported"], r["category"] or "", r["status"])
            for r in doc["earlier_reports"])
    return table("earlier-reports", ("report", "filed", "by", "about", "category", "status"), rows,
                 "no earlier reports between or about them")


def _timeline(doc: dict[str, Any]) -> str:
    zone = ZoneInfo(doc["timezone"])
    rows = []
    for e in doc["timeline"]:
        shown = chr(10).join(e["what"])
        rows.append(f'<tr data-version="{e["version"]}"><td>{e["version"]}</td>'
                    f'<td>{escape(local(e["at"], zone, "%H:%M:%S"))}</td><td>{escape(e["type"])}</td>'
                    f'<td class="lines">{escape(shown)}</td></tr>')
    return table("timeline", ("v", f"time ({doc['timezone']})", "event", "what"), rows, "nothing recorded")


def render_report_html(doc: dict[str, Any]) -> str:
    title = f"Report {doc['report_id']}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>{_facts(doc)}"
        f"<h2>The two people, as recorded at the event</h2>{_people(doc)}"
        f"<h2>The date</h2>{_date(doc)}"
        f"<h2>Reactions between them</h2>{_reactions(doc)}"
        f"<h2>Earlier reports between or about them</h2>{_earlier(doc)}"
        f"<h2>The event around it</h2>{_timeline(doc)}"
        "</body></html>\n"
    )
