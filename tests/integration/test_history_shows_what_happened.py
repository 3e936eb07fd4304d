"""`datemaker history`: a whole event run on a fake clock (the World of
tests/support/world.py), then read back through the command, in-process,
on SQLite and PostgreSQL; the HTML page is opened in headless Chromium."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.domain.attendance import date_attendance
from datemaker.app.dating_events import DatingEvents
from datemaker.cli.main import main
from datemaker.domain.pairing import Pair
from datemaker.domain.timings import Timings
from datemaker.domain.rooms import Attendee, Session

from ..support.chromium import rendered_dom
from ..support.clock import T0, FakeClock
from ..support.world import MEN, NEVER_CONFIRMS, NO_SHOW, WOMEN, World, profile

TIMINGS = Timings()
START = T0 + timedelta(days=2)  # 2026-12-03 12:00 UTC, 15:00 in Moscow
BEFORE_ROUND_1 = START  # READY: rules sent, round 1 starts after the ready grace
AFTER_ROUND_1 = TIMINGS.round_ends_at(START, 1) + timedelta(seconds=10)  # the break after round 1


@dataclass
class Played:
    app: DatingEvents
    wire_id: int
    matched: Pair  # round 1: liked each other
    reported: Pair  # round 1: a reported b


def round_attendance(app: DatingEvents, wire_id: int, now: datetime) -> list[dict]:
    """What the Meet adapter would record: a on time, b three minutes late."""
    event = app.get_event(wire_id)
    begins, ends = TIMINGS.round_starts_at(START, 1), TIMINGS.round_ends_at(START, 1)
    dates = []
    for key, room in sorted(event.rooms["1"].items()):
        a, b = (int(uid) for uid in key.split("-"))
        people = [
            Attendee("anonymous", f"user{a}", sessions=(Session(begins, ends),)),
            Attendee("anonymous", f"user{b}", sessions=(Session(begins + timedelta(minutes=3), ends),)),
        ]
        names = {a: [f"user{a}"], b: [f"user{b}"]}
        dates.append(date_attendance((a, b), room["space"], people, (begins, ends), now, names, {}))
    return dates


@pytest.fixture
def played(store_settings, env_for) -> Played:
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(store_settings), clock=clock)
    world = World(app, clock)
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", users_limit=10)
    for uid in [*MEN, *WOMEN, NEVER_CONFIRMS]:
        app.register(wire_id, uid, profile(uid))
    world.run_until(TIMINGS.confirmation_opens_at(START))
    for uid in [*MEN, *WOMEN]:
        app.confirm_registration(wire_id, uid)
    world.run_until(TIMINGS.rules_at(START))
    for uid in [*MEN, *WOMEN]:
        if uid != NO_SHOW:
            app.change(wire_id, lambda e, uid=uid: e.mark_ready(uid, clock.now))
    world.run_until(TIMINGS.round_starts_at(START, 1) + timedelta(seconds=30))
    matched, reported = app.get_event(wire_id).planned.pairs_in_round(1)[:2]
    for a, b, reaction in [(matched.a, matched.b, "like"), (matched.b, matched.a, "like"),
                           (reported.a, reported.b, "report")]:
        app.change(wire_id, lambda e, a=a, b=b, r=reaction: e.rate(a, b, r, clock.now))
    world.run_until(TIMINGS.round_ends_at(START, 1) + timedelta(seconds=5))
    dates = round_attendance(app, wire_id, clock.now)
    app.change(wire_id, lambda e: e.record_attendance(1, dates, clock.now))
    world.run_until(START + timedelta(days=1))
    env_for(store_settings)
    yield Played(app, wire_id, matched, reported)
    app.close()


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # drop what the fixture printed
    code = main(list(args))
    out, err = capsys.readouterr()
    return code or 0, out, err


def test_the_timeline_shows_every_step_with_pairs_rooms_and_times_in_the_event_zone(played, capsys):
    code, out, _ = run(capsys, "history", str(played.wire_id))
    assert code == 0
    event = played.app.get_event(played.wire_id)
    assert out.splitlines()[0] == "event 1: starts 2026-12-03 15:00 Europe/Moscow"
    assert "  v2    2026-12-01 15:00:00  Registered" in out  # T0 is 12:00 UTC
    for key, room in event.rooms["1"].items():
        assert f"{key.replace('-', '+')}: {room['uri']}" in out
    m, r = played.matched, played.reported
    assert f"{m.a} -> {m.b}: like" in out and f"{r.a} -> {r.b}: report" in out
    assert f"matches: {m.a}+{m.b}" in out and "state: FINISHED" in out
    assert f"{r.b} late" in out  # attendance
    assert out.count("RoundStarted") == event.planned.rounds_count - 1  # round 1 begins with Started


def test_json_lists_every_recorded_event_in_order_with_a_summary(played, capsys):
    code, out, _ = run(capsys, "history", str(played.wire_id), "--json")
    assert code == 0
    doc = json.loads(out)
    recorded = played.app.history(played.wire_id)
    assert [e["type"] for e in doc["entries"]] == [type(r).__name__ for r in recorded]
    assert [e["version"] for e in doc["entries"]] == list(range(1, len(recorded) + 1))
    assert all(e["at"].endswith("+03:00") for e in doc["entries"])
    started = next(e for e in doc["entries"] if e["type"] == "Started")
    assert started["no_shows"] == [NO_SHOW] and started["at"] == "2026-12-03T15:02:00+03:00"
    summary = doc["summary"]
    assert summary["state"] == "FINISHED" and summary["matches"] == [[played.matched.a, played.matched.b]]
    assert summary["reports"] == [[played.reported.a, played.reported.b]]
    assert {d["round"] for d in summary["attendance"]} == {1}


def test_at_before_and_after_round_1_shows_the_state_of_each_moment(played, capsys):
    _, before, _ = run(capsys, "history", "1", "--json", "--at", BEFORE_ROUND_1.isoformat())
    _, after, _ = run(capsys, "history", "1", "--json", "--at", AFTER_ROUND_1.isoformat())
    before, after = json.loads(before), json.loads(after)
    assert before["summary"]["state"] == "READY" and before["summary"]["round"] is None
    assert before["summary"]["ready"] == 5 and before["entries"][-1]["type"] == "MarkedReady"
    assert all(p["room"] is None for row in before["summary"]["plan"]["rounds"] for p in row["pairs"])
    assert after["summary"]["state"] == "RUNNING"
    assert (after["summary"]["round"], after["summary"]["phase"]) == (1, "break")
    assert after["entries"][-1]["type"] == "AttendanceRecorded" and after["version"] > before["version"]
    assert after["summary"]["plan"]["rounds"][0]["pairs"][0]["room"].startswith("https://meet.google.com/")
    # Without an offset the instant is read in the event's zone (Moscow, UTC+3).
    _, naive, _ = run(capsys, "history", "1", "--at", "2026-12-03T15:00:00")
    code, text, _ = run(capsys, "history", "1", "--at", "2026-12-03T12:00:00Z")
    assert code == 0 and naive == text and f"(version {before['version']})" in text
    assert "state: READY" in text


class GridCells(HTMLParser):
    """The grid's pair cells as (round, a, b) -> the room link inside."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: dict[tuple[int, int, int], str | None] = {}
        self._cell: tuple[int, int, int] | None = None

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "td" and "pair" in (found.get("class") or "").split():
            self._cell = (int(found["data-round"]), int(found["data-a"]), int(found["data-b"]))
            self.pairs[self._cell] = None
        elif tag == "a" and self._cell is not None:
            self.pairs[self._cell] = found.get("href")

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_page_opens_in_chromium_with_every_pair_in_the_round_grid(played, capsys, tmp_path):
    page = tmp_path / "event 1.html"
    code, out, _ = run(capsys, "history", "1", "--html", str(page))
    assert code == 0 and out.strip() == f"wrote {page}"
    dom = rendered_dom(page, tmp_path / "chromium-profile")
    grid = GridCells()
    grid.feed(dom)
    event = played.app.get_event(played.wire_id)
    plan = event.planned
    expected = {(n, p.a, p.b) for n in range(1, plan.rounds_count + 1) for p in plan.pairs_in_round(n)}
    assert set(grid.pairs) == expected
    for (n, a, b), href in grid.pairs.items():
        assert href == event.room_of(n, a, b)["uri"]
    assert 'id="reactions"' in dom and "report" in dom
    assert 'id="attendance"' in dom and ">late<" in dom
    assert "turn_to_sit_out" in dom and "no_show" in dom  # reasons for sit-outs and for no place


