"""Moments of an event that used to pass in silence, with the bot as it is
today: the confirmation reminder, the end of confirmation for whoever never
confirmed, a start that leaves someone out or cannot go on at all, sit-outs
of every kind, and an operator calling off a round under way."""

from __future__ import annotations

from datetime import timedelta

import pytest

from datemaker.app.bot_messages import messages_for
from datemaker.domain import timeline
from datemaker.domain.errors import IllegalTransition
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings
from datemaker.settings import SettingsError, load_settings

from ..support.dating_events import ANNA, AT, BORIS, START, new_event, replay

T = Timings()
OPENS, CLOSES = T.confirmation_opens_at(START), T.confirmation_closes_at(START)
REMINDER = CLOSES - timedelta(hours=3)


def sent(event, recorded, extensions=()):
    return [(m.user_id, m.command, m.data) for m in messages_for(recorded, event, extensions)]


def by_kind(event, kind):
    return [e for e in event.collect_events() if type(e).__name__ == kind]


def asking(*user_ids, **options):
    """Registered before confirmation opened (on time), none confirmed yet."""
    event = new_event(**options)
    for uid in user_ids:
        event.register(uid, ANNA if uid > 10 else BORIS, AT)
    event.advance(event.timings.confirmation_opens_at(START), seed=1)
    return event


def rooms_for_every_round(event):
    for round_no, count in event.rooms_needed().items():
        event.add_rooms(round_no, [{"space": f"spaces/{round_no}-{i}", "uri": f"https://meet.google.com/r{round_no}-{i}"}
                                   for i in range(count)], AT)


def running(people, *, users_limit=4, absent=()):
    """Everyone confirmed and placed, rooms made; those not `absent` answered
    the ready check; the event has just started (its events collected)."""
    event = new_event(users_limit=users_limit)
    for uid, profile in people.items():
        event.register(uid, profile, AT)
    event.open_confirmation(AT)
    for uid in people:
        event.confirm_registration(uid, AT)
    event.close_confirmation(AT, seed=1)
    rooms_for_every_round(event)
    for uid in event.planned.placed_user_ids - set(absent):
        event.mark_ready(uid, AT)
    event.collect_events()
    event.begin(START, seed=1)
    rooms_for_every_round(event)
    return event


# --- the confirmation reminder -------------------------------------------------


def test_the_unconfirmed_are_asked_again_three_hours_before_the_deadline_once():
    event = asking(1, 2, 11)
    event.confirm_registration(1, OPENS + timedelta(hours=1))
    assert timeline.next_step(event) == timeline.Step(REMINDER, timeline.REMIND_UNCONFIRMED)
    event.collect_events()
    assert event.advance(REMINDER - timedelta(seconds=1), seed=1) == []
    assert event.advance(REMINDER, seed=1) == [timeline.REMIND_UNCONFIRMED]
    (reminded,) = by_kind(event, "ConfirmationReminded")
    assert reminded.user_ids == [2, 11]
    assert timeline.next_step(event) == timeline.Step(CLOSES, timeline.CLOSE_CONFIRMATION)  # once
    with pytest.raises(IllegalTransition):
        event.remind_unconfirmed(REMINDER)
    messages = messages_for(reminded, event)
    assert [(m.user_id, m.command, m.body) for m in messages] == [
        (2, "confirm_registration", b"confirm_registration"), (11, "confirm_registration", b"confirm_registration")]
    # Not the first request's id: a bot that drops duplicates keeps it.
    assert [m.message_id for m in messages] == ["dm:17:0:confirm_registration:2:reminder",
                                               "dm:17:0:confirm_registration:11:reminder"]


def test_the_first_request_and_the_reminder_have_different_message_ids():
    event = asking(2)
    first = messages_for(event.collect_events()[-1], event)  # ConfirmationOpened
    event.advance(REMINDER, seed=1)
    again = messages_for(event.collect_events()[-1], event)
    assert first[0].message_id == "dm:17:0:confirm_registration:2"
    assert again[0].message_id != first[0].message_id and again[0].command == first[0].command


def test_a_late_registrant_asked_less_than_the_offset_before_is_not_reminded():
    event = asking(1)
    event.register(2, BORIS, REMINDER - timedelta(hours=2, minutes=59))  # asked at once, on registering
    event.register(3, BORIS, REMINDER - timedelta(hours=3))
    event.collect_events()
    event.advance(REMINDER, seed=1)
    assert by_kind(event, "ConfirmationReminded")[0].user_ids == [1, 3]


