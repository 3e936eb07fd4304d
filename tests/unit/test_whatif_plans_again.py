"""`datemaker whatif`'s planning, on events run in memory: with the event's
own settings it gives back the plan that ran; other settings change what
they should and nothing else."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.pairing import Plan
from datemaker.domain.profile import Profile
from datemaker.history.render_whatif import document
from datemaker.history.whatif import NotReplayable, Options, compare, read_recorded
from datemaker.history.whatif_figures import pairs_of, sides

from ..support.dating_events import AT, START, new_event

MEN, WOMEN = [1, 2, 3, 4, 5], [11, 12, 13, 14, 15]
NO_SHOW = 15


def profile(uid: int) -> Profile:
    """Alike enough to date, different enough that scores differ."""
    return Profile(sex="M" if uid < 10 else "F", birthday=date(1988 + uid % 7, 1 + uid % 12, 1),
                   city=("Kazan", "Moscow")[uid % 2], rating=float(uid % 5), manual_score=1 + uid % 3)


def played(people=(*MEN, *WOMEN), *, users_limit=10, ready_check=True, absent=(NO_SHOW,), never_meet=(),
           blocked=None, left_in_round=None) -> tuple[DatingEvent, list]:
    """An event from scheduling to FINISHED; (its state, what it recorded)."""
    event = new_event(users_limit=users_limit, ready_check=ready_check)
    for uid in people:
        event.register(uid, profile(uid), AT)
    event.open_confirmation(AT)
    for uid in people:
        event.confirm_registration(uid, AT)
    event.close_confirmation(AT, seed=42, never_meet=never_meet)
    if blocked is not None:
        event.remove_blocked(blocked, AT + timedelta(hours=1), seed=7)
    event.announce_rules(START)
    if ready_check:
        for uid in sorted(event.planned.placed_user_ids - set(absent)):
            event.mark_ready(uid, START)
    event.begin(START + timedelta(minutes=2), seed=99)
    timings, rounds = event.timings, event.planned.rounds_count
    for n in range(1, rounds + 1):
        if n == left_in_round:  # someone leaves while the rounds run: later rounds re-paired
            event.leave(2, timings.round_starts_at(START, n) + timedelta(minutes=1), seed=5)
            event.leave(12, timings.round_starts_at(START, n) + timedelta(minutes=2), seed=6)
        event.end_round(timings.round_ends_at(START, n))
        if n < rounds:
            event.start_round(timings.round_starts_at(START, n + 1))
    event.finish(timings.ratings_lock_at(START, rounds))
    return event, event.collect_events()


def rounds_of(plan: Plan) -> list[tuple[list[tuple[int, int]], list[tuple[int, str]]]]:
    return [
        (sorted((p.a, p.b) for p in plan.pairs_in_round(n)), sorted((s.user_id, s.reason) for s in plan.sit_outs(n)))
        for n in range(1, plan.rounds_count + 1)
    ]


def what_if(recorded, **options):
    return compare(read_recorded(recorded), Options(**options))


@pytest.mark.parametrize(
    "case",
    [
        {},  # a no-show: the present were re-paired at the start
        {"absent": ()},  # everyone came: the plan fixed at the close ran
        {"blocked": 3},  # blocked in READY: re-planned without them, then a no-show
        {"ready_check": False, "absent": ()},
        {"never_meet": {(1, 11): ("reported",), (2, 12): ("met_recently",)}},
        {"users_limit": 4},
        {"left_in_round": 2, "absent": ()},
    ],
    ids=["no-show", "all-came", "blocked", "no-ready-check", "kept-apart", "small-groups", "left-mid-event"],
)
def test_with_the_events_own_settings_the_plan_is_exactly_the_one_that_ran(case):
    event, recorded = played(**case)
    found = what_if(recorded)
    assert found.plan == found.ran == event.planned
    assert rounds_of(found.plan) == rounds_of(event.planned)
    then, now = sides(found)
    assert {k: v for k, v in now.items() if k != "same_pairs"} == {k: v for k, v in then.items() if k != "same_pairs"}
    assert now["same_pairs"] == then["dates"] > 0
    # The event's own values given explicitly are the same as giving none.
    own = {"users_limit": event.users_limit, "round_length": event.timings.round_length,
           "break_length": event.timings.break_length, "ready_check": event.ready_check}
    assert what_if(recorded, **own).plan == event.planned


def test_a_blocked_person_is_named_with_the_reason_they_left():
    event, recorded = played(blocked=3)
    found = what_if(recorded, users_limit=4)
    assert found.plan.unplaced_reason(3) == "blocked" == event.planned.unplaced_reason(3)
    assert 3 not in found.plan.placed_user_ids


def test_a_smaller_users_limit_makes_more_groups_of_at_most_that_many():
    event, recorded = played()
    found = what_if(recorded, users_limit=4)
    present = event.planned.placed_user_ids
    assert len(event.planned.groups) == 1
    assert len(found.plan.groups) == 3  # nine present, at most four a group
    assert all(len(g.user_ids) <= 4 for g in found.plan.groups)
    assert found.plan.placed_user_ids == present  # nobody lost a place over it
    assert found.plan.unplaced_reason(NO_SHOW) == "no_show"
    assert pairs_of(found.plan) < pairs_of(event.planned)  # fewer dates, all among those that ran here


def test_round_and_break_change_only_the_length():
    event, recorded = played()
    found = what_if(recorded, round_length=420, break_length=30)
    then, now = sides(found)
    rounds = event.planned.rounds_count
    assert found.plan == event.planned
    assert then["length_seconds"] == rounds * 300 + (rounds - 1) * 60
    assert now["length_seconds"] == rounds * 420 + (rounds - 1) * 30
    assert now["first_round_start"] == then["first_round_start"]
    differ = {k for k in then if then[k] != now[k]}
    assert differ == {"length_seconds", "last_round_end", "same_pairs"}


def test_without_the_ready_check_the_no_show_counts_as_present_and_gets_dates():
    event, recorded = played()
    found = what_if(recorded, ready_check=False)
    assert NO_SHOW not in event.planned.placed_user_ids
    assert NO_SHOW in found.plan.placed_user_ids and found.plan.dates_of(NO_SHOW)
    assert found.presence.absent == () and NO_SHOW in found.presence.present


def test_someone_without_a_place_then_was_never_asked_and_counts_as_present():
    people = (1, 2, 3, 11, 12)
    event, recorded = played(people, users_limit=2, absent=())
    (left,) = event.planned.unplaced  # three men, two women, two a group
    assert left.reason == "group_limit_reached"
    found = what_if(recorded, users_limit=3)
    assert left.user_id in found.plan.placed_user_ids
    assert found.presence.assumed == (left.user_id,) and found.presence.absent == ()


def test_pairs_kept_apart_then_stay_apart_under_any_limit():
    apart = {(1, 11): ("reported",), (2, 12): ("disliked",)}
    event, recorded = played(never_meet=apart)
    for limit in (2, 3, 4, 6, 10):
        found = what_if(recorded, users_limit=limit, ready_check=False)
        assert not pairs_of(found.plan) & set(apart), limit
        assert dict(found.plan.kept_apart).items() >= apart.items()


def test_rounds_max_keeps_the_first_rounds_as_they_were():
    event, recorded = played()
    found = what_if(recorded, rounds_max=2)
    assert event.planned.rounds_count > 2
    assert found.plan.rounds_count == 2 and found.rounds_planned == event.planned.rounds_count
    assert rounds_of(found.plan) == rounds_of(event.planned)[:2]
    assert document(found)["rounds_cap"] == {"rounds_max": 2, "planned": event.planned.rounds_count, "kept": 2}


def test_the_same_inputs_give_the_same_answer():
    _, recorded = played()
    assert document(what_if(recorded, users_limit=3)) == document(what_if(recorded, users_limit=3))


def test_an_event_cancelled_before_its_start_is_planned_as_fixed_before_the_start():
    event = new_event(users_limit=10)
    for uid in (*MEN, *WOMEN):
        event.register(uid, profile(uid), AT)
    event.open_confirmation(AT)
    for uid in (*MEN, *WOMEN):
        event.confirm_registration(uid, AT)
    event.close_confirmation(AT, seed=3)
    event.remove_blocked(2, AT, seed=4)
    event.cancel(AT)
    recorded = event.collect_events()
    found = what_if(recorded)
    assert found.presence is None and found.plan == event.planned
    assert 2 not in what_if(recorded, users_limit=4).plan.placed_user_ids


def test_an_event_not_over_or_never_planned_is_refused():
    ready = new_event(users_limit=4)
    for uid in (1, 11):
        ready.register(uid, profile(uid), AT)
    ready.open_confirmation(AT)
    for uid in (1, 11):
        ready.confirm_registration(uid, AT)
    ready.close_confirmation(AT, seed=1)
    with pytest.raises(NotReplayable, match="not over"):
        read_recorded(ready.collect_events())
    never = new_event()
    never.register(1, profile(1), AT)
    never.cancel(AT)
    with pytest.raises(NotReplayable, match="never planned"):
        read_recorded(never.collect_events())


@pytest.mark.parametrize(
    "options", [{"users_limit": 1}, {"round_length": 0}, {"break_length": -1}, {"rounds_max": 0}]
)
def test_options_out_of_range_are_refused(options):
    with pytest.raises(ValueError):
        Options(**options)
