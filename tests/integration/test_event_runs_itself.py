"""A whole dating event runs itself on a fake clock, in no time: the round
clock fires every deadline, the outbox turns the log into bot messages.
Runs on embedded SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings

from ..support.clock import T0, FakeClock
from ..support.world import MEN, NEVER_CONFIRMS, NO_SHOW, WOMEN, World, profile


@pytest.fixture
def world(store_settings):
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(store_settings), clock=clock)
    yield World(app, clock, extensions={"send_sit_out_message", "send_event_cancelled"})
    app.close()


def test_a_whole_event_from_registration_to_matches(world):
    app = world.app
    start = T0 + timedelta(days=2)
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", users_limit=10)
    for uid in [*MEN, *WOMEN, NEVER_CONFIRMS]:
        app.register(wire_id, uid, profile(uid))
    timings = Timings()

    world.run_until(timings.confirmation_opens_at(start))
    assert app.get_event(wire_id).state is EventState.REG_CONFIRM
    for uid in [*MEN, *WOMEN]:
        app.confirm_registration(wire_id, uid)

    world.run_until(timings.rules_at(start))
    event = app.get_event(wire_id)
    assert event.state is EventState.READY and event.rules_announced
    assert event.rooms_needed() == {}  # made ahead, during READY
    for uid in [*MEN, *WOMEN]:
        if uid != NO_SHOW:
            app.change(wire_id, lambda e, uid=uid: e.mark_ready(uid, world.clock.now))

    world.run_until(timings.round_starts_at(start, 1))
    event = app.get_event(wire_id)
    assert event.state is EventState.RUNNING and event.no_shows == [NO_SHOW]
    plan = event.planned
    assert plan.rounds_count == 3  # 3 men x 2 women present
    first_pair = plan.pairs_in_round(1)[0]

    world.run_until(timings.round_starts_at(start, 1) + timedelta(seconds=30))
    app.change(wire_id, lambda e: e.rate(first_pair.a, first_pair.b, "like", world.clock.now))
    app.change(wire_id, lambda e: e.rate(first_pair.b, first_pair.a, "like", world.clock.now))

    world.run_until(start + timedelta(days=1))
    event = app.get_event(wire_id)
    assert event.state is EventState.FINISHED
    assert event.matches == [[first_pair.a, first_pair.b]]
    assert app.next_due_at() is None  # nothing left pending

    # What the bot was told, per user, in order.
    man = MEN[0]
    # Asked, asked again 3 h before the deadline, and told when it passed.
    assert world.commands(NEVER_CONFIRMS) == [
        "confirm_registration", "confirm_registration", "send_user_will_not_take_part_in_event",
    ]
    assert world.commands(NO_SHOW) == [
        "confirm_registration", "send_user_will_take_part_in_event", "send_rules", "send_ready_for_event_request",
    ]
    dates = ["invite_to_meeting", "send_partner_profile"]
    expected_man = ["confirm_registration", "send_user_will_take_part_in_event", "send_rules",
                    "send_ready_for_event_request"]
    for round_no in (1, 2, 3):
        partner = plan.partner_of(man, round_no)
        if partner is None:
            expected_man += ["send_sit_out_message"]
        else:
            expected_man += dates + ["send_partner_rating_request"] + (["send_break_message"] if round_no < 3 else [])
    expected_man += ["send_final_dating_message"]
    if man in first_pair.user_ids:
        expected_man += ["send_match_message"]
    assert world.commands(man) == expected_man

    invite = next(data for command, data in world.inbox[first_pair.a] if command == "invite_to_meeting")
    assert invite["partner_id"] == first_pair.b and invite["round"] == 1
    assert invite["url"].startswith("https://meet.google.com/")
    assert invite["ends_at"] == timings.round_ends_at(start, 1).isoformat()
    match = world.inbox[first_pair.b][-1]
    assert match == ("send_match_message", {"matches": [{"user_id": first_pair.a}]})
    assert len(set(world.message_ids)) == len(world.message_ids)  # stable and distinct
    assert len(world.rooms.ended) == sum(len(plan.pairs_in_round(n)) for n in (1, 2, 3))


def test_a_clock_that_was_down_fires_every_missed_deadline_once_late(world):
    app = world.app
    start = T0 + timedelta(days=2)
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", ready_check=False)
    for uid in [1, 11]:
        app.register(wire_id, uid, profile(uid))
    world.run_until(Timings().confirmation_opens_at(start))
    for uid in [1, 11]:
        app.confirm_registration(wire_id, uid)
    world.clock.now = start + timedelta(hours=5)  # the service was down all along
    assert world.round_clock.fire_due() == 1
    world.deliver()
    event = app.get_event(wire_id)
    assert event.state is EventState.FINISHED
    assert world.round_clock.fire_due() == 0
    kinds = [type(e).__name__ for e in app.history(wire_id)]
    assert kinds.count("GroupsFormed") == 1 and kinds.count("RoundEnded") == 1 and kinds.count("Finished") == 1
    # Rooms were made between catching-up steps, so round 1 still had one.
    assert kinds.index("RoomsReserved") < kinds.index("Started")
    assert "invite_to_meeting" in world.commands(1) and "invite_to_meeting" in world.commands(11)
    assert world.commands(1)[-1] == "send_final_dating_message"


def test_too_few_confirmed_skips_the_event_and_tells_everyone(world):
    app = world.app
    start = T0 + timedelta(days=2)
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow")
    for uid in [1, 2, 11]:
        app.register(wire_id, uid, profile(uid))
    world.run_until(Timings().confirmation_opens_at(start))
    app.confirm_registration(wire_id, 1)
    app.confirm_registration(wire_id, 2)
    world.run_until(start)
    assert app.get_event(wire_id).state is EventState.SKIPPED
    for uid in [1, 2, 11]:
        assert world.commands(uid)[-1] == "send_user_will_not_take_part_in_event"
    assert app.next_due_at() is None


def test_an_operator_cancel_tells_everyone_and_drops_pending_deadlines(world):
    app = world.app
    start = T0 + timedelta(days=2)
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow")
    for uid in [1, 11]:
        app.register(wire_id, uid, profile(uid))
    assert app.next_due_at() is not None
    app.cancel_event(wire_id)
    world.deliver()
    assert app.next_due_at() is None
    assert world.commands(1) == ["send_event_cancelled"] == world.commands(11)


def test_new_bot_commands_stay_unsent_unless_the_bot_knows_them(store_settings):
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(store_settings), clock=clock)
    world = World(app, clock, extensions=())
    wire_id = app.schedule_event(start=T0 + timedelta(days=2), timezone="Europe/Moscow")
    app.register(wire_id, 1, profile(1))
    app.cancel_event(wire_id)
    world.deliver()
    assert world.commands(1) == []
    app.close()