def test_a_window_too_short_for_a_reminder_gets_none():
    # Confirmation open 4 h: a reminder 3 h before the deadline would come 1 h after the first request.
    short = Timings(confirm_before=5 * 3600, confirm_deadline=3600)
    assert short.confirmation_reminder_at(START) is None
    event = asking(1, timings=short)
    assert timeline.next_step(event).action == timeline.CLOSE_CONFIRMATION
    # Exactly as long after opening as before the deadline: sent.
    even = Timings(confirm_before=7 * 3600, confirm_deadline=3600)
    assert even.confirmation_reminder_at(START) == START - timedelta(hours=4)
    # Past before confirmation even opens.
    assert Timings(confirm_before=2 * 3600, confirm_deadline=3600).confirmation_reminder_at(START) is None


def test_a_reminder_of_0_is_none():
    event = asking(1, timings=Timings(confirm_reminder=0))
    assert timeline.next_step(event) == timeline.Step(CLOSES, timeline.CLOSE_CONFIRMATION)


def test_a_clock_down_past_the_deadline_reminds_nobody_and_then_closes():
    event = asking(1, 11)
    event.collect_events()
    assert event.advance(CLOSES + timedelta(minutes=5), seed=1) == [timeline.REMIND_UNCONFIRMED, timeline.CLOSE_CONFIRMATION]
    recorded = event.collect_events()
    assert recorded[0].user_ids == [] and messages_for(recorded[0], event) == []


def test_confirmation_opened_late_does_not_remind_right_after_the_first_request():
    event = new_event()
    event.register(1, BORIS, AT)
    late = REMINDER + timedelta(minutes=1)  # the clock was down through the opening and the reminder's time
    assert event.advance(late, seed=1) == [timeline.OPEN_CONFIRMATION, timeline.REMIND_UNCONFIRMED]
    assert by_kind(event, "ConfirmationReminded")[0].user_ids == []


def test_timings_recorded_before_the_reminder_existed_read_as_three_hours_and_replay_the_same():
    record = {k: v for k, v in T.to_record().items() if k != "confirm_reminder"}
    assert Timings.from_record(record).confirm_reminder == 3 * 3600
    event = new_event()
    event.register(1, BORIS, AT)
    event.advance(REMINDER, seed=1)
    copy = replay(event.collect_events())
    assert copy == event and copy.confirmation_reminded
    assert timeline.next_step(copy) == timeline.Step(CLOSES, timeline.CLOSE_CONFIRMATION)


# --- the end of confirmation ---------------------------------------------------


def test_at_the_deadline_whoever_never_confirmed_is_told_they_will_not_take_part():
    event = asking(1, 2, 11)
    event.confirm_registration(1, OPENS)
    event.confirm_registration(11, OPENS)
    event.collect_events()
    event.close_confirmation(CLOSES, seed=1)
    (formed,) = event.collect_events()
    assert sent(event, formed) == [
        (1, "send_user_will_take_part_in_event", None), (11, "send_user_will_take_part_in_event", None),
        (2, "send_user_will_not_take_part_in_event", None),
    ]


# --- the start -------------------------------------------------------------------


def test_the_present_at_a_start_that_cannot_go_on_get_the_final_message_and_no_shows_nothing():
    event = running({1: BORIS, 11: ANNA}, absent=[11])
    (started,) = event.collect_events()[:1]
    assert event.planned.rounds_count == 0 and event.no_shows == [11]
    assert sent(event, started) == [(1, "send_final_dating_message", None)]


def test_someone_present_left_without_a_place_by_the_re_pairing_is_told_so():
    # Two dates in two groups of two; one woman stays away: three people for one group of two.
    event = running({1: ANNA, 2: ANNA, 3: BORIS, 4: BORIS}, users_limit=2, absent=[2])
    started = next(e for e in event.collect_events() if type(e).__name__ == "Started")
    plan = event.planned
    (left_out,) = {3, 4} - plan.placed_user_ids
    assert plan.unplaced_reason(left_out) == "group_limit_reached"
    messages = sent(event, started)
    assert (left_out, "send_user_will_not_take_part_in_event", None) in messages
    assert [m for m in messages if m[0] in (2, left_out)] == [(left_out, "send_user_will_not_take_part_in_event", None)]