def test_a_users_view_lists_partners_ratings_reports_and_matches(played, capsys):
    m, r = played.matched, played.reported
    code, out, _ = run(capsys, "history", "--user", str(m.a), "--json")
    assert code == 0
    (seen,) = json.loads(out)["events"]
    plan = played.app.get_event(played.wire_id).planned
    assert [(x["round"], x["partner_id"]) for x in seen["rounds"]] == [
        (n, plan.partner_of(m.a, n)) for n in range(1, plan.rounds_count + 1)
    ]
    assert [(x["partner_id"], x["reaction"]) for x in seen["ratings_given"]] == [(m.b, "like")]
    assert [(x["user_id"], x["reaction"]) for x in seen["ratings_received"]] == [(m.b, "like")]
    assert seen["matches"] == [m.b] and seen["confirmed"] and seen["ready"]
    code, out, _ = run(capsys, "history", "--user", str(r.b))
    assert code == 0 and f"reports given: none; received: {r.a}" in out
    assert f"round 1: with {r.a} https://meet.google.com/" in out and "(late, " in out


@pytest.mark.parametrize(
    ("args", "code", "named"),
    [
        (["history", "99"], 1, "no dating event 99"),
        (["history", "1", "--at", "yesterday"], 2, "--at"),
        (["history", "1", "--at", "2020-01-01T00:00"], 2, "did not exist yet"),
        (["history", "1", "--html", "/nonexistent-dir/page.html"], 2, "--html"),
        (["history", "1", "--user", "1"], 2, "not both"),
        (["history"], 2, "not neither"),
        (["history", "--user", "999"], 1, "user 999 took part in no dating event"),
        (["history", "--user", "1", "--at", "2026-12-03T15:00"], 2, "--at"),
        (["history", "1", "--json", "--html", "x.html"], 2, "--json"),
    ],
)
@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)
def test_bad_input_is_one_line_naming_the_problem(played, capsys, args, code, named):
    got, out, err = run(capsys, *args)
    assert got == code
    assert len(err.strip().splitlines()) == 1 and named in err and "Traceback" not in err
    assert out == ""
