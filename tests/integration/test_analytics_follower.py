"""The analytics follower on real PostgreSQL: what the tables say after a few
realistic events, a rebuild that reproduces the live result row for row, and
exactly-once projection across crashes, restarts and a second follower."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import timedelta
from functools import partial

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.schema import connect
from datemaker.app.dating_events import DatingEvents
from datemaker.domain.ids import event_uuid
from datemaker.domain.lifecycle import EventState
from datemaker.projections.follower import ProjectionFollower
from datemaker.projections.rebuild import rebuild, status
from datemaker.projections import tables

from ..support.clock import FakeClock
from ..support.followed_world import MEN, NO_SHOW, WITHDRAWS, FollowedWorld, query, run_three_events, snapshot
from ..support.postgres import admin_connection, pg_settings
from ..support.world import profile

pytestmark = pytest.mark.postgres


def connector(settings):
    """What the runtime hands the read side: a way to open an autocommit connection."""
    return partial(connect, settings, autocommit=True)


class AlwaysLeader:
    """Leadership for one follower alone. Given `stop`, it sets it the first
    time the follower, caught up, asks whether it still leads: a run then
    ends on its own, and tests wait on no timer."""

    def __init__(self, stop: asyncio.Event | None = None) -> None:
        self.stop = stop

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        if self.stop is not None:
            self.stop.set()
        return True

    def release(self) -> None:
        pass


@pytest.fixture
def app(postgres_settings):
    application = DatingEvents(env=persistence_env(postgres_settings), clock=FakeClock())
    yield application
    application.close()


def follower_for(app, settings, chunk: int = 500) -> ProjectionFollower:
    return ProjectionFollower(app, connector(settings), AlwaysLeader(), chunk=chunk)


@pytest.fixture
def live(app, postgres_settings):
    """Three events run with a follower projecting small batches as they go."""
    follower = follower_for(app, postgres_settings, chunk=7)
    world = FollowedWorld(app, app.clock, follower)
    ids = run_three_events(world)
    follower.catch_up()
    yield ids
    follower.close()


def test_the_tables_tell_each_events_funnel(live, app, postgres_settings):
    full = app.get_event(live["full"])
    stats = dict(
        (row[0], row[1:])
        for row in query(
            postgres_settings,
            "SELECT event_id, state, registered, withdrawn, confirmed, declined, placed, ready, no_shows,"
            " rounds, likes, dislikes, reports, matches, matched, end_reason FROM datemaker.event_stats",
        )
    )
    assert full.state is EventState.FINISHED and full.no_shows == [NO_SHOW]
    assert stats[live["full"]] == (4, 7, 1, 6, 1, 6, 5, 1, full.planned.rounds_count, 2, 1, 1, 1, 2, None)
    assert stats[live["skipped"]] == (5, 3, 1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, "too_few_participants")
    assert stats[live["cancelled"]][:4] == (6, 3, 0, 0) and stats[live["cancelled"]][-1] == "operator"

    legacy = query(postgres_settings, "SELECT id, state_id, users_limit, capacity, timezone FROM public.dating_events ORDER BY id")
    assert legacy == [(live["full"], 4, 10, None, "Europe/Moscow"), (live["skipped"], 5, 20, None, "Europe/Moscow"),
                      (live["cancelled"], 6, 20, 5, "Asia/Tokyo")]
    registrations = query(
        postgres_settings,
        "SELECT user_id, confirmed_on_dttm IS NOT NULL, is_ready, confirmation_event_sent FROM public.dating_registrations"
        " WHERE event_id = %s ORDER BY user_id",
        live["full"],
    )
    assert WITHDRAWS not in [uid for uid, *_ in registrations]
    assert (NO_SHOW, True, False, True) in registrations  # confirmed, never said "I am here"
    assert all(sent for *_, sent in registrations)  # every one was asked to confirm
    groups = query(postgres_settings, "SELECT turn_no, user_1_id, user_2_id FROM public.dating_event_groups"
                   " WHERE event_id = %s", live["full"])
    plan = full.planned
    assert sorted(groups) == sorted((n - 1, p.a, p.b) for n in range(1, plan.rounds_count + 1) for p in plan.pairs_in_round(n))
    assert {uid for _, a, b in groups for uid in (a, b)} == set(plan.placed_user_ids)


def test_each_round_keeps_its_pairs_rooms_attendance_and_reactions(live, app, postgres_settings):
    event = app.get_event(live["full"])
    plan = event.planned
    pairs = query(
        postgres_settings,
        "SELECT round_no, user_a, user_b, room_uri, started_at IS NOT NULL, ended_at IS NOT NULL,"
        " a_attendance, b_attendance, b_seconds, attendance_final, a_reaction, b_reaction"
        " FROM datemaker.round_pairs WHERE event_id = %s ORDER BY round_no, user_a",
        live["full"],
    )
    expected = [(n, p.a, p.b) for n in range(1, plan.rounds_count + 1) for p in sorted(plan.pairs_in_round(n), key=lambda p: p.a)]
    assert [row[:3] for row in pairs] == expected
    assert all(row[3] == event.room_of(row[0], row[1], row[2])["uri"] and row[4] and row[5] for row in pairs)
    first, second = (row for row in pairs if row[0] == 1)
    assert first[6:] == ("present", "late", 260, True, "like", "like")  # the final reading replaced the first
    assert second[6:10] == ("present", "present", 300, True)
    assert second[10:] == ("report", "dislike")
    assert all(row[6] is None for row in pairs if row[0] > 1)  # attendance only where recorded
    sit_outs = query(postgres_settings, "SELECT round_no, user_id FROM datemaker.round_sit_outs WHERE event_id = %s", live["full"])
    assert sorted(sit_outs) == sorted((n, s.user_id) for n in range(1, plan.rounds_count + 1) for s in plan.sit_outs(n))

    likes = query(postgres_settings, "SELECT source_user_id, target_user_id FROM public.likes ORDER BY source_user_id")
    assert len(likes) == 2 and len(query(postgres_settings, "SELECT * FROM public.dislikes")) == 1
    assert len(query(postgres_settings, "SELECT * FROM public.reports")) == 1
    matches = query(postgres_settings, "SELECT event_id, user_1_id, user_2_id FROM public.matches ORDER BY user_1_id")
    (a, b), = event.matches
    assert matches == [(live["full"], a, b), (live["full"], b, a)]


def test_a_rebuild_reproduces_the_live_tables_row_for_row(live, app, postgres_settings):
    before = snapshot(postgres_settings)
    assert all(before[name] for name in before)  # every table has something to compare
    with connect(postgres_settings) as conn:  # damage the live result; the rebuild must not care
        conn.execute("UPDATE datemaker.event_stats SET registered = 999, withdrawn = 999")
        conn.execute("DELETE FROM public.likes")

    done = rebuild(app, connector(postgres_settings), chunk=1000)

    assert done.position == done.head == status(app, connector(postgres_settings)).position
    after = snapshot(postgres_settings)
    for name in before:
        assert after[name] == before[name], name


def test_a_crash_between_the_writes_and_the_commit_leaves_nothing(app, postgres_settings, monkeypatch):
    history = small_history(app)
    write_position = tables.advance_tracking

    def crash_before_commit(cur, last):
        write_position(cur, last)  # rows and position written, not committed
        raise ConnectionError("killed")

    monkeypatch.setattr(tables, "advance_tracking", crash_before_commit)
    crashed = follower_for(app, postgres_settings)
    with pytest.raises(ConnectionError):
        crashed.step()
    assert query(postgres_settings, "SELECT count(*) FROM datemaker.event_stats") == [(0,)]
    assert status(app, connector(postgres_settings)).position == 0

    monkeypatch.undo()
    restarted = follower_for(app, postgres_settings)
    assert restarted.catch_up() == app.recorder.max_notification_id()
    assert counts(postgres_settings, history) == (len(MEN) - 1, 1)


def test_a_batch_projected_twice_counts_once(app, postgres_settings):
    history = small_history(app)
    one, other = follower_for(app, postgres_settings), follower_for(app, postgres_settings)
    batch, same_again = one.read(0), other.read(0)  # e.g. read before a crash, and again after the restart
    assert batch.changes and same_again.changes == batch.changes

    assert one.commit(batch) is True
    assert other.commit(same_again) is False
    assert counts(postgres_settings, history) == (len(MEN) - 1, 1)
    assert follower_for(app, postgres_settings).catch_up() == batch.last  # a restart finds nothing left to do
    assert counts(postgres_settings, history) == (len(MEN) - 1, 1)


def test_two_followers_at_once_give_the_rebuilt_result(app, postgres_settings):
    small_history(app)
    followers = [follower_for(app, postgres_settings, chunk=2) for _ in range(2)]
    threads = [threading.Thread(target=f.catch_up) for f in followers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    together = snapshot(postgres_settings)
    assert status(app, connector(postgres_settings)).behind == 0
    rebuild(app, connector(postgres_settings))
    assert snapshot(postgres_settings) == together
    for f in followers:
        f.close()


def test_notifications_of_unknown_types_are_passed_over(app, postgres_settings):
    history = small_history(app)
    other = small_history(app)
    version = app.get_event(history).version
    with connect(postgres_settings) as conn:  # written by some newer datemaker
        conn.execute(
            "INSERT INTO datemaker.datingevents_events (originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, 'datemaker.domain.dating_event:DatingEvent.Postponed', '{}')",
            (event_uuid(history), version + 1),
        )
        # and a known kind after it, on a state no longer rebuildable here
        conn.execute(
            "INSERT INTO datemaker.datingevents_events (originator_id, originator_version, topic, state)"
            " SELECT originator_id, %s, topic, state FROM datemaker.datingevents_events"
            " WHERE originator_id = %s AND originator_version = %s",
            (version + 2, event_uuid(history), version),
        )
    app.register(other, 12, profile(12))
    follower = follower_for(app, postgres_settings)
    assert follower.catch_up() == app.recorder.max_notification_id()
    assert counts(postgres_settings, history) == (len(MEN) - 1, 1)
    assert counts(postgres_settings, other) == (len(MEN), 1)


def test_the_serve_task_follows_until_stopped_and_survives_a_failed_step(app, postgres_settings, monkeypatch):
    history = small_history(app)
    stop = asyncio.Event()
    follower = ProjectionFollower(app, connector(postgres_settings), AlwaysLeader(stop), retry_pause=0.001)
    real_step, failures = follower.step, []

    def flaky_step() -> bool:
        if not failures:
            failures.append(1)
            raise ConnectionError("database restarted")
        return real_step()

    monkeypatch.setattr(follower, "step", flaky_step)
    asyncio.run(asyncio.wait_for(follower.run(stop), timeout=60))
    assert failures and status(app, connector(postgres_settings)).behind == 0
    assert counts(postgres_settings, history) == (len(MEN) - 1, 1)


def test_the_service_role_may_follow_and_rebuild(app, postgres_settings):
    small_history(app)
    login = f"datemaker_test_{uuid.uuid4().hex[:8]}"
    with admin_connection() as admin:
        admin.execute(f'CREATE ROLE "{login}" LOGIN IN ROLE service_datemaker')
    try:
        settings = pg_settings(postgres_settings.postgres_db, DATEMAKER_POSTGRES_USER=login)
        follower = follower_for(app, settings)
        assert follower.catch_up() == app.recorder.max_notification_id()
        follower.close()
        assert rebuild(app, connector(settings)).behind == 0
        with connect(settings) as conn:
            assert conn.execute("SELECT count(*) FROM public.matches").fetchone() == (0,)
    finally:
        with admin_connection() as admin:
            admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{login}'")
            admin.execute(f'DROP ROLE "{login}"')


def small_history(app) -> int:
    """One event: the men register, one withdraws."""
    wire_id = app.schedule_event(start=app.clock() + timedelta(days=3), timezone="Europe/Moscow")
    for uid in MEN:
        app.register(wire_id, uid, profile(uid))
    app.cancel_registration(wire_id, MEN[0])
    return wire_id


def counts(settings, wire_id: int) -> tuple[int, int]:
    (row,) = query(settings, "SELECT registered, withdrawn FROM datemaker.event_stats WHERE event_id = %s", wire_id)
    return row


def test_the_follower_takes_the_snapshots_the_commands_no_longer_wait_for(postgres_settings, monkeypatch):
    from datemaker.domain.dating_event import DatingEvent

    monkeypatch.setitem(DatingEvents.snapshotting_intervals, DatingEvent, 10)
    service = DatingEvents(env=persistence_env(postgres_settings), clock=FakeClock())
    service.snapshots_on_save = False  # as `datemaker serve` runs with PostgreSQL
    follower_app = DatingEvents(env=persistence_env(postgres_settings), clock=FakeClock())
    try:
        wire_id = service.schedule_event(start=FakeClock().now + timedelta(days=3), timezone="Europe/Moscow")
        for user_id in range(1, 26):
            service.register(wire_id, user_id, profile(user_id))
        event = service.get_event(wire_id)
        assert event.version == 26
        assert list(service.snapshots.get(event.id)) == []  # none on the commands' path

        follower = ProjectionFollower(follower_app, connector(postgres_settings), AlwaysLeader(), chunk=7,
                                      takes_snapshots=True)
        follower.catch_up()
        follower.catch_up()  # a second pass over nothing new changes nothing
        follower.close()
        assert [s.originator_version for s in service.snapshots.get(event.id)] == [10, 20]
        fresh = DatingEvents(env=persistence_env(postgres_settings), clock=FakeClock())
        assert fresh.get_event(wire_id).__dict__ == event.__dict__  # loaded through the snapshot
        fresh.close()
    finally:
        service.close()
        follower_app.close()
