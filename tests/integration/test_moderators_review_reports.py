"""`datemaker reports` and `datemaker users`, in-process on PostgreSQL: a whole
event run on a fake clock (the World) with two reports about one man, in
rounds 1 and 2, then listed, shown (JSON, text and a page checked in
headless Chromium), decided on, and the user looked at, blocked and unblocked."""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.cli.main import main
from datemaker.domain.attendance import date_attendance
from datemaker.domain.rooms import Attendee, Session
from datemaker.domain.timings import Timings

from ..support.chromium import rendered_dom
from ..support.clock import T0, FakeClock
from ..support.world import MEN, WOMEN, World, profile

pytestmark = pytest.mark.postgres

T = Timings()
START = T0 + timedelta(days=2)  # 15:00 in Moscow
INTRUDER = "<script>alert(1)</script>"  # a display name someone joined the room with


@dataclass
class Reviewed:
    app: DatingEvents
    wire_id: int
    reported: int  # the man both reports are about
    first: str  # round 1's report id (with a category)
    second: str  # round 2's


def round_attendance(app: DatingEvents, wire_id: int, round_no: int, now: datetime) -> list[dict]:
    """Both partners on time; in the first date's room a stranger joins too."""
    event = app.get_event(wire_id)
    begins, ends = T.round_starts_at(START, round_no), T.round_ends_at(START, round_no)
    dates = []
    for n, (key, room) in enumerate(sorted(event.rooms[str(round_no)].items())):
        a, b = (int(uid) for uid in key.split("-"))
        people = [Attendee("anonymous", f"user{uid}", sessions=(Session(begins, ends),)) for uid in (a, b)]
        if n == 0:
            people.append(Attendee("anonymous", INTRUDER, sessions=(Session(begins + timedelta(minutes=1), ends),)))
        dates.append(date_attendance((a, b), room["space"], people, (begins, ends), now,
                                     {a: [f"user{a}"], b: [f"user{b}"]}, {}))
    return dates


@pytest.fixture
def reviewed(postgres_settings, env_for) -> Reviewed:
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(postgres_settings), clock=clock)
    world = World(app, clock)
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", users_limit=10, ready_check=False)
    for uid in [*MEN, *WOMEN]:
        app.register(wire_id, uid, profile(uid))
    world.run_until(T.confirmation_opens_at(START))
    for uid in [*MEN, *WOMEN]:
        app.confirm_registration(wire_id, uid)
    world.run_until(T.round_starts_at(START, 1) + timedelta(seconds=30))
    plan = app.get_event(wire_id).planned
    first, other = sorted(plan.pairs_in_round(1), key=lambda p: (p.a, p.b))[:2]  # the stranger walks into the first
    reported, reporter = first.a, first.b  # a man, a woman
    app.change(wire_id, lambda e: e.rate(other.a, other.b, "like", clock.now))  # nothing to do with the report
    app.change(wire_id, lambda e: e.rate(reporter, reported, "report", clock.now, category="harassment"))
    app.change(wire_id, lambda e: e.rate(reported, reporter, "like", clock.now))
    world.run_until(T.round_ends_at(START, 1) + timedelta(seconds=5))
    dates = round_attendance(app, wire_id, 1, clock.now)
    app.change(wire_id, lambda e: e.record_attendance(1, dates, clock.now))
    world.run_until(T.round_starts_at(START, 2) + timedelta(seconds=30))
    second = plan.partner_of(reported, 2)
    app.change(wire_id, lambda e: e.rate(second, reported, "report", clock.now))
    world.run_until(START + timedelta(days=1))
    env_for(postgres_settings)
    yield Reviewed(app, wire_id, reported, f"{wire_id}-{reporter}-{reported}", f"{wire_id}-{second}-{reported}")
    app.close()


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code or 0, out, err


def listed(capsys, *args: str) -> list[dict]:
    code, out, _ = run(capsys, "reports", "list", "--json", *args)
    assert code == 0
    doc = json.loads(out)
    assert doc["format"] == "datemaker.reports/1"
    return doc["reports"]


