"""The reports rule on PostgreSQL: with DATEMAKER_AUTO_BLOCK_REPORTS=N the
analytics follower blocks a user reported by N distinct people within 30
days (reason auto_reports), takes them out of the events not running yet,
never blocks twice for one report, and leaves a moderator's unblock alone."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from types import SimpleNamespace

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.schema import connect
from datemaker.app.dating_events import DatingEvents
from datemaker.app.moderation import Moderation
from datemaker.app.ports import SoleLeader
from datemaker.domain.timings import Timings
from datemaker.projections.auto_block import AutoBlock, reported_enough
from datemaker.projections.changes import Change
from datemaker.projections.follower import ProjectionFollower
from datemaker.settings import load_settings

from ..support.clock import T0
from ..support.followed_world import FollowedWorld
from ..support.retry import FAST_RETRY
from ..support.world import MEN, WOMEN, profile

pytestmark = pytest.mark.postgres

T = Timings()
START = T0 + timedelta(days=2)


def report(event_id: int, reporter: int, reported: int, at) -> Change:
    recorded = SimpleNamespace(user_id=reporter, partner_id=reported, reaction="report")
    return Change(0, event_id, "PartnerRated", recorded, 3, None, at)


def test_reporters_are_counted_once_each_and_only_within_30_days(postgres_settings):
    now = T0 + timedelta(days=60)
    rows = [(1, 12, 1, now - timedelta(days=31)),  # too old
            (2, 13, 1, now - timedelta(days=29)), (3, 13, 1, now - timedelta(days=2)),  # one person twice
            (4, 11, 1, now), (4, 11, 2, now)]
    with connect(postgres_settings) as conn:
        conn.execute("SELECT set_config('datemaker.writer', 'projection', true)")  # the follower's own rows
        conn.cursor().executemany(
            "INSERT INTO public.reports (event_id, source_user_id, target_user_id, action_time) VALUES (%s, %s, %s, %s)",
            [(e, s, t, at.replace(tzinfo=None)) for e, s, t, at in rows],
        )
        cur = conn.cursor()
        assert reported_enough(cur, [report(4, 11, 1, now)], 2) == {1: "4-11-1"}
        assert reported_enough(cur, [report(4, 11, 1, now)], 3) == {}
        assert reported_enough(cur, [report(4, 11, 2, now)], 2) == {}


def test_the_follower_blocks_a_user_reported_by_two_people_and_withdraws_them(postgres_settings, clock):
    app = DatingEvents(env=persistence_env(postgres_settings), clock=clock, retry=FAST_RETRY)
    moderation = Moderation(app)
    rule = AutoBlock(moderation, 2)
    follower = ProjectionFollower(app, partial(connect, postgres_settings, autocommit=True), SoleLeader(),
                                  after_changes=rule)
    try:
        app.seed_platform_users([(uid, f"u{uid}", "M" if uid < 10 else "F", "1995-01-01", "Kazan", 0.0, 2)
                                 for uid in [*MEN, *WOMEN]])
        world = FollowedWorld(app, clock, follower)
        wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", ready_check=False)
        later = app.schedule_event(start=START + timedelta(days=7), timezone="Europe/Moscow")
        for uid in [*MEN, *WOMEN]:
            app.register(wire_id, uid, profile(uid))
        app.register(later, 1, profile(1))
        world.run_until(T.confirmation_opens_at(START))
        for uid in [*MEN, *WOMEN]:
            app.confirm_registration(wire_id, uid)
        world.run_until(T.round_starts_at(START, 1) + timedelta(seconds=30))
        plan = app.get_event(wire_id).planned
        first = plan.partner_of(1, 1)
        app.change(wire_id, lambda e: e.rate(first, 1, "report", clock.now))
        follower.catch_up()
        assert moderation.standing(1) is None  # one reporter is not enough
        world.run_until(T.round_starts_at(START, 2) + timedelta(seconds=30))
        second = plan.partner_of(1, 2)
        app.change(wire_id, lambda e: e.rate(second, 1, "report", clock.now))
        follower.catch_up()

        standing = moderation.standing(1)
        block = standing.block_in_force(clock.now)
        assert (block["reason"], block["by"], block["report_id"]) == ("auto_reports", "datemaker", f"{wire_id}-{second}-1")
        assert not app.get_event(later).is_registered(1)
        assert app.get_event(wire_id).is_registered(1)  # the running event goes on

        changes = follower.read(0).changes  # the same reports once more (a batch done again)
        moderation.unblock(1, by="anna")
        with connect(postgres_settings) as conn:
            rule(conn.cursor(), changes)
        assert len(moderation.standing(1).blocks) == 1 and moderation.standing(1).block_in_force(clock.now) is None
    finally:
        follower.close()
        app.close()


def test_the_rule_is_off_unless_set_and_takes_a_count():
    assert load_settings().auto_block_reports == 0
    assert load_settings(DATEMAKER_AUTO_BLOCK_REPORTS="3").auto_block_reports == 3
    with pytest.raises(ValueError):
        AutoBlock(None, 0)  # type: ignore[arg-type]
