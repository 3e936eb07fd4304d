"""`datemaker history ID --html FILE`: one self-contained page for a
moderator. Inline CSS only; a Content-Security-Policy forbids loading
anything, every recorded value is escaped, and only http(s) room links
become links (a recorded `javascript:` URI stays inert text)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any
from urllib.parse import urlsplit

from datemaker.history.erased import seen_as
from datemaker.history.describe import described
from datemaker.history.facts import attendance, reactions, summary
from datemaker.history.load import History
from datemaker.history.render_text import local

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.4em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.pair .who{font-weight:600;display:block}
td.empty{background:#fafafa}.report{background:#fde2e2}.like{background:#e4f6e4}
.dislike{background:#f6f0e0}.muted{color:#777}dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}
dt{font-weight:600}dd{margin:0}td.lines{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'"


def link(uri: str | None) -> str:
    if not uri:
        return '<span class="muted">no room yet</span>'
    if urlsplit(uri).scheme not in ("http", "https"):
        return f'<span class="muted">{escape(uri)}</span>'
    shown = uri.split("://", 1)[1]
    return f'<a class="room" href="{escape(uri, quote=True)}" rel="noreferrer noopener">{escape(shown)}</a>'


def table(table_id: str, head: Sequence[str], rows: Iterable[str], empty: str) -> str:
    body = "".join(rows)
    if not body:
        return f'<p id="{table_id}" class="muted">{escape(empty)}</p>'
    heads = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f'<table id="{table_id}"><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table>'


def cells(*values: Any, cls: str = "") -> str:
    attr = f' class="{escape(cls, quote=True)}"' if cls else ""
    return f"<tr{attr}>" + "".join(f"<td>{escape(str(v))}</td>" for v in values) + "</tr>"


def _summary(facts: dict[str, Any], history: History) -> str:
    items = [
        ("state", facts["state"] + (f" ({facts['end_reason']})" if facts["end_reason"] else "")),
        ("starts", f"{local(facts['start'])} {facts['timezone']}"),
        ("as of", f"{history.as_of:%Y-%m-%d %H:%M:%S %z} (version {history.version})" if history.as_of else "now"),
        ("registered / confirmed / ready", f"{facts['registered']} / {facts['confirmed']} / {facts['ready']}"),
        ("withdrawn", ", ".join(map(str, facts["withdrawn_user_ids"])) or "none"),
        ("round", f"{facts['round']} ({facts['phase']})" if facts["round"] else "none under way"),
        ("no-shows", ", ".join(map(str, facts["no_shows"])) or "none"),
        ("left while the rounds ran", ", ".join(map(str, facts.get("left", []))) or "none"),
        ("matches", ", ".join(f"{a} + {b}" for a, b in facts["matches"]) or "none"),
    ]
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items) + "</dl>"


def _grid(plan: dict[str, Any] | None) -> str:
    if plan is None or not plan["rounds"]:
        return '<p id="grid" class="muted">no groups or rounds fixed</p>'
    width = max(len(row["pairs"]) for row in plan["rounds"])
    head = "".join(f"<th>date {n}</th>" for n in range(1, width + 1))
    rows = []
    for row in plan["rounds"]:
        tds = [
            f'<td class="pair" data-round="{row["round"]}" data-a="{p["a"]}" data-b="{p["b"]}">'
            f'<span class="who">{p["a"]} + {p["b"]}</span>{link(p["room"])}</td>'
            for p in row["pairs"]
        ]
        tds += ['<td class="empty"></td>'] * (width - len(row["pairs"]))
        rest = ", ".join(f"{s['user_id']}" for s in row["sit_outs"]) or "-"
        rows.append(f'<tr><th>round {row["round"]}</th>{"".join(tds)}<td class="sit-out">{escape(rest)}</td></tr>')
    return f'<table id="grid"><thead><tr><th></th>{head}<th>sits out</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _reasons(facts: dict[str, Any]) -> str:
    plan = facts["plan"] or {"rounds": [], "unplaced": []}
    sit_outs = (cells(row["round"], s["user_id"], s["reason"]) for row in plan["rounds"] for s in row["sit_outs"])
    unplaced = (cells(u["user_id"], u["reason"]) for u in plan["unplaced"])
    apart = (cells(f"{k['a']}+{k['b']}", ", ".join(k["reasons"])) for k in plan.get("kept_apart", ()))
    return (
        "<h3>Sit-outs</h3>" + table("sit-outs", ("round", "user", "reason"), sit_outs, "nobody sits out")
        + "<h3>No place</h3>" + table("no-place", ("user", "reason"), unplaced, "everyone confirmed had a place")
        + "<h3>Kept apart</h3>" + table("kept-apart", ("pair", "why"), apart, "no pair kept apart")
    )


def _reactions(history: History) -> str:
    rows = (
        cells(local(r["at"], fmt="%m-%d %H:%M:%S"), r["user_id"], r["partner_id"], r["reaction"],
              r["round"] if r["round"] is not None else "?", cls=str(r["reaction"]))
        for r in reactions(history.entries, history.event.planned)
    )
    return table("reactions", ("time", "from", "to", "reaction", "round met"), rows, "no ratings recorded")


def _attendance(history: History) -> str:
    def clock(iso: str | None) -> str:  # recorded in UTC, shown in the event's zone
        return local(iso, history.zone, "%H:%M:%S")

    rows = []
    for date in attendance(history.event):
        reading = "final" if date["final"] else "at round end"
        for person in date.get("people", []):
            rows.append(cells(
                date["round"], "{} + {}".format(*date.get("pair", ["?", "?"])), person.get("user_id"),
                person.get("status"), person.get("seconds", 0), clock(person.get("joined_at")), clock(person.get("left_at")), reading,
            ))
        for other in date.get("others", []):
            who = seen_as(other)
            rows.append(cells(date["round"], "{} + {}".format(*date.get("pair", ["?", "?"])), who,
                              "also in the room", other.get("seconds", 0), clock(other.get("joined_at")), clock(other.get("left_at")), reading))
    head = ("round", "date", "user", "status", "seconds", "joined", "left", "reading")
    return table("attendance", head, rows, "attendance not recorded")


def _timeline(history: History) -> str:
    rows = (
        f'<tr data-version="{entry.version}"><td>{entry.version}</td><td>{entry.at:%Y-%m-%d %H:%M:%S}</td>'
        f'<td>{escape(entry.type)}</td><td class="lines">{escape(chr(10).join(lines))}</td></tr>'
        for entry, lines in described(history.entries, history.zone)
    )
    return table("timeline", ("v", f"time ({history.event.timezone})", "event", "what"), rows, "nothing recorded")


def render_html(history: History) -> str:
    facts = summary(history.event)
    title = f"Dating event {facts['event_id']}: history"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>{_summary(facts, history)}"
        f"<h2>Rounds and pairs</h2>{_grid(facts['plan'])}"
        f"<h2>Sit-outs and no place</h2>{_reasons(facts)}"
        f"<h2>Reactions</h2>{_reactions(history)}"
        f"<h2>Attendance</h2>{_attendance(history)}"
        f"<h2>Timeline</h2>{_timeline(history)}"
        "</body></html>\n"
    )
