"""`datemaker whatif`: two events run by the round clock on a fake clock (the
second keeps apart the pairs who met at the first), then planned again
through the command, in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.cli.main import main
from datemaker.domain.profile import Profile
from datemaker.domain.timings import Timings
from datemaker.history.whatif import Options, what_if

from ..support.clock import T0, FakeClock
from ..support.world import World

TIMINGS = Timings()
FIRST = T0 + timedelta(days=2)
SECOND = FIRST + timedelta(days=1)
PEOPLE = {FIRST: ([1, 2, 3, 4], [11, 12, 13, 14]), SECOND: ([1, 2, 5, 6, 7], [11, 12, 15, 16, 17])}
NO_SHOW = {FIRST: 14, SECOND: 17}
EARLIER = Path(__file__).parent.parent / "fixtures" / "history_recorded_before_the_layout_change.json"


def profile(uid: int) -> Profile:
    return Profile(sex="M" if uid < 10 else "F", birthday=date(1988 + uid % 7, 1 + uid % 12, 1),
                   city=("Kazan", "Moscow")[uid % 2], rating=float(uid % 5), manual_score=1 + uid % 3)


@dataclass
class Played:
    app: DatingEvents
    first: int
    second: int


@pytest.fixture
def played(store_settings, env_for) -> Played:
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(store_settings), clock=clock)
    world = World(app, clock)
    ids = {}
    for start, (men, women) in PEOPLE.items():
        ids[start] = app.schedule_event(start=start, timezone="Europe/Moscow", users_limit=10)
        for uid in men + women:
            app.register(ids[start], uid, profile(uid))
    for start, (men, women) in PEOPLE.items():
        world.run_until(TIMINGS.confirmation_opens_at(start))
        for uid in men + women:
            app.confirm_registration(ids[start], uid)
        world.run_until(TIMINGS.rules_at(start))
        for uid in sorted(app.get_event(ids[start]).planned.placed_user_ids - {NO_SHOW[start]}):
            app.change(ids[start], lambda e, uid=uid: e.mark_ready(uid, clock.now))
        world.run_until(start + timedelta(hours=3))
    env_for(store_settings)
    yield Played(app, ids[FIRST], ids[SECOND])
    app.close()


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code or 0, out, err


def whatif(capsys, *args: str) -> dict:
    code, out, err = run(capsys, "whatif", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def rounds(side: dict) -> list:
    return [(r["pairs"], r["sit_outs"]) for r in side["plan"]["rounds"]]


def test_with_no_options_it_plans_exactly_what_ran(played, capsys):
    for wire_id in (played.first, played.second):
        event = played.app.get_event(wire_id)
        assert event.state.name == "FINISHED" and event.no_shows  # re-paired at the start
        doc = whatif(capsys, str(wire_id))
        then, now = doc["then"], doc["what_if"]
        assert rounds(now) == rounds(then) and now["plan"] == then["plan"]
        assert [[(p["a"], p["b"]) for p in r["pairs"]] for r in then["plan"]["rounds"]] == [
            sorted((p.a, p.b) for p in event.planned.pairs_in_round(n))
            for n in range(1, event.planned.rounds_count + 1)
        ]
        assert now["same_pairs"] == then["dates"] > 0
        assert doc["presence"]["absent"] == event.no_shows
    kept = whatif(capsys, str(played.second))["then"]["plan"]["kept_apart"]
    assert {"a": 1, "b": 11, "reasons": ["met_recently"]} in kept  # they met at the first event


def test_the_events_own_settings_given_are_the_same_as_none(played, capsys):
    plain = whatif(capsys, str(played.second))
    given = whatif(capsys, str(played.second), "--users-limit", "10", "--round", "5m", "--break", "1m",
                   "--ready-check")
    assert given["what_if"] == plain["what_if"] == {**plain["then"], "same_pairs": plain["then"]["dates"]}


def test_a_smaller_users_limit_splits_the_group_and_keeps_apart_who_met_before(played, capsys):
    doc = whatif(capsys, str(played.second), "--users-limit", "4")
    then, now = doc["then"], doc["what_if"]
    assert then["groups"] == 1 and now["groups"] == 3  # nine present, at most four a group
    assert all(len(g["user_ids"]) <= 4 for g in now["plan"]["groups"])
    # The present who get no place in smaller groups are named with the reason.
    placed = {u for g in now["plan"]["groups"] for u in g["user_ids"]}
    left = {u["user_id"]: u["reason"] for u in now["plan"]["unplaced"]}
    assert left.pop(NO_SHOW[SECOND]) == "no_show"
    assert placed | set(left) == {u for g in then["plan"]["groups"] for u in g["user_ids"]}
    assert set(left.values()) <= {"group_limit_reached", "no_compatible_partner"}
    apart = {(k["a"], k["b"]) for k in then["plan"]["kept_apart"]}
    assert apart and not apart & {(p["a"], p["b"]) for r in now["plan"]["rounds"] for p in r["pairs"]}
    assert now["dates"] < then["dates"] and doc["settings"]["what_if"]["users_limit"] == 4


def test_round_and_break_change_only_the_length(played, capsys):
    plain = whatif(capsys, str(played.first))
    doc = whatif(capsys, str(played.first), "--round", "7m", "--break", "30s")
    rounds_count = plain["then"]["rounds"]
    assert doc["what_if"]["plan"] == plain["then"]["plan"]
    assert doc["then"]["length_seconds"] == rounds_count * 300 + (rounds_count - 1) * 60
    assert doc["what_if"]["length_seconds"] == rounds_count * 420 + (rounds_count - 1) * 30
    changed = {k for k, v in doc["what_if"].items() if plain["what_if"][k] != v}
    assert changed == {"length_seconds", "last_round_end"}


def test_nothing_is_written(played, capsys):
    app = played.app
    versions = [app.get_event(w).version for w in (played.first, played.second)]
    head = app.recorder.max_notification_id()
    for args in (["1"], ["2", "--users-limit", "3", "--no-ready-check"], ["2", "--rounds-max", "1"],
                 ["--all-finished", "--json"], ["--all-finished"]):
        assert run(capsys, "whatif", *args)[0] == 0
    assert [app.get_event(w).version for w in (played.first, played.second)] == versions
    assert app.recorder.max_notification_id() == head


def test_all_finished_sums_every_finished_event_since(played, capsys):
    single = [whatif(capsys, str(w), "--users-limit", "4") for w in (played.first, played.second)]
    doc = whatif(capsys, "--all-finished", "--since", FIRST.isoformat(), "--users-limit", "4")
    assert [e["event_id"] for e in doc["events"]] == [played.first, played.second]
    for side in ("then", "what_if"):
        total = doc["total"][side]
        for name in ("groups", "rounds", "dates", "unplaced", "sit_outs", "length_seconds"):
            assert total[name] == sum(s[side][name] for s in single), name
        dates = sum(s[side]["dates"] for s in single)
        scores = [p["score"] for s in single for r in s[side]["plan"]["rounds"] for p in r["pairs"]]
        assert total["score_mean"] == round(sum(scores) / dates, 4)
        assert total["score_min"] == round(min(scores), 4)
        assert total["per_event"]["dates"] == dates / 2
    assert doc["total"]["what_if"]["same_pairs"] == sum(s["what_if"]["same_pairs"] for s in single)
    later = whatif(capsys, "--all-finished", "--since", (FIRST + timedelta(hours=12)).isoformat())
    assert [e["event_id"] for e in later["events"]] == [played.second] and later["total"]["events"] == 1
    code, out, _ = run(capsys, "whatif", "--all-finished")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[0].startswith(f"event {played.first} (") and lines[-1].startswith("total, 2 event(s): groups ")


def test_the_text_puts_the_two_sides_in_columns(played, capsys):
    code, out, _ = run(capsys, "whatif", str(played.first), "--users-limit", "4", "--rounds-max", "1")
    assert code == 0
    assert "planned again, nothing written" in out.splitlines()[0]
    assert "users limit   10            4" in out and "rounds        4             1" in out
    assert "rounds: the planner has no cap; the first 1 of" in out
    assert f"presence: ready check on: 7 present, 1 absent ({NO_SHOW[FIRST]})" in out
    assert "\nthen:\n  group 1 (" in out and "\nwhat if:\n  group 1 (" in out


@pytest.mark.parametrize(
    ("args", "code", "named"),
    [
        (["99"], 1, "no dating event 99"),
        (["3"], 1, "is not over (NOT_STARTED)"),
        (["4"], 1, "was never planned"),
        (["1", "--round", "0"], 2, "--round"),
        (["1", "--round", "soon"], 2, "--round"),
        (["1", "--users-limit", "1"], 2, "--users-limit"),
        (["1", "--rounds-max", "0"], 2, "--rounds-max"),
        (["1", "--all-finished"], 2, "not both"),
        ([], 2, "not neither"),
        (["1", "--since", "2026-12-01T00:00"], 2, "--since"),
        (["--all-finished", "--since", "yesterday"], 2, "--since"),
    ],
)
@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)
def test_bad_arguments_are_one_line_and_a_non_zero_exit(played, capsys, args, code, named):
    played.app.schedule_event(start=SECOND + timedelta(days=3), timezone="Europe/Moscow")  # 3: not over
    cancelled = played.app.schedule_event(start=SECOND + timedelta(days=4), timezone="Europe/Moscow")
    played.app.cancel_event(cancelled)  # 4: over, never planned
    got, out, err = run(capsys, "whatif", *args)
    assert got == code
    assert len(err.strip().splitlines()) == 1 and named in err and "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)
def test_a_history_recorded_by_an_earlier_datemaker_is_planned_again_as_it_ran(app):
    document = json.loads(EARLIER.read_text())
    app.recorder.insert_events([
        StoredEvent(UUID(row["originator_id"]), row["originator_version"], row["topic"], base64.b64decode(row["state"]))
        for row in document["events"]
    ])
    found = what_if(app, document["expected"]["finished"], Options())
    assert found.plan == found.ran and found.ran.rounds_count > 0 and found.presence.absent
    assert what_if(app, document["expected"]["finished"], Options(users_limit=2)).plan != found.ran
