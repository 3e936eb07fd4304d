"""A whole dating event on a fake clock with the Google Meet adapter (the
real google-apps-meet client) against the local fake Meet server: rooms
made ahead during READY, one fresh room per pair per round, every call
ended, attendance recorded from what the server saw. SQLite and PostgreSQL
(there the pace is shared through the database)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.meet.calls import MeetObserver
from datemaker.adapters.meet.factory import build_rooms
from datemaker.app.dating_events import DatingEvents
from datemaker.domain.lifecycle import EventState
from datemaker.domain.profile import Profile
from datemaker.domain.timings import Timings
from datemaker.app.outbox import OutboxRelay
from datemaker.app.clock.round_clock import RoundClock

from ..support.clock import T0, FakeClock
from ..support.fake_meet_server import OPEN, FakeMeetServer

MEN, WOMEN = [1, 2, 3], [11, 12, 13]
NAMES = {1: "Ivan", 2: "Oleg", 3: "Petr", 11: "Anna", 12: "Vera", 13: "Olga"}
LATE_IN_ROUND_1, LEAVES_EARLY_IN_ROUND_1, NEVER_IN_ROUND_2 = 11, 2, 12
SIGNED_IN = {1: "users/1001"}  # joins with a Google account, under a fuller name


class MeetWorld:
    """The service's clock and relay; the bot's inbox; people who open their links."""

    def __init__(self, app: DatingEvents, clock: FakeClock, server: FakeMeetServer, rooms) -> None:
        self.app, self.clock, self.server = app, clock, server
        names = lambda ids: {uid: [NAMES[uid]] for uid in ids if uid in NAMES}  # noqa: E731
        self.round_clock = RoundClock(app, rooms, clock=clock, names=names)
        self.relay = OutboxRelay(app, publish=None)  # type: ignore[arg-type]
        self.position = 0
        self.inbox: dict[int, list[tuple[str, object]]] = defaultdict(list)
        self.invites: list[tuple[int, dict]] = []

    def deliver(self) -> None:
        self.position, messages = self.relay.read(self.position)
        for m in messages:
            self.inbox[m.user_id].append((m.command, m.data))
            if m.command == "invite_to_meeting":
                self.invites.append((m.user_id, m.data))
                self.open_link(m.user_id, m.data)

    def open_link(self, user: int, invite: dict) -> None:
        round_no, start = invite["round"], self.clock.now
        if (user, round_no) == (NEVER_IN_ROUND_2, 2):
            return
        space = next(name for name, s in self.server.spaces.items() if s["meetingUri"] == invite["url"])
        late = 90 if (user, round_no) == (LATE_IN_ROUND_1, 1) else 5
        shown = "Ivan Sokolov" if user in SIGNED_IN else NAMES[user]
        who = self.server.join(space, shown, start + timedelta(seconds=late), account=SIGNED_IN.get(user))
        if (user, round_no) == (LEAVES_EARLY_IN_ROUND_1, 1):
            self.server.leave(who, start + timedelta(seconds=100))

    def run_until(self, instant) -> None:
        while (due := self.app.next_due_at()) is not None and due <= instant:
            self.clock.now = max(self.clock.now, due)
            self.round_clock.fire_due()
            self.deliver()
        self.clock.now = max(self.clock.now, instant)


@pytest.fixture
def world(store_settings):
    clock = FakeClock()
    with FakeMeetServer(clock=clock, page_size=2) as server:
        settings = store_settings.model_copy(update={
            "meet_backend": "google", "meet_api_endpoint": server.endpoint,
            "meet_create_per_minute": 600.0, "meet_writes_per_minute": 600.0, "meet_reads_per_minute": 6000.0,
        })
        app = DatingEvents(env=persistence_env(settings), clock=clock)
        outcomes: list[tuple[str, str]] = []
        rooms = build_rooms(settings, app, observer=MeetObserver(call=lambda m, o: outcomes.append((m, o))),
                            sleep=lambda seconds: None, rng=random.Random(1))
        w = MeetWorld(app, clock, server, rooms)
        w.outcomes = outcomes
        yield w
        app.close()


def profile(uid: int) -> Profile:
    return Profile(sex="M" if uid < 10 else "F", birthday=date(1995, 1, 1), city="Kazan")


def test_a_whole_event_on_google_meet_rooms(world):
    app, server, t = world.app, world.server, Timings()
    start = T0 + timedelta(days=2)
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", users_limit=10, ready_check=False)
    for uid in [*MEN, *WOMEN]:
        app.register(wire_id, uid, profile(uid))
    world.run_until(t.confirmation_opens_at(start))
    for uid in [*MEN, *WOMEN]:
        app.confirm_registration(wire_id, uid)

    server.fail_next("create", 429)  # the quota bites once: retried
    world.run_until(t.rules_at(start))
    event = app.get_event(wire_id)
    assert event.state is EventState.READY and event.rooms_needed() == {}  # made ahead, during READY
    assert event.planned.rounds_count == 3
    assert len(server.created) == 9 and all(server.access_type(s) == OPEN for s in server.created)
    assert ("spaces.create", "rate_limited") in world.outcomes

    world.run_until(t.round_ends_at(start, 1) - timedelta(seconds=1))
    server.fail_next("end", 503)  # the first end of round 1 fails once: retried
    world.run_until(t.round_ends_at(start, 1) + timedelta(seconds=1))
    calls_before_round_2 = len(server.calls)
    world.run_until(t.round_starts_at(start, 2))
    assert app.get_event(wire_id).round_no == 2
    assert len(server.calls) == calls_before_round_2  # a round's start makes no Meet call

    world.run_until(start + timedelta(days=1))
    event = app.get_event(wire_id)
    assert event.state is EventState.FINISHED and app.next_due_at() is None

    # Every invitation leads to a room the fake made for exactly that pair and round.
    plan = event.planned  # as re-planned at the start
    dates = [(n, p) for n in range(1, plan.rounds_count + 1) for p in plan.pairs_in_round(n)]
    assert len(dates) == 9
    uri_to_space = {s["meetingUri"]: name for name, s in server.spaces.items()}
    assert len(world.invites) == 18
    for user, invite in world.invites:
        room = event.room_of(invite["round"], user, invite["partner_id"])
        assert invite["url"] == room["uri"] and uri_to_space[invite["url"]] == room["space"]
    assert len({invite["url"] for _, invite in world.invites}) == 9  # fresh per pair per round
    given = {event.room_of(n, p.a, p.b)["space"] for n, p in dates}
    assert given == set(server.created)

    # Every call was ended (once each), the 503 retried.
    assert sorted(server.ended) == sorted(given)
    assert ("spaces.endActiveConference", "unavailable") in world.outcomes

    # Attendance per date, read after each round and once more after the event.
    kinds = [type(e).__name__ for e in app.history(wire_id)]
    assert kinds.count("AttendanceRecorded") == 6  # 3 at the rounds' ends, 3 final
    assert sorted(event.attendance) == ["1", "2", "3"] and all(r["final"] for r in event.attendance.values())
    status = {
        (int(n), person["user_id"]): person
        for n, recorded in event.attendance.items() for d in recorded["dates"] for person in d["people"]
    }
    assert len(status) == 18
    assert status[(1, LATE_IN_ROUND_1)]["status"] == "late"
    assert status[(1, LEAVES_EARLY_IN_ROUND_1)]["status"] == "left_early"
    assert status[(2, NEVER_IN_ROUND_2)]["status"] == "no_show"
    # A signed-in user first matched by name is known by account from then on.
    first = next(e for e in app.history(wire_id) if type(e).__name__ == "AttendanceRecorded")
    (ivan,) = [p for d in first.dates for p in d["people"] if p["user_id"] == 1]
    assert (first.round_no, ivan["matched_by"], ivan["accounts"]) == (1, "name", ["users/1001"])
    assert status[(2, 1)]["matched_by"] == status[(3, 1)]["matched_by"] == "account"
    usual = [s for key, s in status.items() if key not in {(1, 11), (1, 2), (2, 12)}]
    assert {s["status"] for s in usual} == {"present"}
    assert all(s["seconds"] == t.round_length - 5 for s in usual)
    assert all(d["others"] == [] for r in event.attendance.values() for d in r["dates"])


def test_names_to_match_come_from_the_platform_users_table(store_settings):
    from datemaker.adapters.postgres.schema import connect

    app = DatingEvents(env=persistence_env(store_settings))
    rows = [(1, "ivan_k", "Ivan"), (2, "oleg", None)]
    if store_settings.uses_postgres:
        with connect(store_settings) as conn:
            conn.cursor().executemany("INSERT INTO public.users (id, username, name) VALUES (%s, %s, %s)", rows)
    else:
        with app.recorder.datastore.transaction(commit=True) as c:
            c.executemany("INSERT INTO users (id, username, name) VALUES (?, ?, ?)", rows)
    assert app.platform_names([1, 2, 3]) == {1: ["Ivan", "ivan_k"], 2: ["oleg"]}
    assert app.platform_names([]) == {}
    app.close()
