"""Attendance: what the event records per date (the aggregate's marker and
command), and how a room's sessions become present / late / left early /
no-show / unknown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from datemaker.domain.attendance import date_attendance, known_accounts
from datemaker.domain.errors import IllegalTransition
from datemaker.domain.lifecycle import EventState
from datemaker.domain.rooms import Attendee, Session

from ..support.dating_events import AT, START, ANNA, BORIS, confirmed_event, refused, replay

ROUND = (START, START + timedelta(minutes=5))
NAMES = {1: ["Anna", "anna_k"], 2: ["Boris"]}


def running_event():
    event = confirmed_event(ANNA, BORIS, ANNA, BORIS)
    event.ready_check = False
    event.close_confirmation(AT, seed=1)
    for round_no, count in event.rooms_needed().items():
        event.add_rooms(round_no, [{"space": f"spaces/r{round_no}p{i}", "uri": f"https://meet.google.com/r{round_no}p{i}"} for i in range(count)], AT)
    event.begin(START, seed=1)
    return event


def test_a_round_is_to_close_once_its_calls_are_over_until_its_attendance_is_recorded():
    event = running_event()
    assert event.rounds_to_close() == []  # round 1 is under way
    event.end_round(START + timedelta(minutes=5))
    assert event.rounds_to_close() == [1]
    dates = [{"pair": [1, 2], "people": []}]
    event.record_attendance(1, dates, START + timedelta(minutes=6))
    assert event.rounds_to_close() == [] and event.attendance["1"] == {"dates": dates, "final": False}
    refused(event, lambda: event.record_attendance(1, dates, START), IllegalTransition)
    refused(event, lambda: event.record_attendance(2, dates, START), IllegalTransition)  # not ended yet
    assert replay(event.collect_events()).attendance == event.attendance


def test_after_the_event_every_round_is_read_once_more_and_the_final_reading_wins():
    event = running_event()
    rounds = event.planned.rounds_count
    for n in range(1, rounds + 1):
        event.end_round(START)
        if n < rounds:
            event.start_round(START)
    assert event.rounds_to_close() == list(range(1, rounds + 1))
    assert not event.final_attendance_due()  # not over yet
    event.finish(START + timedelta(hours=1))
    assert event.state is EventState.FINISHED and event.final_attendance_due()
    event.record_attendance(1, [{"early": True}], START)
    for n in range(1, rounds + 1):
        event.record_attendance(n, [{"final": n}], START, final=True)
    assert not event.final_attendance_due() and event.rounds_to_close() == []
    assert event.attendance["1"] == {"dates": [{"final": 1}], "final": True}
    refused(event, lambda: event.record_attendance(1, [], START, final=True), IllegalTransition)


def test_nothing_is_recorded_before_the_event_runs():
    event = confirmed_event(ANNA, BORIS)
    refused(event, lambda: event.record_attendance(1, [], AT), IllegalTransition)


def seen(name, *spans, account=None, kind=None):
    sessions = tuple(Session(START + timedelta(seconds=a), None if b is None else START + timedelta(seconds=b)) for a, b in spans)
    return Attendee(kind or ("signed_in" if account else "anonymous"), name, account, sessions)


def people_of(record):
    return {p["user_id"]: p for p in record["people"]}


def read(attendees, accounts=None):
    return date_attendance((1, 2), "spaces/x", attendees, ROUND, ROUND[1], NAMES, accounts or {})


def test_both_on_time_for_the_whole_round_are_present():
    record = read([seen("Anna", (5, 300)), seen("boris  ", (20, 300))])
    people = people_of(record)
    assert people[1]["status"] == people[2]["status"] == "present"
    assert people[1]["seconds"] == 295 and people[1]["joined_at"] == (START + timedelta(seconds=5)).isoformat()
    assert people[2]["matched_by"] == "name" and record["others"] == []


def test_late_left_early_and_no_show():
    record = read([seen("Anna Karenina", (90, 200))])  # a first name is enough
    anna, boris = people_of(record)[1], people_of(record)[2]
    assert (anna["status"], anna["late"], anna["left_early"], anna["seconds"]) == ("late", True, True, 110)
    assert boris["status"] == "no_show" and boris["seconds"] == 0
    left = people_of(read([seen("Anna", (0, 120), (150, 200)), seen("Boris", (0, None))]))
    assert left[1]["status"] == "left_early" and left[1]["sessions"] == 2 and left[1]["seconds"] == 170
    assert left[2]["status"] == "present" and left[2]["left_at"] is None  # still in when read


def test_someone_nobody_can_identify_makes_a_missing_partner_unknown_not_a_no_show():
    record = read([seen("Anna", (0, 300)), seen("Mystery guest", (10, 300))])
    assert people_of(record)[2]["status"] == "unknown"
    assert record["others"][0]["user_id"] is None and record["others"][0]["display_name"] == "Mystery guest"


def test_a_known_account_identifies_even_an_earlier_partner_in_the_wrong_room():
    earlier = {"1": {"dates": [{"people": [{"user_id": 7, "accounts": ["users/77"]}]}], "final": False}}
    accounts = known_accounts(earlier)
    record = read([seen("Boris", (0, 300)), seen("Whoever", (30, 300), account="users/77")], accounts)
    assert record["others"][0]["user_id"] == 7
    assert people_of(record)[1]["status"] == "no_show"  # everyone in the room is accounted for


def test_a_name_both_partners_could_have_stays_unknown_and_phones_are_never_matched():
    names = {1: ["Sasha"], 2: ["Sasha"]}
    record = date_attendance((1, 2), "s", [seen("Sasha", (0, 300))], ROUND, ROUND[1], names, {})
    assert {p["status"] for p in record["people"]} == {"unknown"}
    phone = read([seen("Anna", (0, 300), kind="phone")])
    assert people_of(phone)[1]["status"] == "unknown"


def test_an_unreadable_room_is_recorded_as_unread():
    record = read(None)
    assert record["unread"] is True and {p["status"] for p in record["people"]} == {"unknown"}


@pytest.mark.parametrize("account", ["users/5", None])
def test_a_signed_in_partner_matched_by_name_lends_the_account_to_later_rounds(account):
    record = read([seen("Anna", (0, 300), account=account)])
    later = known_accounts({"1": {"dates": [record], "final": False}})
    assert later == ({"users/5": 1} if account else {})
