"""Never again: people who reported or disliked each other, or met lately,
are never paired at a later event; a re-plan keeps them apart too. Whole
events run on the round clock, on PostgreSQL (and on SQLite where the store
is what is tested)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.app.never_again import NeverAgainRules
from datemaker.domain.lifecycle import EventState
from datemaker.domain.pairing import reasons
from datemaker.domain.timings import Timings
from datemaker.history.load import load_history
from datemaker.history.render_text import render_text

from ..support.clock import T0, FakeClock
from ..support.world import World, profile

A, C, E = 1, 2, 3  # men
B, D, F = 11, 12, 13  # women
T = Timings()


def make_world(settings, rules: NeverAgainRules) -> World:
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(settings), clock=clock)
    app.never_again = rules
    return World(app, clock)


@pytest.fixture
def pg(postgres_settings):
    worlds = []

    def world(**rules) -> World:
        made = make_world(postgres_settings, NeverAgainRules(**rules))
        worlds.append(made)
        return made

    yield world
    for made in worlds:
        made.app.close()


class Events:
    """Events one after another on one world, each run to its end."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.starts = 0

    def plan(self, people, *, ready=None):
        """Schedule, register and confirm `people`, run to READY: (wire_id, plan)."""
        world, app = self.world, self.world.app
        self.starts += 1
        start = T0 + timedelta(days=3 * self.starts)
        wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", users_limit=10,
                                     ready_check=ready is not None)
        for uid in people:
            app.register(wire_id, uid, profile(uid))
        world.run_until(T.confirmation_opens_at(start))
        for uid in people:
            app.confirm_registration(wire_id, uid)
        world.run_until(T.confirmation_closes_at(start))
        event = app.get_event(wire_id)
        assert event.state in (EventState.READY, EventState.SKIPPED)
        for uid in ready or ():
            app.change(wire_id, lambda e, uid=uid: e.mark_ready(uid, world.clock.now))
        return wire_id, event.planned

    def run(self, wire_id, reactions=()):
        """Run the event to its end; each (who, whom, reaction) is given once
        all rounds have started."""
        world, app = self.world, self.world.app
        event = app.get_event(wire_id)
        if event.state is EventState.SKIPPED:
            return event
        world.run_until(T.round_starts_at(event.start, 1))
        last = app.get_event(wire_id).planned.rounds_count
        world.run_until(T.round_starts_at(event.start, last) + timedelta(seconds=10))
        for who, whom, reaction in reactions:
            app.change(wire_id, lambda e, who=who, whom=whom, reaction=reaction: e.rate(who, whom, reaction, world.clock.now))
        world.run_until(event.start + timedelta(days=1))
        finished = app.get_event(wire_id)
        assert finished.state is EventState.FINISHED
        return finished

    def met(self, wire_id) -> set[frozenset[int]]:
        plan = self.world.app.get_event(wire_id).planned
        return {frozenset(p.user_ids) for r in range(1, plan.rounds_count + 1) for p in plan.pairs_in_round(r)}


def test_after_a_report_the_two_are_never_paired_again_even_when_one_gets_no_place(pg):
    world = pg(remeet_after_events=0)
    events = Events(world)
    first, _ = events.plan([A, B, C, D])
    events.run(first, [(A, B, "report")])
    assert frozenset({A, B}) in events.met(first)

    second, plan = events.plan([A, B, C])  # B is the only woman: A or C goes without
    assert frozenset({A, B}) not in events.met(second)
    assert plan.unplaced_reason(A) == reasons.NO_COMPATIBLE_PARTNER
    assert plan.kept_apart == (((A, B), (reasons.REPORTED,)),)
    events.run(second)

    # Recorded with the plan, the same on replay; told to the moderator, never to the bot.
    recorded = [e for e in world.app.history(second) if type(e).__name__ == "GroupsFormed"][0]
    assert recorded.plan["kept_apart"] == [{"a": A, "b": B, "reasons": ["reported"]}]
    assert world.app.get_event(second).planned.kept_apart == plan.kept_apart
    text = "\n".join(render_text(load_history(world.app, second)))
    assert f"kept apart: {A}+{B} (reported)" in text
    bodies = [json.dumps(data) for uid in (A, B, C) for _, data in world.inbox[uid]]
    assert bodies and not any("kept_apart" in body or "reported" in body for body in bodies)


@pytest.mark.parametrize("mode, both_ways, kept", [
    ("either", False, True), ("either", True, True), ("mutual", False, False), ("mutual", True, True),
])
def test_a_dislike_keeps_two_apart_either_way_or_only_both_ways(pg, mode, both_ways, kept):
    events = Events(pg(dislike=mode, remeet_after_events=0))
    first, _ = events.plan([A, B, C, D])
    disliked = [(A, B, "dislike")] + ([(B, A, "dislike")] if both_ways else [(B, A, "like")])
    events.run(first, disliked)

    second, plan = events.plan([A, B])
    assert (frozenset({A, B}) not in events.met(second)) is kept
    assert plan.kept_apart == ((((A, B), (reasons.DISLIKED,)),) if kept else ())


