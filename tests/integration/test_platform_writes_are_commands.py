"""The platform's bot writes "I am ready" and reactions straight into its
tables, and operators insert events by hand (PLATFORM.md). Each such write
becomes a command: recorded in the event's history once, with the rules of
the bot's commands, and the bot's statements keep succeeding."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial

import psycopg
import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.schema import connect
from datemaker.app.dating_events import DatingEvents
from datemaker.app.platform_writes import PlatformWrites
from datemaker.app.ports import SoleLeader
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings
from datemaker.projections.follower import ProjectionFollower

from ..support.clock import T0, FakeClock
from ..support.followed_world import FollowedWorld
from ..support.platform_users import add_users
from ..support.world import profile

MEN, WOMEN = [1, 2], [11, 12]
START = T0 + timedelta(days=2)
T = Timings()


def bot(settings, sql: str, *params) -> int:
    """One of the bot's statements, on a connection of its own (autocommit)."""
    with psycopg.connect(host=settings.postgres_host, port=settings.postgres_port, dbname=settings.postgres_db,
                         user=settings.postgres_user, autocommit=True) as conn:
        return conn.execute(sql, params).rowcount


def rows(settings, sql: str, *params) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(sql, params).fetchall()


def kinds(app, wire_id) -> list[str]:
    return [type(e).__name__ for e in app.history(wire_id)]


class Platform:
    """An event run by the service's own clock on a fake clock, projected as it goes."""

    def __init__(self, settings) -> None:
        add_users(settings, {uid: "M" if uid < 10 else "F" for uid in [*MEN, *WOMEN]})
        self.settings = settings
        self.clock = FakeClock()
        self.app = DatingEvents(env=persistence_env(settings), clock=self.clock)
        self.follower = ProjectionFollower(self.app, partial(connect, settings, autocommit=True), SoleLeader())
        self.world = FollowedWorld(self.app, self.clock, self.follower)
        self.writes = PlatformWrites(self.app, display_timezone="Europe/Moscow", clock=self.clock)

    def event_until(self, instant: datetime, ready_check: bool = True) -> int:
        wire_id = self.app.schedule_event(start=START, timezone="Europe/Moscow", ready_check=ready_check)
        for uid in [*MEN, *WOMEN]:
            self.app.register(wire_id, uid, profile(uid))
        self.world.run_until(T.confirmation_opens_at(START))
        for uid in [*MEN, *WOMEN]:
            self.app.confirm_registration(wire_id, uid)
        self.world.run_until(instant)
        self.follower.catch_up()
        return wire_id

    def close(self) -> None:
        self.follower.close()
        self.app.close()


@pytest.fixture
def platform(postgres_settings):
    found = Platform(postgres_settings)
    yield found
    found.close()


def press_ready(settings, user_id: int, event_id: int) -> int:
    return bot(settings, "UPDATE public.dating_registrations SET is_ready = TRUE WHERE user_id = %s AND event_id = %s",
               user_id, event_id)


def react(settings, table: str, source: int, target: int, event_id: int) -> int:
    return bot(settings, f"INSERT INTO public.{table} (source_user_id, target_user_id, event_id) VALUES (%s, %s, %s)",
               source, target, event_id)


def test_i_am_ready_becomes_mark_ready_once_even_when_pressed_twice(platform):
    settings, app = platform.settings, platform.app
    wire_id = platform.event_until(T.rules_at(START))
    assert app.get_event(wire_id).state is EventState.READY
    assert press_ready(settings, 1, wire_id) == 1 and press_ready(settings, 1, wire_id) == 1  # the bot's UPDATE succeeds
    # Kept back until the event recorded it: the projection is the one writer.
    assert rows(settings, "SELECT is_ready FROM public.dating_registrations WHERE user_id = 1 AND event_id = %s",
                wire_id) == [(False,)]
    assert platform.writes.take() == 2 and platform.writes.take() == 0
    assert kinds(app, wire_id).count("MarkedReady") == 1 and 1 in app.get_event(wire_id).ready
    assert rows(settings, "SELECT kind, user_id, reason FROM datemaker.platform_refusals") == [("ready", 1, "already_ready")]
    platform.follower.catch_up()
    assert rows(settings, "SELECT is_ready FROM public.dating_registrations WHERE user_id = 1 AND event_id = %s",
                wire_id) == [(True,)]


