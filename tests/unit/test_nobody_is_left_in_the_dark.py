"""Moments of an event that used to pass in silence, with the bot as it is
today: the confirmation reminder."""

from __future__ import annotations

from datetime import timedelta

import pytest

from datemaker.app.bot_messages import messages_for
from datemaker.domain import timeline
from datemaker.domain.errors import IllegalTransition
from datemaker.domain.timings import Timings
from datemaker.settings import SettingsError, load_settings

from ..support.dating_events import ANNA, AT, BORIS, START, new_event, replay

T = Timings()
OPENS, CLOSES = T.confirmation_opens_at(START), T.confirmation_closes_at(START)
REMINDER = CLOSES - timedelta(hours=3)


def by_kind(event, kind):
    return [e for e in event.collect_events() if type(e).__name__ == kind]


def asking(*user_ids, **options):
    """Registered before confirmation opened (on time), none confirmed yet."""
    event = new_event(**options)
    for uid in user_ids:
        event.register(uid, ANNA if uid > 10 else BORIS, AT)
    event.advance(event.timings.confirmation_opens_at(START), seed=1)
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


# --- the setting ---------------------------------------------------------------------


def test_the_reminder_setting_takes_a_duration_or_seconds_and_names_itself_when_wrong():
    assert load_settings().confirm_reminder == 3 * 3600
    assert [load_settings(DATEMAKER_CONFIRM_REMINDER=v).confirm_reminder for v in ("90m", "1h30m", "600", "0")] == [
        5400, 5400, 600, 0]
    for wrong in ("soon", "-5"):
        with pytest.raises(SettingsError, match="DATEMAKER_CONFIRM_REMINDER"):
            load_settings(DATEMAKER_CONFIRM_REMINDER=wrong)
