"""The DatingEvent aggregate's invariants, and replay equal to live state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from datemaker.domain.errors import (
    AlreadyConfirmed,
    AlreadyRegistered,
    ConfirmationClosed,
    EventFull,
    EventOver,
    IllegalTransition,
    InvalidSchedule,
    NotRegistered,
    RegistrationClosed,
)
from datemaker.domain.ids import event_uuid
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings

from ..support.dating_events import ANNA, AT, BORIS, confirmed_event, new_event, refused, replay


def test_a_new_event_is_not_started_under_its_wire_ids_uuid():
    event = new_event()
    assert event.state is EventState.NOT_STARTED
    assert event.id == event_uuid(17)
    assert event.users_limit == 20 and event.capacity is None
    assert event.timings == Timings()


@pytest.mark.parametrize(
    "bad",
    [
        {"start": datetime(2026, 12, 5, 16, 0)},
        {"users_limit": 1},
        {"capacity": 0},
        {"timezone": ""},
        {"wire_id": 0},
    ],
)
def test_a_bad_schedule_is_refused(bad):
    with pytest.raises((InvalidSchedule, ValueError)):
        new_event(**bad)


def test_timings_refuse_negative_or_inverted_offsets():
    with pytest.raises(InvalidSchedule):
        Timings(round_length=-1)
    with pytest.raises(InvalidSchedule):
        Timings(confirm_before=3600, confirm_deadline=7200)


def test_registration_snapshots_the_profile():
    event = new_event()
    event.register(1, ANNA, AT)
    assert event.registered_user_ids == [1]
    assert event.profile_of(1) == ANNA
    assert not event.is_confirmed(1)


def test_no_double_registration():
    event = new_event()
    event.register(1, ANNA, AT)
    refused(event, lambda: event.register(1, ANNA, AT), AlreadyRegistered)


def test_capacity_is_enforced_with_a_typed_reason():
    event = new_event(capacity=1)
    event.register(1, ANNA, AT)
    assert event.places_left == 0
    refused(event, lambda: event.register(2, BORIS, AT), EventFull)
    assert EventFull.reason == "event_full"


def test_a_cancelled_registration_frees_the_place_and_may_register_again():
    event = new_event(capacity=1)
    event.register(1, ANNA, AT)
    event.cancel_registration(1, AT)
    event.register(2, BORIS, AT)
    refused(event, lambda: event.register(1, ANNA, AT), EventFull)
    event.cancel_registration(2, AT)
    event.register(1, ANNA, AT)
    assert event.registered_user_ids == [1]


def test_cancelling_without_a_registration_is_refused():
    event = new_event()
    refused(event, lambda: event.cancel_registration(5, AT), NotRegistered)


def test_registration_stays_open_while_confirmation_runs():
    event = new_event()
    event.open_confirmation(AT)
    event.register(1, ANNA, AT)
    assert event.state is EventState.REG_CONFIRM and event.is_registered(1)


def test_confirm_only_a_live_registration_while_confirmation_is_open():
    event = new_event()
    event.register(1, ANNA, AT)
    refused(event, lambda: event.confirm_registration(1, AT), ConfirmationClosed)
    event.open_confirmation(AT)
    refused(event, lambda: event.confirm_registration(2, AT), NotRegistered)
    event.confirm_registration(1, AT)
    assert event.confirmed_user_ids == [1]
    refused(event, lambda: event.confirm_registration(1, AT), AlreadyConfirmed)


def test_a_withdrawn_confirmation_needs_a_new_one():
    event = new_event()
    event.register(1, ANNA, AT)
    event.open_confirmation(AT)
    event.confirm_registration(1, AT)
    event.cancel_registration(1, AT)
    event.register(1, ANNA, AT)
    assert not event.is_confirmed(1)


def test_opening_confirmation_twice_is_an_illegal_transition():
    event = new_event()
    event.open_confirmation(AT)
    refused(event, lambda: event.open_confirmation(AT), IllegalTransition)


def test_nothing_changes_a_cancelled_event():
    event = new_event()
    event.register(1, ANNA, AT)
    event.cancel(AT)
    assert event.state is EventState.CANCELLED
    for command in (
        lambda: event.register(2, BORIS, AT),
        lambda: event.cancel_registration(1, AT),
        lambda: event.confirm_registration(1, AT),
        lambda: event.open_confirmation(AT),
        lambda: event.cancel(AT),
    ):
        refused(event, command, EventOver)


def test_every_error_carries_the_protocols_reason_word():
    assert RegistrationClosed.reason == "registration_closed"
    assert AlreadyRegistered.reason == "already_registered"
    assert NotRegistered.reason == "not_registered"


def test_state_change_events_store_the_resulting_state():
    event = new_event()
    event.open_confirmation(AT)
    event.cancel(AT, reason="storm")
    opened, cancelled = event.collect_events()[1:]
    assert opened.state == EventState.REG_CONFIRM
    assert cancelled.state == EventState.CANCELLED and cancelled.reason == "storm"


def test_replay_equals_live_state():
    event = new_event(capacity=5)
    event.register(1, ANNA, AT)
    event.register(2, BORIS, AT)
    event.open_confirmation(AT + timedelta(hours=1))
    event.confirm_registration(1, AT + timedelta(hours=2))
    event.cancel_registration(2, AT + timedelta(hours=3))
    event.register(3, BORIS, AT + timedelta(hours=4))
    rebuilt = replay(event.collect_events())
    assert rebuilt.__dict__ == event.__dict__
    assert rebuilt.confirmed_user_ids == [1] and rebuilt.registered_user_ids == [1, 3]


def test_events_keep_their_own_copy_of_mutable_arguments():
    event = new_event()
    event.register(1, ANNA, AT)
    event.registrations["1"]["profile"]["city"] = "Elsewhere"
    registered = event.collect_events()[1]
    assert registered.profile["city"] == "Moscow"


def test_closing_confirmation_fixes_groups_and_rounds_in_one_event():
    event = confirmed_event(ANNA, BORIS, ANNA, BORIS)
    event.register(9, BORIS, AT)  # registered but never confirmed: not planned
    plan = event.close_confirmation(AT, seed=5)
    assert event.state is EventState.READY
    assert plan.placed_user_ids == {1, 2, 3, 4} and plan.rounds_count == 2
    formed = event.collect_events()[-1]
    assert type(formed).__name__ == "GroupsFormed" and formed.state == EventState.READY
    assert event.planned == plan
    refused(event, lambda: event.register(10, ANNA, AT), RegistrationClosed)


def test_too_few_for_one_pair_skips_the_event_with_everyones_reason():
    event = confirmed_event(BORIS, BORIS, BORIS)
    plan = event.close_confirmation(AT, seed=5)
    assert event.state is EventState.SKIPPED and event.end_reason == "too_few_participants"
    assert plan.unplaced_user_ids == {1, 2, 3}
    assert all(plan.unplaced_reason(uid) for uid in (1, 2, 3))


def test_closing_confirmation_is_only_possible_while_it_is_open():
    event = new_event()
    refused(event, lambda: event.close_confirmation(AT, seed=1), IllegalTransition)


def test_replay_reads_the_recorded_plan_and_never_recomputes_it(monkeypatch):
    event = confirmed_event(ANNA, BORIS, ANNA, BORIS)
    event.close_confirmation(AT, seed=5)
    history = event.collect_events()

    def no_planning(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("replay must not plan")

    monkeypatch.setattr("datemaker.domain.dating_event.plan_event", no_planning)
    rebuilt = replay(history)
    assert rebuilt.__dict__ == event.__dict__ and rebuilt.planned == event.planned