def test_reactions_become_ratings_and_one_row_stands_per_accepted_reaction(platform):
    settings, app = platform.settings, platform.app
    wire_id = platform.event_until(T.round_starts_at(START, 1) + timedelta(seconds=30), ready_check=False)
    event = app.get_event(wire_id)
    pair = event.planned.pairs_in_round(1)[0]
    a, b = pair.a, pair.b
    react(settings, "likes", a, b, wire_id)  # the bot's INSERT succeeds (it checks no row count)...
    assert rows(settings, "SELECT count(*) FROM public.likes") == [(0,)]  # ...and is diverted to the inbox
    react(settings, "likes", a, b, wire_id)  # pressed twice
    react(settings, "dislikes", a, b, wire_id)  # then changed their mind
    react(settings, "likes", b, a, wire_id)
    assert platform.writes.take() == 4
    event = app.get_event(wire_id)
    assert event.reaction(a, b) == "dislike" and event.reaction(b, a) == "like"
    assert kinds(app, wire_id).count("PartnerRated") == 3  # the repeated like recorded nothing
    assert rows(settings, "SELECT reason FROM datemaker.platform_refusals") == [("unchanged",)]
    platform.follower.catch_up()
    assert rows(settings, "SELECT source_user_id, target_user_id FROM public.likes") == [(b, a)]
    assert rows(settings, "SELECT source_user_id, target_user_id FROM public.dislikes") == [(a, b)]
    assert rows(settings, "SELECT * FROM public.matches") == []


def test_a_mutual_like_is_one_match_row_each_way(platform):
    settings, app = platform.settings, platform.app
    wire_id = platform.event_until(T.round_starts_at(START, 1) + timedelta(seconds=30), ready_check=False)
    pair = app.get_event(wire_id).planned.pairs_in_round(1)[0]
    for source, target in ((pair.a, pair.b), (pair.b, pair.a), (pair.a, pair.b)):
        react(settings, "likes", source, target, wire_id)
    platform.writes.take()
    platform.world.run_until(START + timedelta(days=1))
    platform.follower.catch_up()
    assert app.get_event(wire_id).state is EventState.FINISHED
    assert sorted(rows(settings, "SELECT user_1_id, user_2_id, event_id FROM public.matches")) == sorted(
        [(pair.a, pair.b, wire_id), (pair.b, pair.a, wire_id)])


def test_a_reaction_to_someone_who_was_no_partner_is_refused_and_records_nothing(platform):
    settings, app = platform.settings, platform.app
    wire_id = platform.event_until(T.round_starts_at(START, 1) + timedelta(seconds=30), ready_check=False)
    event = app.get_event(wire_id)
    a = event.planned.pairs_in_round(1)[0].a
    stranger = next(u for u in [*MEN, *WOMEN] if u != a and u not in {p for _, p in event.planned.dates_of(a)})
    versions = event.version
    react(settings, "reports", a, stranger, wire_id)
    react(settings, "likes", a, 999, 12345)  # no such event
    assert platform.writes.take() == 2
    assert app.get_event(wire_id).version == versions
    assert sorted(r for (r,) in rows(settings, "SELECT reason FROM datemaker.platform_refusals")) == [
        "not_your_partner", "unknown_event"]
    assert rows(settings, "SELECT count(*) FROM datemaker.platform_inbox") == [(0,)]


