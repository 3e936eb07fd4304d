"""Reports as a moderator reads them (`datemaker reports list|show`): every
report filed, under its id `<event>-<reporter>-<reported>`, with the
decision on it, and one report's evidence: the report, both people's
profiles as recorded at the event, the date's room and attendance (everyone
seen in the room), each side's reactions, earlier reports between or about
them, and the event's timeline around it. All read from the event store.

Listing scans every event of the catalog (fine while there are hundreds; a
read model of reports would replace the scan when there are many more)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from datemaker.app.dating_events import DatingEvents
from datemaker.app.moderation import Moderation
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.ids import report_id
from datemaker.domain.standing import UserStanding
from datemaker.history.describe import described
from datemaker.history.facts import attendance, room_uri
from datemaker.history.timeline import Entry, build_timeline

FORMAT = "datemaker.report/1"
LIST_FORMAT = "datemaker.reports/1"
AFTER = timedelta(minutes=10)  # how far past the report the timeline around it goes


@dataclass(frozen=True)
class Report:
    report_id: str
    event_id: int
    reporter: int
    reported: int
    category: str | None
    at: datetime  # when it was filed, in the event's zone
    version: int  # the event's version that recorded it
    round: int | None  # the round in which the two met

    def to_dict(self, decision: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "report_id": self.report_id, "event_id": self.event_id, "at": self.at.isoformat(),
            "reporter": self.reporter, "reported": self.reported, "category": self.category, "round": self.round,
            "status": decision["outcome"] if decision else "open", "decision": decision,
        }


def reports_in(event: DatingEvent, entries: list[Entry]) -> list[Report]:
    plan = event.planned
    found = []
    for e in entries:
        if e.type != "PartnerRated" or e.get("reaction") != "report":
            continue
        reporter, reported = int(e.get("user_id")), int(e.get("partner_id"))
        met = dict((partner, n) for n, partner in plan.dates_of(reporter)) if plan else {}
        found.append(Report(report_id(event.wire_id, reporter, reported), event.wire_id, reporter, reported,
                            e.get("category"), e.at, e.version, met.get(reported)))
    return found


class Reports:
    """Reads for the moderator; loads each event and standing once."""

    def __init__(self, app: DatingEvents) -> None:
        self.app = app
        self.moderation = Moderation(app)
        self._events: dict[int, tuple[DatingEvent, list[Entry]]] = {}
        self._standings: dict[int, UserStanding | None] = {}

    def event(self, wire_id: int) -> tuple[DatingEvent, list[Entry]]:
        if wire_id not in self._events:
            event = self.app.get_event(wire_id)  # UnknownEvent for an unknown id
            self._events[wire_id] = (event, build_timeline(self.app.history(wire_id), ZoneInfo(event.timezone)))
        return self._events[wire_id]

    def standing(self, user_id: int) -> UserStanding | None:
        if user_id not in self._standings:
            self._standings[user_id] = self.moderation.standing(user_id)
        return self._standings[user_id]

    def decision(self, report: Report) -> dict[str, Any] | None:
        standing = self.standing(report.reported)
        return standing.decision(report.report_id) if standing else None

    def listed(self, event_id: int | None = None, since: datetime | None = None,
               only_open: bool = False) -> list[Report]:
        """Reports filed (in one event, at or after `since`, still open), oldest first."""
        wire_ids = [event_id] if event_id is not None else self.app.catalog_wire_ids()
        found = [r for w in wire_ids for r in reports_in(*self.event(w))]
        if since is not None:
            found = [r for r in found if r.at >= since]
        if only_open:
            found = [r for r in found if self.decision(r) is None]
        return sorted(found, key=lambda r: (r.at, r.event_id, r.version))

    def list_document(self, reports: list[Report]) -> dict[str, Any]:
        return {"format": LIST_FORMAT, "reports": [r.to_dict(self.decision(r)) for r in reports]}

    # --- one report's evidence --------------------------------------------------

    def evidence(self, wanted: str) -> dict[str, Any]:
        """The documented shape of `reports show --json` (UnknownReport when
        no such report was filed)."""
        event_id, reporter, reported = self.moderation.report(wanted)
        event, entries = self.event(event_id)
        report = next(r for r in reports_in(event, entries) if r.report_id == wanted)
        standing = self.standing(reported)
        zone = ZoneInfo(event.timezone)
        window = {e.version for e in around(event, entries, report)}
        return {
            "format": FORMAT,
            **report.to_dict(self.decision(report)),
            "timezone": event.timezone,
            "event": {"state": event.state.name, "start": event.start.astimezone(zone).isoformat()},
            "decisions": standing.decisions.get(wanted, []) if standing else [],
            "people": {"reporter": self._person(event, reporter), "reported": self._person(event, reported)},
            "date": self._date(event, report, zone),
            "reactions": [
                {"version": e.version, "at": e.at.isoformat(), "from": e.get("user_id"), "to": e.get("partner_id"),
                 "reaction": e.get("reaction"), "category": e.get("category")}
                for e in entries
                if e.type == "PartnerRated" and {e.get("user_id"), e.get("partner_id")} == {reporter, reported}
            ],
            "earlier_reports": [
                r.to_dict(self.decision(r)) for r in self.listed()
                if r.at < report.at and (r.reported in (reporter, reported) or (r.reporter, r.reported) == (reported, reporter))
            ],
            "timeline": [{**e.to_dict(), "what": lines} for e, lines in described(entries, zone)
                         if e.version in window],
        }

    def _person(self, event: DatingEvent, user_id: int) -> dict[str, Any]:
        key = str(user_id)
        entry = event.registrations.get(key)
        standing = self.standing(user_id)
        return {
            "user_id": user_id,
            "profile": entry["profile"] if entry else event.withdrawn_profiles.get(key),
            "registration": "left" if user_id in event.left else "registered" if entry else "withdrawn",
            "ready": user_id in event.ready,
            "no_show": user_id in event.no_shows,
            "blocked": standing.block_in_force(self.app.clock()) if standing else None,
        }

    def _date(self, event: DatingEvent, report: Report, zone: ZoneInfo) -> dict[str, Any] | None:
        if report.round is None:
            return None
        n, pair = report.round, sorted((report.reporter, report.reported))
        readings = [d for d in attendance(event) if d["round"] == n and sorted(d.get("pair", [])) == pair]
        timings = event.timings
        return {
            "round": n,
            "starts_at": timings.round_starts_at(event.start, n).astimezone(zone).isoformat(),
            "ends_at": timings.round_ends_at(event.start, n).astimezone(zone).isoformat(),
            "room": room_uri(event, n, *pair),
            "attendance": readings[-1] if readings else None,  # the final reading when there is one
        }


def around(event: DatingEvent, entries: list[Entry], report: Report) -> list[Entry]:
    """The event's own steps and the two people's entries from the start of
    the round they met (or an hour before the report) until ten minutes after it."""
    zone = ZoneInfo(event.timezone)
    start = (event.timings.round_starts_at(event.start, report.round).astimezone(zone)
             if report.round else report.at - timedelta(hours=1))
    two = {report.reporter, report.reported}

    def concerns(e: Entry) -> bool:
        people = {e.get("user_id"), e.get("partner_id")} - {None}
        return not people or bool(people & two)

    return [e for e in entries if start <= e.at <= report.at + AFTER and concerns(e) or e.version == report.version]