def test_a_dislike_changed_to_a_like_before_the_lock_counts_as_a_like(pg):
    events = Events(pg(remeet_after_events=0))
    first, _ = events.plan([A, B])
    events.run(first, [(A, B, "dislike"), (A, B, "like")])
    second, plan = events.plan([A, B])
    assert plan.kept_apart == () and frozenset({A, B}) in events.met(second)


def test_people_who_met_wait_until_each_of_them_had_that_many_events_with_a_date_since(pg):
    events = Events(pg(remeet_after_events=1))
    first, _ = events.plan([A, B])
    events.run(first)

    # Each one's last event with a date is the one where they met.
    second, plan = events.plan([A, B, D])
    assert plan.kept_apart == (((A, B), (reasons.MET_RECENTLY,)),)
    assert events.met(second) == {frozenset({A, D})} and plan.unplaced_reason(B) == reasons.NO_COMPATIBLE_PARTNER
    events.run(second)

    # A has had a date since, B has not (no place is no date): still apart.
    third, plan = events.plan([A, B, E, F])
    assert [pair for pair, _ in plan.kept_apart] == [(A, B)]
    assert frozenset({A, B}) not in events.met(third) and frozenset({B, E}) in events.met(third)
    events.run(third)

    # Now both have: they may meet again.
    fourth, plan = events.plan([A, B])
    assert plan.kept_apart == () and events.met(fourth) == {frozenset({A, B})}


def test_with_the_window_at_zero_people_who_met_may_meet_at_the_next_event(pg):
    events = Events(pg(remeet_after_events=0))
    first, _ = events.plan([A, B])
    events.run(first)
    second, plan = events.plan([A, B])
    assert plan.kept_apart == () and frozenset({A, B}) in events.met(second)


def test_the_re_plan_at_the_start_keeps_apart_the_pairs_the_plan_kept_apart(pg):
    world = pg(remeet_after_events=0)
    events = Events(world)
    first, _ = events.plan([A, B, C, D])
    events.run(first, [(B, A, "report")])

    # D never says she is here: at the start the present (A, C, B, F) are re-paired.
    second, plan = events.plan([A, B, C, D, F], ready=[A, B, C, F])
    assert (A, B) in dict(plan.kept_apart)
    world.run_until(T.round_starts_at(world.app.get_event(second).start, 1))
    started = world.app.get_event(second)
    assert started.no_shows == [D] and started.planned != plan  # re-paired
    assert frozenset({A, B}) not in events.met(second)
    assert started.planned.kept_apart == (((A, B), (reasons.REPORTED,)),)
    events.run(second)


def test_a_plan_worked_out_ahead_keeps_the_same_pairs_apart(pg):
    world = pg(remeet_after_events=0)
    events = Events(world)
    first, _ = events.plan([A, B, C, D])
    events.run(first, [(A, B, "report")])

    app = world.app
    start = T0 + timedelta(days=30)
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", users_limit=10, ready_check=False)
    for uid in (A, B, C):
        app.register(wire_id, uid, profile(uid))
    world.run_until(T.confirmation_opens_at(start))
    for uid in (A, B, C):
        app.confirm_registration(wire_id, uid)
    world.clock.now = T.confirmation_closes_at(start) - timedelta(seconds=0.5)
    world.round_clock.look_ahead()  # the plan is worked out before the deadline
    world.run_until(T.confirmation_closes_at(start))
    plan = app.get_event(wire_id).planned
    assert [pair for pair, _ in plan.kept_apart] == [(A, B)] and frozenset({A, B}) not in events.met(wire_id)


def test_the_pair_history_is_asked_for_the_people_given_on_either_store(store_settings):
    world = make_world(store_settings, NeverAgainRules(remeet_after_events=2))
    try:
        events = Events(world)
        first, _ = events.plan([A, B, C, D])
        events.run(first, [(A, B, "report"), (C, D, "dislike"), (D, C, "like")])
        facts = world.app.store.pair_history([A, B, C, D], 2)
        by_kind = {(f.kind, f.user_id, f.partner_id) for f in facts}
        assert ("report", A, B) in by_kind and ("dislike", C, D) in by_kind
        assert ("dislike", D, C) not in by_kind and ("report", B, A) not in by_kind
        assert {(f.user_id, f.partner_id) for f in facts if f.kind == "met"} == {
            (x, y) for pair in events.met(first) for x in pair for y in pair if x != y
        }
        assert world.app.store.pair_history([A, C], 2) == []  # both people must be among those asked
        assert {f.kind for f in world.app.store.pair_history([A, B, C, D], 0)} == {"report", "dislike"}
    finally:
        world.app.close()
