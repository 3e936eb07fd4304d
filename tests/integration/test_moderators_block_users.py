"""Blocks on real stores: a blocked user cannot register (the bot's command,
the platform's rows of an operator's event), is taken out of every event not
running yet (in READY the plan is made again without them, and the event
then runs without them) and of the rounds still to come of a running one,
can be unblocked, and a block with an end runs out on the injected clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.schema import connect
from datemaker.app.bot_commands import BotCommand, BotCommandHandler
from datemaker.app.dating_events import DatingEvents
from datemaker.app.moderation import Moderation
from datemaker.app.platform_writes import PlatformWrites
from datemaker.app.ports import SoleLeader
from datemaker.domain.errors import UserBlocked
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings
from datemaker.projections.follower import ProjectionFollower

from ..support.clock import T0
from ..support.followed_world import FollowedWorld, query
from ..support.postgres import pg_settings
from ..support.retry import FAST_RETRY
from ..support.world import MEN, WOMEN, World, profile

T = Timings()
START = T0 + timedelta(days=2)
BLOCKED = 12


def seed_users(app: DatingEvents) -> None:
    app.seed_platform_users([(uid, f"user{uid}", "M" if uid < 10 else "F", "1995-01-01", "Kazan", 0.0, 2)
                             for uid in [*MEN, *WOMEN]])


def register(user_id: int, wire_id: int) -> BotCommand:
    return BotCommand("register_event", user_id, wire_id)


@pytest.fixture
def moderation(app) -> Moderation:
    seed_users(app)
    return Moderation(app, rng=random.Random(1))


def test_a_blocked_users_registration_is_answered_blocked_and_records_nothing(app, moderation):
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    moderation.block(BLOCKED, reason="harassment", by="anna")
    answers = BotCommandHandler(app).handle([register(BLOCKED, wire_id), register(1, wire_id), register(11, wire_id)])
    assert [a.body for a in answers] == [
        {"user_registered": False, "reason": "blocked"}, {"user_registered": True}, {"user_registered": True}]
    assert app.get_event(wire_id).registered_user_ids == [1, 11]
    with pytest.raises(UserBlocked):
        app.register(wire_id, BLOCKED, profile(BLOCKED))
    assert app.get_event(wire_id).registered_user_ids == [1, 11]


def test_an_unblocked_user_registers_again(app, moderation):
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    moderation.block(BLOCKED, reason="spam", by="anna")
    moderation.unblock(BLOCKED, by="boris")
    assert BotCommandHandler(app).handle([register(BLOCKED, wire_id)])[0].body == {"user_registered": True}
    standing = moderation.standing(BLOCKED)
    assert [(b["reason"], b["by"], b["lifted_by"]) for b in standing.blocks] == [("spam", "anna", "boris")]


def test_a_block_with_an_end_runs_out_on_the_clock(app, moderation, clock):
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    moderation.block(BLOCKED, reason="spam", by="anna", until=clock.now + timedelta(hours=1))
    handler = BotCommandHandler(app)
    clock.advance(minutes=59)
    assert handler.handle([register(BLOCKED, wire_id)])[0].body == {"user_registered": False, "reason": "blocked"}
    clock.advance(minutes=1)
    assert handler.handle([register(BLOCKED, wire_id)])[0].body == {"user_registered": True}


@pytest.mark.postgres
def test_a_user_blocked_after_registering_leaves_every_event_and_is_told(postgres_settings, clock):
    app = DatingEvents(env=persistence_env(postgres_settings), clock=clock, retry=FAST_RETRY)
    try:
        seed_users(app)
        world = World(app, clock)
        running = app.schedule_event(start=START, timezone="Europe/Moscow")
        confirming = app.schedule_event(start=START + timedelta(hours=12), timezone="Europe/Moscow")
        later = app.schedule_event(start=START + timedelta(days=10), timezone="Europe/Moscow")
        for wire_id in (running, confirming, later):
            for uid in [*MEN, *WOMEN]:
                app.register(wire_id, uid, profile(uid))
        world.run_until(T.confirmation_opens_at(START))
        for uid in [*MEN, *WOMEN]:
            app.confirm_registration(running, uid)
        world.run_until(T.rules_at(START))
        for uid in [*MEN, *WOMEN]:
            app.change(running, lambda e, uid=uid: e.mark_ready(uid, clock.now))
        world.run_until(T.round_starts_at(START, 1) + timedelta(seconds=30))
        states = [app.get_event(w).state for w in (running, confirming, later)]
        assert states == [EventState.RUNNING, EventState.REG_CONFIRM, EventState.NOT_STARTED]

        done = Moderation(app).block(BLOCKED, reason="harassment", by="anna")
        assert done.recorded and sorted(done.withdrawn_from) == [running, confirming, later]
        # Out of the rounds still to come of the running event; their dates stand.
        assert app.get_event(running).left == [BLOCKED] and app.get_event(running).is_registered(BLOCKED)
        assert type(app.history(running)[-1]).__name__ == "ParticipantLeft"
        assert not app.get_event(confirming).is_registered(BLOCKED) and not app.get_event(later).is_registered(BLOCKED)
        world.deliver()
        told = {m for m in world.message_ids if m.endswith(f":send_user_will_not_take_part_in_event:{BLOCKED}")}
        assert told == {f"dm:{running}:0:send_user_will_not_take_part_in_event:{BLOCKED}",
                        f"dm:{confirming}:0:send_user_will_not_take_part_in_event:{BLOCKED}",
                        f"dm:{later}:0:send_user_will_not_take_part_in_event:{BLOCKED}"}
        world.run_until(START + timedelta(days=1))
        plan = app.get_event(running).planned
        assert all(BLOCKED not in p.user_ids for n in range(2, plan.rounds_count + 1) for p in plan.pairs_in_round(n))
        again = Moderation(app).block(BLOCKED, reason="harassment", by="anna")
        assert not again.recorded and again.withdrawn_from == []
    finally:
        app.close()


@pytest.mark.postgres
def test_a_block_in_ready_makes_the_plan_again_and_the_event_runs_without_them(postgres_settings, clock):
    app = DatingEvents(env=persistence_env(postgres_settings), clock=clock, retry=FAST_RETRY)
    follower = ProjectionFollower(app, partial(connect, postgres_settings, autocommit=True), SoleLeader())
    try:
        seed_users(app)
        world = FollowedWorld(app, clock, follower)
        wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", ready_check=False)
        for uid in [*MEN, *WOMEN]:
            app.register(wire_id, uid, profile(uid))
        world.run_until(T.confirmation_opens_at(START))
        for uid in [*MEN, *WOMEN]:
            app.confirm_registration(wire_id, uid)
        world.run_until(T.confirmation_closes_at(START) + timedelta(seconds=1))
        assert app.get_event(wire_id).state is EventState.READY
        assert BLOCKED in app.get_event(wire_id).planned.placed_user_ids

        assert Moderation(app).block(BLOCKED, reason="harassment", by="anna").withdrawn_from == [wire_id]
        event = app.get_event(wire_id)
        assert BLOCKED not in event.planned.placed_user_ids and event.planned.unplaced_reason(BLOCKED) == "blocked"
        assert type(app.history(wire_id)[-1]).__name__ == "Replanned"
        follower.catch_up()
        grouped = query(postgres_settings, "SELECT user_1_id, user_2_id FROM public.dating_event_groups WHERE event_id = %s",
                        wire_id)
        assert grouped and all(BLOCKED not in row for row in grouped)

        world.run_until(START + timedelta(days=1))
        event = app.get_event(wire_id)
        assert event.state is EventState.FINISHED and BLOCKED not in event.no_shows
        plan = event.planned
        assert all(BLOCKED not in p.user_ids for n in range(1, plan.rounds_count + 1) for p in plan.pairs_in_round(n))
        assert "invite_to_meeting" not in world.commands(BLOCKED)
        assert "invite_to_meeting" in world.commands(11) and "invite_to_meeting" in world.commands(13)
    finally:
        follower.close()
        app.close()


@pytest.mark.postgres
def test_a_registration_saved_while_the_block_is_recorded_is_taken_out_right_after(postgres_settings, clock):
    app = DatingEvents(env=persistence_env(postgres_settings), clock=clock, retry=FAST_RETRY)
    other = DatingEvents(env=persistence_env(postgres_settings), clock=clock)  # another instance
    try:
        seed_users(app)
        wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
        moderation = Moderation(app)
        looked = moderation._withdrawals

        def a_registration_lands_meanwhile(user_id, now):
            found = looked(user_id, now)  # the events as the block sees them: not registered yet
            if not other.get_event(wire_id).is_registered(user_id):
                other.register(wire_id, user_id, profile(user_id))  # saved before the block's row exists
            return found

        moderation._withdrawals = a_registration_lands_meanwhile
        moderation.block(BLOCKED, reason="spam", by="anna")
        assert other.get_event(wire_id).registered_user_ids == []
        kinds = [type(e).__name__ for e in app.history(wire_id)]
        assert kinds[-2:] == ["Registered", "RegistrationCancelled"] and app.history(wire_id)[-1].reason == "blocked"
    finally:
        other.close()
        app.close()


@pytest.mark.postgres
def test_an_operators_event_is_adopted_without_a_blocked_users_registration(databases):
    settings = pg_settings(databases.with_platform_rows([
        "INSERT INTO public.users (id, username, sex) VALUES (1, 'u1', 'M'), (11, 'u11', 'F'), (12, 'u12', 'F')",
        "INSERT INTO public.dating_events (id, start_dttm) VALUES (7, now() + interval '3 days')",
        "INSERT INTO public.dating_registrations (user_id, event_id) VALUES (1, 7), (11, 7), (12, 7)",
    ]))
    app = DatingEvents(env=persistence_env(settings), clock=lambda: datetime.now(UTC))
    try:
        Moderation(app).block(BLOCKED, reason="fake_profile", by="anna")
        assert PlatformWrites(app, display_timezone="Europe/Moscow").take() == 1
        assert app.get_event(7).registered_user_ids == [1, 11]
    finally:
        app.close()
