"""The ready check, the start with its re-plan, ratings and matches."""

from __future__ import annotations

from datetime import timedelta

from datemaker.domain.errors import (
    AlreadyReady,
    AlreadyReported,
    NotParticipant,
    NotYourPartner,
    RatingClosed,
    ReadyCheckClosed,
    UnknownReaction,
)
from datemaker.domain.lifecycle import EventState
from datemaker.domain.profile import Profile

from ..support.dating_events import AT, START, confirmed_event, refused, replay

F, M = Profile(sex="F"), Profile(sex="M")


def ready_event(*profiles: Profile, ready_check: bool = True):
    event = confirmed_event(*profiles)
    event.ready_check = ready_check  # set as scheduled; the helper uses the default
    event.close_confirmation(AT, seed=1)
    return event


def test_only_placed_participants_answer_the_ready_check_once():
    event = ready_event(F, M, F, M)
    event.mark_ready(1, AT)
    refused(event, lambda: event.mark_ready(1, AT), AlreadyReady)
    refused(event, lambda: event.mark_ready(42, AT), NotParticipant)
    assert event.ready == [1]


def test_the_ready_check_is_closed_before_groups_are_fixed():
    event = confirmed_event(F, M)
    refused(event, lambda: event.mark_ready(1, AT), ReadyCheckClosed)


def test_the_start_re_pairs_the_present_and_names_the_no_shows():
    event = ready_event(F, M, F, M)
    for user_id in (1, 2, 3):
        event.mark_ready(user_id, AT)
    plan = event.begin(START, seed=2)
    assert event.state is EventState.RUNNING
    assert event.no_shows == [4]
    assert plan.placed_user_ids <= {1, 2, 3} and 4 in plan.unplaced_user_ids
    assert all(4 not in pair.user_ids for n in range(1, plan.rounds_count + 1) for pair in plan.pairs_in_round(n))


def test_without_a_ready_check_everyone_still_registered_is_present():
    event = ready_event(F, M, F, M, ready_check=False)
    event.cancel_registration(3, AT)
    event.begin(START, seed=2)
    assert event.no_shows == [3]


def running_event():
    event = ready_event(F, M)
    event.mark_ready(1, AT)
    event.mark_ready(2, AT)
    event.begin(START, seed=1)
    return event


def during_round_one(event):
    return event.timings.round_starts_at(START, 1) + timedelta(seconds=1)


def test_a_rating_is_only_for_a_partner_one_had_a_date_with():
    event = running_event()
    at = during_round_one(event)
    event.rate(1, 2, "like", at)
    assert event.reaction(1, 2) == "like"
    refused(event, lambda: event.rate(1, 3, "like", at), NotYourPartner)
    refused(event, lambda: event.rate(1, 2, "love", at), UnknownReaction)


def test_a_partner_cannot_be_rated_before_the_date_began():
    event = running_event()
    before = event.timings.round_starts_at(START, 1) - timedelta(seconds=1)
    refused(event, lambda: event.rate(1, 2, "like", before), NotYourPartner)


def test_ratings_lock_at_the_rating_deadline():
    event = running_event()
    late = event.ratings_lock_at() + timedelta(seconds=1)
    refused(event, lambda: event.rate(1, 2, "like", late), RatingClosed)


def test_mutual_likes_become_matches_and_reports_are_kept():
    event = ready_event(F, M, F, M)
    for user_id in (1, 2, 3, 4):
        event.mark_ready(user_id, AT)
    plan = event.begin(START, seed=3)
    late = event.ratings_lock_at() - timedelta(seconds=1)
    assert event.advance(late, seed=3) == ["end_round", "start_round", "end_round"]
    first, second = sorted(pair.user_ids for pair in plan.pairs_in_round(1))
    event.rate(first[0], first[1], "like", late)
    event.rate(first[1], first[0], "like", late)
    event.rate(second[0], second[1], "like", late)
    event.rate(second[1], second[0], "report", late)
    assert event.advance(late + timedelta(seconds=1), seed=3) == ["finish"]
    assert event.matches == [list(first)]
    assert event.state is EventState.FINISHED
    assert event.reports == [[second[1], second[0]]]
    refused(event, lambda: event.rate(first[0], first[1], "dislike", late), RatingClosed)
    assert event.advance(late + timedelta(days=9), seed=3) == []
    assert replay(event.collect_events()).__dict__ == event.__dict__


def test_a_report_is_filed_once_with_its_category_and_no_later_reaction_replaces_it():
    event = running_event()
    at = during_round_one(event)
    event.rate(1, 2, "dislike", at)
    event.rate(1, 2, "report", at, category="harassment")
    refused(event, lambda: event.rate(1, 2, "report", at), AlreadyReported)
    refused(event, lambda: event.rate(1, 2, "like", at), AlreadyReported)
    refused(event, lambda: event.rate(2, 1, "like", at, category="other"), UnknownReaction)  # not a report
    refused(event, lambda: event.rate(2, 1, "report", at, category="rude"), UnknownReaction)
    event.rate(2, 1, "like", at)
    event.rate(2, 1, "dislike", at)  # a like or dislike may change
    assert event.reports == [[1, 2]]
    assert event.reaction(1, 2) == "report" and event.reaction(2, 1) == "dislike"
    assert dict(event.report_categories) == {"1-2": "harassment"}
    assert replay(event.collect_events()).__dict__ == event.__dict__


def test_when_everyone_is_present_the_announced_dates_stay():
    event = ready_event(F, M, F, M)
    planned = event.planned
    for user_id in (1, 2, 3, 4):
        event.mark_ready(user_id, AT)
    assert event.begin(START, seed=999) == planned
    assert event.no_shows == []


def test_the_start_records_the_plan_only_when_it_re_pairs():
    everyone = ready_event(F, M, F, M)
    for user_id in (1, 2, 3, 4):
        everyone.mark_ready(user_id, AT)
    everyone.begin(START, seed=3)
    started = everyone.pending_events[-1]
    assert type(started).__name__ == "Started" and started.plan is None
    assert replay(everyone.pending_events).planned == everyone.planned  # the announced plan stays

    some = ready_event(F, M, F, M)
    for user_id in (1, 2, 3):
        some.mark_ready(user_id, AT)
    plan = some.begin(START, seed=3)
    started = some.pending_events[-1]
    assert started.plan is not None and started.plan == plan.to_record()
    assert replay(some.pending_events).planned == plan


def test_a_plan_worked_out_ahead_closes_confirmation_as_the_deadline_would():
    ahead, at_deadline = confirmed_event(F, M, F, M), confirmed_event(F, M, F, M)
    prepared = ahead.plan_for(seed=11)
    ahead.close_confirmation(AT, seed=11, prepared=prepared)
    at_deadline.close_confirmation(AT, seed=11)
    assert ahead.planned == at_deadline.planned == prepared
    assert ahead.pending_events[-1].plan == at_deadline.pending_events[-1].plan