def test_a_taker_that_dies_before_saving_leaves_the_rows_to_the_next_one(platform, monkeypatch):
    settings, app = platform.settings, platform.app
    wire_id = platform.event_until(T.rules_at(START))
    press_ready(settings, 2, wire_id)

    def crash(*aggregates, **kwargs):
        raise RuntimeError("killed mid-save")

    with monkeypatch.context() as m:
        m.setattr(app, "save_logged", crash)
        with pytest.raises(RuntimeError):
            platform.writes.take()
    assert platform.writes.take() == 0  # leased by the one that died
    platform.clock.advance(seconds=platform.writes.lease_seconds + 1)
    assert platform.writes.take() == 1
    assert kinds(app, wire_id).count("MarkedReady") == 1


def test_rows_a_crashed_instance_had_leased_are_taken_by_another_at_once(platform, postgres_settings):
    settings, app = platform.settings, platform.app
    wire_id = platform.event_until(T.rules_at(START))
    press_ready(settings, 2, wire_id)
    dying = DatingEvents(env=persistence_env(postgres_settings), clock=platform.clock)
    now = platform.clock()
    try:
        assert len(dying.store.claim_platform_writes(now, now + timedelta(seconds=30), 10)) == 1
        assert platform.writes.take() == 0  # it lives: its lease holds
    finally:
        dying.close()  # gone before it applied the row
    deadline = time.monotonic() + 2.0  # (its session's lock ends a moment after it closed)
    while not (taken := platform.writes.take()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert taken == 1  # at once: no time passed on the clock
    assert kinds(app, wire_id).count("MarkedReady") == 1


def test_two_instances_take_every_press_exactly_once(platform, postgres_settings):
    settings, app = platform.settings, platform.app
    wire_id = platform.event_until(T.round_starts_at(START, 1) + timedelta(seconds=30), ready_check=False)
    event = app.get_event(wire_id)
    presses = [(p.a, p.b) for p in event.planned.pairs_in_round(1)] + [(p.b, p.a) for p in event.planned.pairs_in_round(1)]
    for source, target in presses:
        react(settings, "likes", source, target, wire_id)
    other = DatingEvents(env=persistence_env(postgres_settings), clock=platform.clock)
    takers = [platform.writes, PlatformWrites(other, display_timezone="Europe/Moscow", clock=platform.clock, batch=1)]
    platform.writes.batch = 1
    taken: list[int] = []

    def drain(writes: PlatformWrites) -> None:
        while (n := writes.take()):
            taken.append(n)

    threads = [threading.Thread(target=drain, args=(w,)) for w in takers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    other.close()
    assert sum(taken) == len(presses)
    assert kinds(app, wire_id).count("PartnerRated") == len(presses)


def test_an_event_an_operator_inserts_is_adopted_once_under_its_own_id(platform):
    settings, app = platform.settings, platform.app
    bot(settings, "INSERT INTO public.dating_events (start_dttm) VALUES (%s)", START + timedelta(days=3))
    (operator_id,), = rows(settings, "SELECT id FROM public.dating_events")
    assert platform.writes.take() == 1 and platform.writes.take() == 0
    adopted = app.get_event(operator_id)
    assert adopted.state is EventState.NOT_STARTED and adopted.users_limit == 20
    assert adopted.start == START + timedelta(days=3) and adopted.timezone == "Europe/Moscow"
    ours = app.schedule_event(start=START, timezone="Europe/Moscow")  # from the platform's sequence: no collision
    assert ours > operator_id and sorted(app.catalog_wire_ids()) == [operator_id, ours]
    platform.follower.catch_up()
    assert rows(settings, "SELECT id, state_id, timezone FROM public.dating_events ORDER BY id") == [
        (operator_id, 0, "Europe/Moscow"), (ours, 0, "Europe/Moscow")]
    assert rows(settings, "SELECT count(*) FROM datemaker.platform_inbox") == [(0,)]  # the projection's own rows adopt nothing


def test_the_outbox_waits_until_the_platform_rows_are_written(platform):
    settings, app = platform.settings, platform.app
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    app.register(wire_id, 1, profile(1))
    platform.clock.now = T.confirmation_opens_at(START)
    platform.world.round_clock.fire_due()  # confirmation opens: a confirm_registration is due to user 1
    from datemaker.app.outbox import OutboxRelay

    relay = OutboxRelay(app, publish=None, after_projection=True)  # type: ignore[arg-type]
    head = app.recorder.max_notification_id()
    held_at, messages = relay.read(0)  # the follower has written nothing yet
    assert messages == [] and held_at == head - 1  # everything before the confirmation request, not it
    assert relay.held_for == head  # and the relay knows what it waits for
    platform.follower.step()
    last, messages = relay.read(held_at)
    assert last == head and [m.command for m in messages] == ["confirm_registration"]
    # What the bot selects on that message finds its row now.
    found = rows(settings, "SELECT DISTINCT e.id, (r.user_id IS NOT NULL) AS registered FROM public.dating_events e"
                 " LEFT JOIN (SELECT * FROM public.dating_registrations WHERE user_id = %s) r ON e.id = r.event_id"
                 " WHERE start_dttm > %s ORDER BY e.id LIMIT 10", 1, platform.clock.now)
    assert (wire_id, True) in found


def test_future_events_already_there_at_deploy_are_adopted_with_their_registrations(databases):
    from ..support.postgres import pg_settings

    settings = pg_settings(databases.with_platform_rows([
        "INSERT INTO public.users (id, username, sex) VALUES (1, 'u1', 'M'), (11, 'u11', 'F')",
        "INSERT INTO public.dating_events (id, start_dttm) VALUES (7, now() + interval '3 days'),"
        " (8, now() - interval '3 days')",
        "INSERT INTO public.dating_registrations (user_id, event_id) VALUES (1, 7), (11, 7), (1, 8)",
    ]))
    app = DatingEvents(env=persistence_env(settings), clock=lambda: datetime.now(UTC))
    try:
        writes = PlatformWrites(app, display_timezone="Europe/Moscow")
        assert writes.take() == 1
        adopted = app.get_event(7)
        assert adopted.state is EventState.NOT_STARTED and sorted(int(u) for u in adopted.registrations) == [1, 11]
        assert app.catalog_wire_ids() == [7]  # the past one is left as it is
    finally:
        app.close()


def test_a_rebuild_loses_nothing_the_bot_wrote_and_datemaker_has_not_taken_yet(platform):
    from datemaker.projections.rebuild import rebuild

    settings, app = platform.settings, platform.app
    wire_id = platform.event_until(T.rules_at(START))
    press_ready(settings, 11, wire_id)
    bot(settings, "INSERT INTO public.dating_events (start_dttm) VALUES (%s)", START + timedelta(days=9))
    rebuild(app, partial(connect, settings, autocommit=True))
    assert rows(settings, "SELECT count(*) FROM public.dating_events") == [(2,)]  # the operator's row stays
    assert platform.writes.take() == 2
    assert 11 in app.get_event(wire_id).ready and len(app.catalog_wire_ids()) == 2


def test_messages_that_read_nothing_back_are_not_held_for_the_follower(platform):
    from datemaker.app.outbox import OutboxRelay

    app = platform.app
    wire_id = platform.event_until(T.round_starts_at(START, 1) - timedelta(seconds=1), ready_check=False)
    relay = OutboxRelay(app, publish=None, after_projection=True)  # type: ignore[arg-type]
    position = app.recorder.max_notification_id()
    platform.clock.now = T.round_starts_at(START, 1)
    platform.world.round_clock.fire_due()  # round 1: invitations; the follower is behind now
    last, messages = relay.read(position)
    assert last == app.recorder.max_notification_id() > platform.follower.stored_position()
    assert {"invite_to_meeting", "send_partner_profile"} <= {m.command for m in messages}
    assert app.get_event(wire_id).state is EventState.RUNNING
