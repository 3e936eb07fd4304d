"""Someone leaves a running event (the bot's `leave_event`), or is taken out
of one by an operator (`Leaving`, what `events remove` runs) before it
starts; the service's round clock and outbox run the rest on a fake clock.
On embedded SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.schema import connect
from datemaker.app.bot_commands import BotCommand, BotCommandHandler
from datemaker.app.dating_events import DatingEvents
from datemaker.app.leaving import Leaving
from datemaker.app.ports import SoleLeader
from datemaker.domain.lifecycle import EventState
from datemaker.domain.pairing import reasons
from datemaker.domain.timings import Timings
from datemaker.projections.follower import ProjectionFollower

from ..support.clock import T0, FakeClock
from ..support.followed_world import FollowedWorld, query
from ..support.world import World, profile

MEN, WOMEN = [1, 2, 3, 4, 5], [11, 12, 13, 14, 15]
LEAVER = 3
T = Timings()
START = T0 + timedelta(days=2)
EXTENSIONS = {"send_sit_out_message", "send_event_cancelled"}


def seeded(app: DatingEvents) -> DatingEvents:
    app.seed_platform_users([(uid, f"user{uid}", "M" if uid < 10 else "F", "1995-01-01", "Kazan", 0.0, 2)
                             for uid in [*MEN, *WOMEN]])
    return app


@pytest.fixture
def world(store_settings):
    clock = FakeClock()
    app = seeded(DatingEvents(env=persistence_env(store_settings), clock=clock))
    yield World(app, clock, extensions=EXTENSIONS)
    app.close()


def ten_people_confirmed(world: World) -> int:
    app = world.app
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", users_limit=10, ready_check=False)
    for uid in [*MEN, *WOMEN]:
        app.register(wire_id, uid, profile(uid))
    world.run_until(T.confirmation_opens_at(START))
    for uid in [*MEN, *WOMEN]:
        app.confirm_registration(wire_id, uid)
    return wire_id


def leave(app: DatingEvents, wire_id: int, user_id: int) -> object:
    (answer,) = BotCommandHandler(app).handle([BotCommand("leave_event", user_id, wire_id)])
    return answer.body


def sent_after(world: World, user_id: int, mark: int) -> list[tuple[str, object]]:
    return world.inbox[user_id][mark:]


def test_someone_leaving_in_round_two_is_replaced_where_a_partner_is_free(world):
    app = world.app
    wire_id = ten_people_confirmed(world)
    world.run_until(T.round_starts_at(START, 2) + timedelta(seconds=30))
    event = app.get_event(wire_id)
    assert event.state is EventState.RUNNING and event.round_no == 2
    before = event.planned
    assert before.rounds_count == 5
    partner = before.partner_of(LEAVER, 2)
    marks = {uid: len(world.inbox[uid]) for uid in [*MEN, *WOMEN]}

    assert leave(app, wire_id, LEAVER) == {"left_event": True}
    assert leave(app, wire_id, LEAVER) == {"left_event": False, "reason": "already_left"}  # once
    world.deliver()
    ends = T.round_ends_at(START, 2).isoformat()
    assert sent_after(world, partner, marks[partner]) == [
        ("send_sit_out_message", {"round": 2, "ends_at": ends, "reason": "partner_left"})]

    world.run_until(START + timedelta(days=1))
    event = app.get_event(wire_id)
    assert event.state is EventState.FINISHED and event.left == [LEAVER]
    plan = event.planned
    kinds = [type(e).__name__ for e in app.history(wire_id)]
    assert kinds.count("ParticipantLeft") == 1

    # The rounds already held stay exactly as they were.
    assert [plan.pairs_in_round(n) for n in (1, 2)] == [before.pairs_in_round(n) for n in (1, 2)]
    assert {k: r["uri"] for n in (1, 2) for k, r in event.rooms[str(n)].items()} == {
        f"{p.a}-{p.b}": event.room_of(n, p.a, p.b)["uri"] for n in (1, 2) for p in before.pairs_in_round(n)}
    # Nobody meets anyone twice; every date had a room of its own.
    held = [key for n in range(1, 6) for key in event.rooms[str(n)]]
    assert len(held) == len(set(held)) == sum(len(plan.pairs_in_round(n)) for n in range(1, 6))
    uris = [room["uri"] for n in range(1, 6) for room in event.rooms[str(n)].values()]
    assert len(uris) == len(set(uris))
    # Nobody is left alone in a later round who could have had a date: one
    # woman rests each round, and every man still there meets every woman.
    for n in (3, 4, 5):
        resting = {s.user_id for s in plan.sit_outs(n)} - {LEAVER}
        assert len(resting) == 1 and resting <= set(WOMEN)
        assert LEAVER not in {u for p in plan.pairs_in_round(n) for u in p.user_ids}
    assert {tuple(map(int, key.split("-"))) for key in held} >= {(m, w) for m in MEN if m != LEAVER for w in WOMEN}

    # The affected hear of their new partner when the next round starts.
    moved = [uid for uid in [*MEN, *WOMEN] if uid != LEAVER and plan.partner_of(uid, 3) != before.partner_of(uid, 3)]
    assert moved, "the re-plan changed nobody's next date"
    for uid in moved:
        invites = [d for c, d in sent_after(world, uid, marks[uid]) if c == "invite_to_meeting" and d["round"] == 3]
        if plan.partner_of(uid, 3) is None:
            rest = {"round": 3, "ends_at": T.round_ends_at(START, 3).isoformat()}
            assert not invites and ("send_sit_out_message", rest) in sent_after(world, uid, marks[uid])
        else:
            assert [d["partner_id"] for d in invites] == [plan.partner_of(uid, 3)]
    # Whoever left is sent nothing more of the rounds.
    assert sent_after(world, LEAVER, marks[LEAVER]) == []
    assert len(set(world.message_ids)) == len(world.message_ids)


def test_a_removal_in_ready_makes_the_plan_again_and_the_event_runs_without_them(world):
    app = world.app
    wire_id = ten_people_confirmed(world)
    world.run_until(T.confirmation_closes_at(START) + timedelta(seconds=1))
    assert app.get_event(wire_id).state is EventState.READY
    done = Leaving(app).remove(wire_id, LEAVER, reason="fake_profile")
    assert done.recorded and done.state == "READY" and done.lost_place == ()
    assert not Leaving(app).remove(wire_id, LEAVER, reason="fake_profile").recorded  # again: nothing changes
    event = app.get_event(wire_id)
    assert event.planned.unplaced_reason(LEAVER) == reasons.LEFT and not event.is_registered(LEAVER)
    assert [type(e).__name__ for e in app.history(wire_id)][-2:] == ["RegistrationCancelled", "Replanned"]
    world.deliver()
    assert world.commands(LEAVER)[-1] == "send_user_will_not_take_part_in_event"

    world.run_until(START + timedelta(days=1))
    event = app.get_event(wire_id)
    assert event.state is EventState.FINISHED and event.no_shows == []
    assert "invite_to_meeting" not in world.commands(LEAVER)
    assert all("invite_to_meeting" in world.commands(uid) for uid in [*MEN, *WOMEN] if uid != LEAVER)


@pytest.mark.postgres
def test_the_analytics_tables_follow_the_plan_of_the_rounds_still_to_come(postgres_settings):
    clock = FakeClock()
    app = seeded(DatingEvents(env=persistence_env(postgres_settings), clock=clock))
    follower = ProjectionFollower(app, partial(connect, postgres_settings, autocommit=True), SoleLeader())
    try:
        world = FollowedWorld(app, clock, follower)
        wire_id = ten_people_confirmed(world)
        world.run_until(T.round_starts_at(START, 2) + timedelta(seconds=30))
        assert leave(app, wire_id, LEAVER) == {"left_event": True}
        world.deliver()
        follower.catch_up()
        plan = app.get_event(wire_id).planned
        rows = query(postgres_settings, "SELECT round_no, user_a, user_b FROM datemaker.round_pairs WHERE event_id = %s"
                     " ORDER BY round_no, user_a", wire_id)
        assert [tuple(r) for r in rows] == sorted((n, p.a, p.b) for n in range(1, 6) for p in plan.pairs_in_round(n))
        left = query(postgres_settings, "SELECT round_no FROM datemaker.round_sit_outs WHERE event_id = %s"
                     " AND user_id = %s AND reason = 'left' ORDER BY round_no", wire_id, LEAVER)
        assert [r[0] for r in left] == [3, 4, 5]
        grouped = query(postgres_settings, "SELECT count(*) FROM public.dating_event_groups WHERE event_id = %s"
                        " AND turn_no >= 2 AND %s IN (user_1_id, user_2_id)", wire_id, LEAVER)
        assert grouped[0][0] == 0
    finally:
        follower.close()
        app.close()
