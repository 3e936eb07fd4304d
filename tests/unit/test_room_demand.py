"""The rooms the coming dates need, and whether a pool plus a make rate
serves them: estimated for events still taking registrations, exact once
the plan is fixed; earliest dates first; the first hour that falls short."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.profile import Profile
from datemaker.domain.room_demand import DatesDue, dates_due, estimated_dates_per_round, outlook, pool_target
from datemaker.domain.timings import Timings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_a_group_of_twenty_has_ten_rounds_of_ten_dates():
    assert estimated_dates_per_round(20, 20) == [10] * 10


def test_people_split_into_groups_of_at_most_the_limit():
    # 45 people, limit 20: three groups of 15, each 8 rounds of 7 dates.
    assert estimated_dates_per_round(45, 20) == [21] * 8
    # 21 people: groups of 11 and 10: six rounds of 5, and five of 5.
    assert estimated_dates_per_round(21, 20) == [10] * 5 + [5]
    assert estimated_dates_per_round(1, 20) == [] and estimated_dates_per_round(0, 20) == []


@given(st.integers(0, 5000), st.integers(2, 200))
def test_nobody_has_two_dates_in_one_round(people, limit):
    assert all(dates <= people // 2 for dates in estimated_dates_per_round(people, limit))


def test_an_event_taking_registrations_is_estimated_from_its_start():
    start = NOW + 8 * H
    event = DatingEvent.schedule(wire_id=7, start=start, timezone="UTC", users_limit=20, ready_check=False)
    for uid in range(1, 21):
        event.register(uid, Profile(sex="M" if uid % 2 else "F", birthday=date(1995, 1, 1), city="Kazan"), NOW)
    due = dates_due(event)
    t = Timings()
    assert [d.at for d in due] == [t.round_starts_at(start, n) for n in range(1, 11)]
    assert {d.count for d in due} == {10} and {d.event_id for d in due} == {7}


def test_the_pool_serves_the_earliest_dates_first_and_the_rate_the_rest():
    due = [DatesDue(NOW + 2 * H, 30), DatesDue(NOW + 5 * H + timedelta(minutes=30), 100)]
    seen = outlook(due, pool=20, rate_per_hour=10, now=NOW, horizon=24 * H)
    assert len(seen.hours) == 24 and seen.planned == 130
    # By 14:00: 20 + 2 h x 10 = 40 rooms, enough for 30. By 17:30: 75, 10 left for 100.
    assert seen.hours[2].short == 0 and seen.hours[5].short == 55
    assert seen.shortfall == 55 and seen.first_short_hour == NOW + 5 * H
    assert seen.hours[5].covered is False and seen.hours[2].covered is True


def test_enough_rooms_mean_no_shortfall_and_no_short_hour():
    seen = outlook([DatesDue(NOW + 3 * H, 600)], pool=0, rate_per_hour=600, now=NOW, horizon=24 * H)
    assert seen.shortfall == 0 and seen.first_short_hour is None


def test_dates_past_the_horizon_are_not_counted():
    due = [DatesDue(NOW + 30 * H, 1000), DatesDue(NOW - H, 5)]  # overdue: a round about to start
    seen = outlook(due, pool=0, rate_per_hour=0, now=NOW, horizon=24 * H)
    assert seen.planned == 5 and seen.shortfall == 5 and seen.first_short_hour == NOW
    assert pool_target(due, NOW, 24 * H, margin=10) == 15
    assert pool_target(due, NOW, timedelta(0), margin=10) == 0  # no horizon: no pool


@given(st.lists(st.tuples(st.integers(0, 24 * 60), st.integers(0, 500)), max_size=30),
       st.integers(0, 5000), st.integers(0, 2000))
def test_no_more_dates_are_served_than_rooms_exist_by_then(points, pool, rate):
    due = [DatesDue(NOW + timedelta(minutes=m), n) for m, n in points]
    seen = outlook(due, pool=pool, rate_per_hour=rate, now=NOW, horizon=24 * H)
    served = seen.planned - seen.shortfall
    assert 0 <= seen.shortfall <= seen.planned
    assert served <= pool + rate * 24
    if pool >= sum(n for _, n in points):
        assert seen.shortfall == 0