def test_reports_are_listed_oldest_first_under_their_ids(reviewed, capsys):
    found = listed(capsys)
    assert [(r["report_id"], r["category"], r["round"], r["status"]) for r in found] == [
        (reviewed.first, "harassment", 1, "open"), (reviewed.second, None, 2, "open")]
    assert found[0]["at"] == "2026-12-03T15:02:30+03:00"  # in the event's zone
    assert listed(capsys, "--since", "2026-12-03T15:05") == found[1:]  # no offset: the display zone (Moscow)
    code, out, _ = run(capsys, "reports", "list", "--event", str(reviewed.wire_id))
    assert code == 0 and out.splitlines()[1].split()[0] == reviewed.first and out.splitlines()[1].endswith("open")


def test_a_reports_evidence_has_the_people_the_room_the_reactions_and_the_timeline(reviewed, capsys):
    code, out, _ = run(capsys, "reports", "show", reviewed.first, "--json")
    assert code == 0
    doc = json.loads(out)
    event = reviewed.app.get_event(reviewed.wire_id)
    reporter = int(reviewed.first.split("-")[1])
    assert doc["format"] == "datemaker.report/1" and doc["status"] == "open" and doc["category"] == "harassment"
    assert doc["people"]["reported"]["profile"] == event.registrations[str(reviewed.reported)]["profile"]
    assert doc["people"]["reporter"]["profile"]["sex"] == "F" and doc["people"]["reported"]["blocked"] is None
    date = doc["date"]
    assert date["round"] == 1 and date["room"] == event.room_of(1, reporter, reviewed.reported)["uri"]
    assert date["starts_at"] == "2026-12-03T15:02:00+03:00"
    seen = date["attendance"]
    assert {p["user_id"]: p["status"] for p in seen["people"]} == {reporter: "present", reviewed.reported: "present"}
    assert [(o["user_id"], o["display_name"], o["seconds"]) for o in seen["others"]] == [(None, INTRUDER, 240)]
    assert [(r["from"], r["to"], r["reaction"]) for r in doc["reactions"]] == [
        (reporter, reviewed.reported, "report"), (reviewed.reported, reporter, "like")]
    assert doc["earlier_reports"] == []
    kinds = [e["type"] for e in doc["timeline"]]
    assert kinds[0] == "Started" and "AttendanceRecorded" in kinds and "RoundStarted" in kinds
    rated = [(e["user_id"], e["partner_id"]) for e in doc["timeline"] if e["type"] == "PartnerRated"]
    assert rated == [(reporter, reviewed.reported), (reviewed.reported, reporter),  # others' ratings are not shown
                     (int(reviewed.second.split("-")[1]), reviewed.reported)]  # within ten minutes of the report
    assert doc["timeline"][-1]["at"] <= "2026-12-03T15:12:30+03:00"

    code, out, _ = run(capsys, "reports", "show", reviewed.second, "--json")
    later = json.loads(out)
    assert [r["report_id"] for r in later["earlier_reports"]] == [reviewed.first]
    assert later["date"]["round"] == 2 and later["date"]["attendance"] is None

    code, out, _ = run(capsys, "reports", "show", reviewed.first)
    assert code == 0 and out.startswith(f"report {reviewed.first}: {reporter} reported {reviewed.reported}")
    assert f"also in the room: unknown: {INTRUDER}" in out


def test_decisions_close_reports_and_blocked_blocks_the_reported_user(reviewed, capsys):
    code, out, _ = run(capsys, "reports", "resolve", reviewed.first, "--outcome", "warned", "--note", "first", "--by", "anna")
    assert code == 0 and out.strip() == f"report {reviewed.first}: warned"
    assert [r["report_id"] for r in listed(capsys, "--open")] == [reviewed.second]
    code, out, _ = run(capsys, "reports", "resolve", reviewed.second, "--outcome", "blocked", "--by", "boris")
    assert code == 0 and f"user {reviewed.reported} blocked" in out
    assert listed(capsys, "--open") == []
    _, out, _ = run(capsys, "reports", "show", reviewed.first, "--json")
    decision = json.loads(out)["decision"]
    assert (decision["outcome"], decision["note"], decision["by"]) == ("warned", "first", "anna")

    code, out, _ = run(capsys, "users", "show", str(reviewed.reported), "--json")
    user = json.loads(out)
    assert code == 0 and user["format"] == "datemaker.user/1"
    assert (user["blocked"]["reason"], user["blocked"]["by"], user["blocked"]["report_id"]) == ("report", "boris", reviewed.second)
    assert [(r["report_id"], r["status"]) for r in user["reports_received"]] == [
        (reviewed.first, "warned"), (reviewed.second, "blocked")]
    assert user["reports_given"] == []
    (seen,) = user["events"]
    assert seen["event_id"] == reviewed.wire_id and seen["state"] == "FINISHED"
    assert seen["rounds"][0]["attendance"] == {"status": "present", "seconds": 300}