def test_when_everyone_came_nobody_is_told_they_have_no_place():
    event = running({1: BORIS, 11: ANNA})
    started = next(e for e in event.collect_events() if type(e).__name__ == "Started")
    assert [c for _, c, _ in sent(event, started)] == ["invite_to_meeting", "send_partner_profile"] * 2


# --- sit-outs ----------------------------------------------------------------------


def test_whoever_sits_a_round_out_gets_the_break_message_from_a_bot_without_the_sit_out_message():
    event = running({1: ANNA, 2: BORIS, 3: BORIS})  # one woman, two men: a man rests each round
    started = next(e for e in event.collect_events() if type(e).__name__ == "Started")
    (resting,) = [s.user_id for s in event.planned.sit_outs(1)]
    ends_at = T.round_ends_at(START, 1).isoformat()
    assert [m for m in sent(event, started) if m[0] == resting] == [(resting, "send_break_message", None)]
    assert [m for m in sent(event, started, {"send_sit_out_message"}) if m[0] == resting] == [
        (resting, "send_sit_out_message", {"round": 1, "ends_at": ends_at})]
    assert [m.message_id for m in messages_for(started, event) if m.user_id == resting] == [
        f"dm:17:1:send_break_message:{resting}"]


def test_a_group_whose_rounds_are_over_sits_out_the_others_last_rounds():
    # Groups of at most three: (woman, two men) meets for two rounds, the other pair for one.
    event = running({1: ANNA, 2: ANNA, 3: BORIS, 4: BORIS, 5: BORIS}, users_limit=3)
    plan = event.planned
    short = next(g for g in plan.groups if len(g.rounds) == 1)
    event.collect_events()
    event.end_round(START)
    event.start_round(START)
    (round_two,) = by_kind(event, "RoundStarted")
    ends_at = T.round_ends_at(START, 2).isoformat()
    messages = sent(event, round_two)
    for uid in short.user_ids:
        assert [m for m in messages if m[0] == uid] == [(uid, "send_break_message", None)]
    with_it = sent(event, round_two, {"send_sit_out_message"})
    for uid in short.user_ids:
        assert [m for m in with_it if m[0] == uid] == [
            (uid, "send_sit_out_message", {"round": 2, "ends_at": ends_at, "reason": "met_all_partners"})]


# --- an operator's cancel ------------------------------------------------------------


def test_a_round_under_way_when_the_event_is_cancelled_has_its_calls_ended_at_once():
    event = running({1: BORIS, 11: ANNA})
    cancelled_at = START + timedelta(seconds=T.ready_grace + 60)
    event.cancel(cancelled_at)
    assert event.calls_left_running()
    assert timeline.next_step(event) == timeline.Step(cancelled_at, timeline.END_ROUND)
    event.collect_events()
    assert event.advance(cancelled_at + timedelta(seconds=1), seed=1) == [timeline.END_ROUND]
    (ended,) = event.collect_events()
    assert (type(ended).__name__, ended.round_no) == ("RoundEnded", 1)
    assert event.state is EventState.CANCELLED and event.rounds_to_close() == [1]  # attendance is still read
    assert timeline.next_step(event) is None
    assert sent(event, ended, {"send_sit_out_message", "send_event_cancelled"}) == []  # no rating, no break, no final


def test_a_cancel_tells_nothing_to_a_bot_without_the_cancel_message_and_a_cancel_in_a_break_ends_no_call():
    event = running({1: BORIS, 11: ANNA, 2: BORIS, 12: ANNA})
    event.end_round(START)
    event.collect_events()
    event.cancel(START)
    (cancelled,) = event.collect_events()
    assert sent(event, cancelled) == []
    assert [c for _, c, _ in sent(event, cancelled, {"send_event_cancelled"})] == ["send_event_cancelled"] * 4
    assert not event.calls_left_running() and timeline.next_step(event) is None


# --- the setting ---------------------------------------------------------------------


def test_the_reminder_setting_takes_a_duration_or_seconds_and_names_itself_when_wrong():
    assert load_settings().confirm_reminder == 3 * 3600
    assert [load_settings(DATEMAKER_CONFIRM_REMINDER=v).confirm_reminder for v in ("90m", "1h30m", "600", "0")] == [
        5400, 5400, 600, 0]
    for wrong in ("soon", "-5"):
        with pytest.raises(SettingsError, match="DATEMAKER_CONFIRM_REMINDER"):
            load_settings(DATEMAKER_CONFIRM_REMINDER=wrong)
