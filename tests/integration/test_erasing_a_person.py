"""Erasing a person (README, Privacy): after `users erase`, a fresh instance
replays their events to the same states, counts, matches and history, but
their personal fields read erased, and no byte of them is readable in any
table datemaker writes, in a snapshot taken before, or in the logs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.schema import connect
from datemaker.app.dating_events import DatingEvents
from datemaker.domain.dating_event import DatingEvent
from datemaker.logs import configure_logging
from datemaker.projections.follower import ProjectionFollower
from datemaker.projections.tables import READ_MODELS, qualified
from datemaker.runtime.privacy import erasure

from ..support.clock import T0, FakeClock
from ..support.erasing import (
    ACCOUNT, BIRTHDAY, CITY, NAME, OTHER_NAME, PERSON, ROOM_NAME, SECOND, everything_written, figures, history, revealed,
    run_event, without)
from ..support.followed_world import FollowedWorld
from ..support.retry import FAST_RETRY
from .test_analytics_follower import AlwaysLeader, connector


@pytest.fixture
def two_events(store_settings, capsys):
    """Two finished events with PERSON in both, the analytics follower (on
    PostgreSQL) projecting as they run; the logs are captured from the start."""
    configure_logging(debug=False, level="DEBUG")
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(store_settings), clock=clock, retry=FAST_RETRY)
    follower = (ProjectionFollower(app, connector(store_settings), AlwaysLeader(), chunk=7)
                if store_settings.uses_postgres else None)
    world = FollowedWorld(app, clock, follower)
    ids = [run_event(world, T0 + timedelta(days=2)), run_event(world, T0 + timedelta(days=9), SECOND)]
    if follower is not None:
        follower.catch_up()
    yield app, ids, follower
    if follower is not None:
        follower.close()
    app.close()


def test_an_erased_person_reads_erased_everywhere_and_nothing_else_changes(two_events, store_settings, capsys):
    app, ids, follower = two_events
    before = {w: (figures(app, w), history(app, w)) for w in ids}
    for w in ids:  # attendance as recorded, before the erase: their account and both names
        dates = app.get_event(w).attendance["1"]["dates"]
        assert any(ACCOUNT in p.get("accounts", []) for d in dates for p in d["people"])
        assert {NAME, ROOM_NAME, OTHER_NAME} <= {o["display_name"] for d in dates for o in d["others"]}
    assert app.get_event(ids[0]).registrations[str(PERSON)]["profile"]["city"] == CITY
    for w in ids:  # a snapshot taken before the erase, sealed per person too
        app.snapshots.put([DatingEvent.Snapshot.take(app.get_event(w))])
    assert not revealed(everything_written(store_settings))  # sealed: never there in plain

    done = erasure(app).erase(PERSON, ref="ticket-4711", by="anna")
    assert done.outcome == "erased" and done.rooms == tuple(ids)
    assert "erased" in done.text() and "ticket-4711" in done.text()
    if follower is not None:
        follower.catch_up()

    fresh = DatingEvents(env=persistence_env(store_settings), clock=FakeClock(app.clock.now))
    try:
        for replaying in (fresh, app):  # a new instance, and this one (its keyring forgot the keys)
            for w in ids:
                figures_before, history_before = before[w]
                assert figures(replaying, w) == figures_before
                after = history(replaying, w)
                assert without(after) == without(history_before)
                registered = next(e for e in after if e["type"] == "Registered" and e["user_id"] == PERSON)
                assert registered["profile"] == {"sex": None, "birthday": None, "city": None, "rating": 4.5,
                                                 "manual_score": 2, "erased": True}
                event = replaying.get_event(w)  # from the snapshot taken before
                assert event.registrations[str(PERSON)]["profile"]["erased"] is True
                assert event.registrations["2"]["profile"] == before_profile(history_before, 2)
                dates = event.attendance["1"]["dates"]
                mine = [p for d in dates for p in d["people"] if p["user_id"] == PERSON]
                assert mine and all(p["accounts"] == [] and p["erased"] for p in mine)
                seen = {o["user_id"]: o for d in dates for o in d["others"]}
                assert seen[PERSON]["display_name"] is None and seen[None]["display_name"] is None
                assert seen[2]["display_name"] == OTHER_NAME  # someone else's: unchanged
            snapshot = replaying.snapshots.get(app.get_event(ids[0]).id)
            assert all(s.state["registrations"][str(PERSON)]["profile"]["erased"] for s in snapshot)
    finally:
        fresh.close()

    assert revealed(everything_written(store_settings)) == []
    out, err = capsys.readouterr()
    assert "person erased" in err  # the logs were captured
    assert revealed((out + err).encode()) == []
    assert BIRTHDAY.isoformat() not in err and CITY not in err


def before_profile(history_: list[dict], uid: int) -> dict:
    return next(e["profile"] for e in history_ if e["type"] == "Registered" and e["user_id"] == uid)


# Every column of the analytics tables: ids, times, states, counts, scores and
# room links. A new column fails here until someone decides whether it is
# personal (then the erase must blank it, README, Privacy).
ANALYTICS_COLUMNS = {
    "public.dating_events": {"id", "start_dttm", "users_limit", "state_id", "timezone", "capacity", "created_at"},
    "public.dating_registrations": {"user_id", "event_id", "registered_on_dttm", "confirmed_on_dttm", "is_ready",
                                    "confirmation_event_sent"},
    "public.dating_event_groups": {"event_id", "group_no", "pair_no", "turn_no", "user_1_id", "user_2_id"},
    "public.likes": {"source_user_id", "target_user_id", "event_id", "action_time"},
    "public.dislikes": {"source_user_id", "target_user_id", "event_id", "action_time"},
    "public.reports": {"source_user_id", "target_user_id", "event_id", "action_time"},
    "datemaker.event_stats": {"event_id", "state", "start_time", "registered", "withdrawn", "confirmed", "declined",
                              "placed", "unplaced", "ready", "no_shows", "participants", "rounds", "likes", "dislikes",
                              "reports", "matches", "matched", "end_reason", "updated_at"},
    "datemaker.round_pairs": {"event_id", "round_no", "user_a", "user_b", "group_no", "score", "room_uri", "started_at",
                              "ended_at", "a_attendance", "a_seconds", "b_attendance", "b_seconds", "attendance_final",
                              "a_reaction", "b_reaction"},
    "datemaker.round_sit_outs": {"event_id", "round_no", "user_id", "reason"},
}


@pytest.mark.postgres
def test_the_analytics_tables_hold_no_personal_columns(postgres_settings):
    found = {}
    with connect(postgres_settings) as conn:
        for schema, table in READ_MODELS:
            found[qualified((schema, table))] = {r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                (schema, table)).fetchall()}
    assert found == ANALYTICS_COLUMNS


def test_whatif_refuses_an_event_with_someone_erased_and_plans_it_again_before(two_events, store_settings):
    from datemaker.history.whatif import NotReplayable, Options, what_if

    app, ids, _ = two_events
    options = Options()
    for wire_id in ids:  # before the erase: planned again exactly as it ran
        assert what_if(app, wire_id, options).plan.record == app.get_event(wire_id).planned.record
    erasure(app).erase(PERSON, ref="ticket-3", by="anna")
    fresh = DatingEvents(env=persistence_env(store_settings), clock=FakeClock())
    try:
        for wire_id in ids:
            with pytest.raises(NotReplayable, match="1 of its people were erased"):
                what_if(fresh, wire_id, options)
    finally:
        fresh.close()