def test_a_user_is_blocked_and_unblocked_from_the_command_line(reviewed, capsys):
    code, out, _ = run(capsys, "users", "block", "11", "--reason", "spam", "--until", "2099-01-01T00:00")
    assert code == 0 and out.startswith("user 11 blocked (spam, until 2099-01-01T00:00:00+03:00)")
    _, out, _ = run(capsys, "users", "show", "11", "--json")
    blocked = json.loads(out)["blocked"]
    assert blocked["by"] == getpass.getuser() and blocked["until"] == "2099-01-01T00:00:00+03:00"
    code, out, _ = run(capsys, "users", "show", "11")
    assert code == 0 and out.splitlines()[0] == "user 11: blocked (spam)"
    assert run(capsys, "users", "unblock", "11", "--by", "anna")[1].startswith("user 11 unblocked")
    assert run(capsys, "users", "unblock", "11")[1].strip() == "user 11 is not blocked: nothing to lift"
    _, out, _ = run(capsys, "users", "show", "11", "--json")
    record = json.loads(out)
    assert record["blocked"] is None and record["blocks"][0]["lifted_by"] == "anna"


class Page(HTMLParser):
    """Element names and the text of the page as the browser parsed it."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_evidence_page_opens_in_chromium_with_everything_escaped(reviewed, capsys, tmp_path):
    page = tmp_path / "report.html"
    code, out, _ = run(capsys, "reports", "show", reviewed.first, "--html", str(page))
    assert code == 0 and out.strip() == f"wrote {page}"
    source = page.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in source and INTRUDER not in source and "&lt;script&gt;" in source
    parsed = Page()
    parsed.feed(rendered_dom(page, tmp_path / "chromium-profile"))
    event = reviewed.app.get_event(reviewed.wire_id)
    reporter = int(reviewed.first.split("-")[1])
    assert "script" not in parsed.tags
    assert parsed.links == [event.room_of(1, reporter, reviewed.reported)["uri"]]
    text = " ".join(parsed.text)
    assert f"unknown: {INTRUDER}" in text and "harassment" in text and "also in the room" in text


@pytest.mark.parametrize(
    ("args", "code", "named"),
    [
        (["reports", "show", "1-2"], 2, "REPORT_ID"),
        (["reports", "show", "1-98-99"], 1, "no report 1-98-99"),
        (["reports", "list", "--event", "7"], 1, "no dating event 7"),
        (["reports", "show", "1-2-3", "--json", "--html", "x.html"], 2, "--json"),
        (["reports", "resolve", "1-2-3", "--outcome", "banned"], 2, "--outcome"),
        (["reports", "list", "--since", "yesterday"], 2, "--since"),
        (["users", "block", "5", "--reason", "two words"], 2, "--reason"),
        (["users", "block", "5", "--reason", "spam", "--until", "2001-01-01T00:00"], 2, "--until"),
        (["users", "block", "0", "--reason", "spam"], 2, "USER_ID"),
        (["users", "show", "5", "--by", "x"], 2, "--by"),
    ],
)
def test_bad_input_is_one_line_naming_the_problem(sqlite_settings, env_for, capsys, args, code, named):
    env_for(sqlite_settings)
    got, out, err = run(capsys, *args)
    assert got == code, err
    assert len(err.strip().splitlines()) == 1 and named in err and "Traceback" not in err
    assert out == ""
