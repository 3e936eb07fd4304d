"""The re-plan when people leave while the rounds run (pairing/midway.py),
on random populations, with several leaving one after another in later and
later rounds and reports filed on the way: the rounds already started never
change, nobody meets anyone twice, pairs kept apart never meet, the event
keeps its length, whoever left sits out every later round, and (men and
women) every pair still to meet meets, so nobody rests who could have had a
date. (`test_pairing_properties` covers `replan` itself from any round.)"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from datemaker.domain.pairing import Plan, forbidden_pairs, midway, plan_event, reasons

from .test_pairing_properties import RULES, START, Event, events, may_date, population, round_trips


@st.composite
def departures(draw: st.DrawFn) -> tuple[Event, Plan, list[tuple[int, int, int]], int]:
    """An event, its plan, who leaves when: (from_round, leaver, reports
    filed by then), from_round never going back; and a seed for picking the
    reported pairs among those who met (a report needs a date)."""
    event = draw(events(("opposite_sex", "opposite_sex", "anyone", "same_city"), min_size=2, max_size=60,
                        men_shares=st.floats(0.2, 0.8)))
    plan = event.plan()
    placed = sorted(plan.placed_user_ids)
    assume(placed)
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    leavers = rnd.sample(placed, min(len(placed), draw(st.integers(1, 4))))
    rounds = sorted(rnd.randint(2, max(plan.rounds_count, 2)) for _ in leavers)
    steps = [(from_round, leaver, rnd.randint(0, 3)) for from_round, leaver in zip(rounds, leavers, strict=True)]
    return event, plan, steps, rnd.getrandbits(32)


def meetings(plan: Plan) -> list[tuple[int, tuple[int, int]]]:
    return [(n, p.user_ids) for n in range(1, plan.rounds_count + 1) for p in plan.pairs_in_round(n)]


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(departures())
def test_people_leaving_mid_event_keep_the_past_and_every_pairing_rule(case) -> None:  # noqa: ANN001
    event, plan, steps, seed = case
    rule = RULES[event.rule]
    original = plan
    gone: set[int] = set()
    reported: list[tuple[int, int]] = []
    rnd = random.Random(seed)
    for from_round, leaver, reports in steps:
        held = sorted({p for n, p in meetings(plan) if n < from_round})
        reported += [rnd.choice(held)[::-1] for _ in range(reports)] if held else []
        staying = plan.placed_user_ids - gone - {leaver}
        later = midway.without(plan, leaver, staying, from_round, reported, seed=from_round,
                               participants=event.people, compatibility=rule)
        assert later == midway.without(plan, leaver, staying, from_round, reported, seed=from_round,
                                       participants=event.people, compatibility=rule)
        assert round_trips(later)
        gone.add(leaver)
        # The past, and the event's length, never change; nor do other groups.
        assert later.rounds_count == plan.rounds_count == original.rounds_count
        assert later.unplaced == plan.unplaced and [g.user_ids for g in later.groups] == [g.user_ids for g in plan.groups]
        for old, new in zip(plan.groups, later.groups, strict=True):
            assert [r for r in new.rounds if r.number < from_round] == [r for r in old.rounds if r.number < from_round]
            if leaver not in old.user_ids:
                assert new == old
        banned = forbidden_pairs([*event.forbidden, *reported])
        assert set(later.kept_apart) >= set(plan.kept_apart)
        group = later.group_of(leaver)
        members = set(group.user_ids)
        before = {p for n, p in meetings(plan) if n < from_round}
        after = [(n, p) for n, p in meetings(later) if n >= from_round and set(p) <= members]
        met = Counter(p for _, p in meetings(later))
        assert set(met.values()) <= {1}, "someone meets someone twice"
        for n, (a, b) in after:
            assert a not in gone and b not in gone, "a date with someone who left"
            assert (a, b) not in banned and may_date(event.people, rule, banned, a, b), "a pair that may not date"
        for item in group.rounds:
            seated = [uid for pair in item.pairs for uid in pair.user_ids]
            assert len(seated) == len(set(seated)), "double booked in a round"
            assert {s.user_id for s in item.sit_outs} == members - set(seated)
            if item.number >= from_round:
                assert {s.user_id for s in item.sit_outs if s.reason == reasons.LEFT} == members & gone
                assert all(s.reason in reasons.SIT_OUT_REASONS - {reasons.NO_SHOW} for s in item.sit_outs)
        still = {(a, b) for a in members - gone for b in members - gone
                 if a < b and (a, b) not in before and may_date(event.people, rule, banned, a, b)}
        dated = {p for _, p in after}
        if event.rule == "opposite_sex":
            # Nobody rests who could have had a date: every pair still to meet
            # meets (men and women: never more rounds than the busiest needs).
            assert dated == still
        else:  # either all of them, or (no room in the event for that) the dates as they were, less the leavers'
            kept = {p for n, p in meetings(plan) if n >= from_round and set(p) <= members - gone}
            assert dated == still or dated == kept
        later_dates = Counter(uid for _, p in after for uid in p)
        for item in (item for item in group.rounds if item.number >= from_round):
            later_dates.subtract(uid for pair in item.pairs for uid in pair.user_ids)
            for sit_out in item.sit_outs:
                if sit_out.reason == reasons.MET_ALL_PARTNERS:
                    assert later_dates[sit_out.user_id] <= 0
                elif sit_out.reason == reasons.NO_FREE_PARTNER:
                    assert later_dates[sit_out.user_id] > 0
        plan = later
    # Everything held before the first departure is exactly as it was.
    first = steps[0][0]
    assert [p for n, p in meetings(plan) if n < first] == [p for n, p in meetings(original) if n < first]


def test_a_group_that_would_need_more_rounds_keeps_its_dates_less_the_leavers():
    # Six who may all meet: five rounds, everyone meeting everyone. Without
    # one of them, re-colouring what is left would take a sixth round.
    people = population(6, 0.5, 0.0, 144)
    plan = plan_event(people, 10, reference_date=START, seed=144, compatibility=RULES["anyone"])
    assert plan.rounds_count == 5 and len(plan.groups) == 1
    leaver = 30
    later = midway.without(plan, leaver, plan.placed_user_ids - {leaver}, 2, seed=144, participants=people,
                           compatibility=RULES["anyone"])
    assert later.rounds_count == 5
    (old,), (new,) = plan.groups, later.groups
    assert new.rounds[0] == old.rounds[0]
    for was, now in zip(old.rounds[1:], new.rounds[1:], strict=True):
        assert now.pairs == tuple(p for p in was.pairs if leaver not in p.user_ids)
        partner = next((p.partner_of(leaver) for p in was.pairs if leaver in p.user_ids), None)
        reasons_now = {s.user_id: s.reason for s in now.sit_outs}
        assert reasons_now[leaver] == reasons.LEFT
        if partner is not None:
            assert reasons_now[partner] in (reasons.NO_FREE_PARTNER, reasons.MET_ALL_PARTNERS)
    assert round_trips(later)
