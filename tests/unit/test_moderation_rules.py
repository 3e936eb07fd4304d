"""A user's standing (blocks, lifted blocks, decisions on reports) and what
a block does to an event not running yet: withdrawn, and in READY the plan
made again without them; what the bot is told about it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from datemaker.app.bot_messages import messages_for
from datemaker.domain.errors import AlreadyLeft, NotRegistered
from datemaker.domain.ids import parse_report_id, report_id, standing_uuid
from datemaker.domain.lifecycle import EventState
from datemaker.domain.profile import Profile
from datemaker.domain.standing import InvalidModeration, NotBlocked, UserStanding

from ..support.dating_events import AT, START, confirmed_event, new_event, refused, replay

F, M = Profile(sex="F"), Profile(sex="M")


def test_a_standing_lives_under_an_id_made_from_the_user_id():
    standing = UserStanding(user_id=42)
    assert standing.id == standing_uuid(42) != standing_uuid(43)
    with pytest.raises(ValueError):
        standing_uuid(0)


def test_a_block_holds_until_its_end_or_until_it_is_lifted():
    standing = UserStanding(user_id=42)
    assert standing.block(reason="harassment", by="anna", at=AT, until=AT + timedelta(days=7))
    assert standing.block_in_force(AT + timedelta(days=6))["reason"] == "harassment"
    assert standing.block_in_force(AT + timedelta(days=7)) is None  # ran out
    assert standing.held_block == (True, AT + timedelta(days=7))
    refused(standing, lambda: standing.unblock(by="anna", at=AT + timedelta(days=8)), NotBlocked)
    standing.block(reason="spam", by="anna", at=AT + timedelta(days=8))
    standing.unblock(by="boris", at=AT + timedelta(days=9))
    assert standing.block_in_force(AT + timedelta(days=9)) is None and standing.held_block == (False, None)
    assert [(b["reason"], b["lifted_by"]) for b in standing.blocks] == [("harassment", None), ("spam", "boris")]
    again = None
    for recorded in standing.collect_events():
        again = recorded.mutate(again)
    assert again.blocks == standing.blocks


def test_blocking_again_on_the_same_terms_records_nothing():
    standing = UserStanding(user_id=42)
    standing.block(reason="spam", by="anna", at=AT)
    version = standing.version
    assert not standing.block(reason="spam", by="boris", at=AT + timedelta(hours=1))
    assert standing.version == version
    assert standing.block(reason="spam", by="boris", at=AT, until=AT + timedelta(days=1))  # new terms


@pytest.mark.parametrize("bad", [
    {"reason": "two words"}, {"reason": ""}, {"by": "<b>"}, {"until": AT - timedelta(seconds=1)},
    {"until": AT.replace(tzinfo=None) + timedelta(days=1)},
])
def test_a_block_with_free_text_or_an_end_before_it_is_refused(bad):
    standing = UserStanding(user_id=42)
    args = {"reason": "spam", "by": "anna", "at": AT, **bad}
    refused(standing, lambda: standing.block(**args), InvalidModeration)


def test_a_decision_on_a_report_may_be_replaced_and_both_are_kept():
    standing = UserStanding(user_id=12)
    assert standing.decision("17-3-12") is None
    assert standing.resolve(report_id="17-3-12", outcome="warned", by="anna", at=AT, note="first")
    assert not standing.resolve(report_id="17-3-12", outcome="warned", by="anna", at=AT, note="first")
    assert standing.resolve(report_id="17-3-12", outcome="dismissed", by="boris", at=AT)
    assert standing.decision("17-3-12")["outcome"] == "dismissed"
    assert [d["outcome"] for d in standing.decisions["17-3-12"]] == ["warned", "dismissed"]
    refused(standing, lambda: standing.resolve(report_id="17-3-12", outcome="banned", by="a", at=AT),
            InvalidModeration)


def test_a_report_id_names_the_event_the_reporter_and_the_reported():
    assert parse_report_id(report_id(17, 3, 12)) == (17, 3, 12)
    for bad in ["17-3", "17-3-3", "a-b-c", "17-03-12", "17--3-12", ""]:
        with pytest.raises(ValueError):
            parse_report_id(bad)


def test_a_blocked_user_leaves_an_event_before_groups_are_fixed_and_is_told():
    event = new_event()
    event.register(1, F, AT)
    event.remove_blocked(1, AT, seed=1)
    assert not event.is_registered(1)
    (recorded,) = event.collect_events()[-1:]
    assert recorded.reason == "blocked"
    assert [(m.user_id, m.command) for m in messages_for(recorded, event)] == [
        (1, "send_user_will_not_take_part_in_event")]
    refused(event, lambda: event.remove_blocked(1, AT, seed=1), NotRegistered)


def test_a_users_own_withdrawal_is_still_told_nothing():
    event = new_event()
    event.register(1, F, AT)
    event.cancel_registration(1, AT)
    assert messages_for(event.collect_events()[-1], event) == []


def test_in_ready_the_plan_is_made_again_without_the_blocked_user():
    event = confirmed_event(F, M, F, M, F)
    event.close_confirmation(AT, seed=1)
    assert 2 in event.planned.placed_user_ids
    event.remove_blocked(2, AT, seed=3)
    replanned = event.collect_events()[-1]
    plan = event.planned
    assert type(replanned).__name__ == "Replanned" and replanned.removed == [2]
    assert 2 not in plan.placed_user_ids and plan.unplaced_reason(2) == "blocked"
    assert all(2 not in p.user_ids for n in range(1, plan.rounds_count + 1) for p in plan.pairs_in_round(n))
    assert plan.placed_user_ids == {1, 3, 4, 5}


def test_whoever_loses_their_place_with_the_new_plan_is_told():
    event = confirmed_event(F, M)
    event.close_confirmation(AT, seed=1)
    history = list(event.collect_events())
    event.remove_blocked(2, AT, seed=3)
    cancelled, replanned = event.collect_events()
    assert replanned.lost_place == [1] and event.planned.rounds_count == 0
    assert [(m.user_id, m.command) for m in messages_for(replanned, event)] == [
        (1, "send_user_will_not_take_part_in_event")]
    again = replay([*history, cancelled, replanned])
    assert again.plan == event.plan and not again.is_registered(2)


def test_a_running_event_takes_a_blocked_user_out_of_the_rounds_still_to_come():
    event = confirmed_event(F, M, F, M)
    event.close_confirmation(AT, seed=1)
    event.ready_check = False
    event.begin(START, seed=1)
    assert event.state is EventState.RUNNING and event.planned.rounds_count == 2
    partner = event.planned.partner_of(2, 2)
    event.remove_blocked(2, START, seed=1)
    (left,) = event.collect_events()[-1:]
    assert type(left).__name__ == "ParticipantLeft" and left.reason == "blocked" and left.from_round == 2
    assert event.left == [2] and event.is_registered(2)  # they were there: their dates stand
    assert event.planned.partner_of(2, 2) is None and event.planned.partner_of(partner, 2) is None
    assert [(m.user_id, m.command) for m in messages_for(left, event)] == [
        (2, "send_user_will_not_take_part_in_event")]
    refused(event, lambda: event.remove_blocked(2, START, seed=1), AlreadyLeft)
