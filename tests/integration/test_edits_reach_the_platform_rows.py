"""An edit on PostgreSQL: the platform's public.dating_events row follows it
(the bot lists and shows events from it), confirmations reset by a move are
cleared from public.dating_registrations before the bot is asked to show
the confirmation screen again, and datemaker's own update never comes back
as an operator's write; a rebuild gives the same rows."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import psycopg
import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.schema import connect
from datemaker.app.dating_events import DatingEvents
from datemaker.app.event_edits import edit_event
from datemaker.app.outbox import OutboxRelay
from datemaker.app.platform_writes import PlatformWrites
from datemaker.app.ports import SoleLeader
from datemaker.domain.timings import Timings
from datemaker.projections.follower import ProjectionFollower
from datemaker.projections.rebuild import rebuild

from ..support.clock import T0, FakeClock
from ..support.followed_world import FollowedWorld, query
from ..support.world import profile

pytestmark = pytest.mark.postgres

START = T0 + timedelta(days=2)
T = Timings()


@pytest.fixture
def platform(postgres_settings):
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(postgres_settings), clock=clock)
    follower = ProjectionFollower(app, partial(connect, postgres_settings, autocommit=True), SoleLeader())
    yield postgres_settings, app, FollowedWorld(app, clock, follower), follower
    follower.close()
    app.close()


def operator(settings, sql: str, *params) -> None:
    """A statement as an operator runs it by hand (not as datemaker)."""
    with psycopg.connect(host=settings.postgres_host, port=settings.postgres_port, dbname=settings.postgres_db,
                         user=settings.postgres_user, autocommit=True) as conn:
        conn.execute(sql, params)


def test_the_events_row_follows_every_edited_field_and_adopts_nothing(platform):
    settings, app, _, follower = platform
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", capacity=30)
    follower.catch_up()
    later = START + timedelta(hours=5)
    edit_event(app, wire_id, {"start": later, "users_limit": 10, "capacity": None, "timezone": "Asia/Tokyo"}, "alice")
    follower.catch_up()
    assert query(settings, "SELECT id, start_dttm, users_limit, capacity, timezone FROM public.dating_events") == [
        (wire_id, later, 10, None, "Asia/Tokyo")]
    assert query(settings, "SELECT start_time FROM datemaker.event_stats WHERE event_id = %s", wire_id) == [(later,)]
    assert query(settings, "SELECT count(*) FROM datemaker.platform_inbox") == [(0,)]  # no operator's event to adopt
    before = query(settings, "SELECT * FROM public.dating_events")
    rebuild(app, partial(connect, settings, autocommit=True))
    assert query(settings, "SELECT * FROM public.dating_events") == before


def test_an_event_an_operator_inserted_is_edited_in_its_own_row(platform):
    settings, app, _, follower = platform
    operator(settings, "INSERT INTO public.dating_events (start_dttm) VALUES (%s)", START)
    (operator_id,), = query(settings, "SELECT id FROM public.dating_events")
    assert PlatformWrites(app, display_timezone="Europe/Moscow").take() == 1
    follower.catch_up()
    edit_event(app, operator_id, {"start": START + timedelta(days=1), "users_limit": 12}, "alice")
    follower.catch_up()
    assert query(settings, "SELECT id, start_dttm, users_limit FROM public.dating_events") == [
        (operator_id, START + timedelta(days=1), 12)]
    assert query(settings, "SELECT count(*) FROM datemaker.platform_inbox") == [(0,)]


def test_a_move_clears_the_confirmations_before_the_bot_is_asked_again(platform):
    settings, app, world, follower = platform
    app.seed_platform_users([(uid, f"user{uid}", "M" if uid < 10 else "F", "1995-01-01", "Kazan", 0.0, 2)
                             for uid in (1, 11)])
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    for uid in (1, 11):
        app.register(wire_id, uid, profile(uid))
    world.run_until(T.confirmation_opens_at(START))
    app.confirm_registration(wire_id, 1)
    follower.catch_up()
    relay = OutboxRelay(app, publish=None, after_projection=True)  # type: ignore[arg-type]
    position, _ = relay.read(0)
    assert query(settings, "SELECT count(*) FROM public.dating_registrations WHERE confirmed_on_dttm IS NOT NULL"
                 " AND event_id = %s", wire_id) == [(1,)]

    later = START + timedelta(days=3)
    edit_event(app, wire_id, {"start": later}, "alice")
    held, messages = relay.read(position)
    assert messages == []  # the bot would read the old start: held until the rows are written
    follower.step()
    _, messages = relay.read(held)
    assert sorted((m.user_id, m.command) for m in messages) == [(1, "confirm_registration"),
                                                                 (11, "confirm_registration")]
    # What the bot selects on that message: the new start, nobody confirmed.
    found = query(settings, "SELECT e.start_dttm, r.confirmed_on_dttm, r.confirmation_event_sent"
                  " FROM public.dating_events e JOIN public.dating_registrations r ON e.id = r.event_id"
                  " WHERE e.id = %s ORDER BY r.user_id", wire_id)
    assert found == [(later, None, True), (later, None, True)]
    assert query(settings, "SELECT registered, confirmed FROM datemaker.event_stats WHERE event_id = %s",
                 wire_id) == [(2, 0)]
