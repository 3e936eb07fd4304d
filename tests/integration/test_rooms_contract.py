"""One contract for the rooms port, run against every backend:

- `fake`: the in-process FakeRooms;
- `google`: the real google-apps-meet client (REST) talking to the local fake
  Meet server (tests/support/fake_meet_server.py), which can also fail on cue;
- `live`: the real Google Meet API, only when DATEMAKER_TEST_MEET_TOKEN_FILE
  names a token written by `datemaker meet login` (makes two rooms a run).

A backend that cannot do what a test needs (script people into a room, fail
on cue) skips that test, saying why."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.meet.calls import Backoff, MeetObserver
from datemaker.adapters.meet.factory import build_rooms
from datemaker.app.dating_events import DatingEvents
from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.domain.rooms import Room
from datemaker.settings import load_settings

from ..support.clock import FakeClock
from ..support.fake_meet_server import OPEN, FakeMeetServer

LIVE_TOKEN = os.environ.get("DATEMAKER_TEST_MEET_TOKEN_FILE")


class Harness:
    """The port under test, and what a test may do to the world around it."""

    def __init__(self, rooms, clock: FakeClock, server: FakeMeetServer | None = None, app=None) -> None:
        self.rooms, self.clock, self.server, self.app = rooms, clock, server, app
        self.live = False
        self.sleeps: list[float] = []  # what the port slept; sleeping moves the fake clock on
        self.seen: list[tuple[str, str]] = []  # (method, outcome) reported to the observer
        self._participants: dict[tuple[str, str], str] = {}

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds=seconds)
        if self.live:  # the real API's quota runs on real time
            time.sleep(seconds)

    def is_open(self, room: Room) -> bool:
        if isinstance(self.rooms, FakeRooms):
            return self.rooms.access[room.space] == "OPEN"
        if self.server is not None:
            return self.server.access_type(room.space) == OPEN
        space = self.rooms.accounts.of_room(room.account).spaces.get_space(name=room.space)
        return space.config.access_type == OPEN

    def join(self, room: Room, name: str, at, account: str | None = None) -> None:
        if isinstance(self.rooms, FakeRooms):
            self.rooms.join(room, name, at, account=account)
        elif self.server is not None:
            self._participants[(room.space, name)] = self.server.join(room.space, name, at, account=account)
        else:
            pytest.skip("people cannot be scripted into a live Meet room")

    def leave(self, room: Room, name: str, at) -> None:
        if isinstance(self.rooms, FakeRooms):
            self.rooms.leave(room, name, at)
        else:
            self.server.leave(self._participants[(room.space, name)], at)

    def fail_next(self, method: str, status: int, times: int = 1) -> None:
        if self.server is None:
            pytest.skip("only the fake Meet server fails on cue")
        self.server.fail_next(method, status, times)


def _google(tmp_path: Path, clock: FakeClock, **settings: object) -> tuple[DatingEvents, object, Harness]:
    values = {
        "DATEMAKER_STORE": "sqlite",
        "DATEMAKER_SQLITE_PATH": str(tmp_path / "events.sqlite3"),
        "DATEMAKER_MEET_BACKEND": "google",
        "DATEMAKER_MEET_CREATE_PER_MINUTE": 6000,
        "DATEMAKER_MEET_PROJECT_CREATE_PER_MINUTE": 6000,
        "DATEMAKER_MEET_WRITES_PER_MINUTE": 6000,
        "DATEMAKER_MEET_READS_PER_MINUTE": 60000,
        **settings,
    }
    app = DatingEvents(env=persistence_env(load_settings(**values)), clock=clock)
    harness = Harness(None, clock, app=app)
    observer = MeetObserver(call=lambda method, outcome: harness.seen.append((method, outcome)))
    harness.rooms = build_rooms(
        load_settings(**values), app, observer=observer, sleep=harness.sleep,
        rng=random.Random(3), backoff=Backoff(attempts=4, base=1.0, cap=8.0),
    )
    return app, harness.rooms, harness


@pytest.fixture(params=["fake", "google", pytest.param("live", marks=pytest.mark.slow)])  # live: the real API, in real time
def port(request, tmp_path) -> Iterator[Harness]:
    clock = FakeClock()
    if request.param == "fake":
        yield Harness(FakeRooms(seed=5, attendance=True, clock=clock), clock)
    elif request.param == "google":
        with FakeMeetServer(clock=clock, page_size=2) as server:
            app, _, harness = _google(tmp_path, clock, MEET_API_ENDPOINT=server.endpoint)
            harness.server = server
            yield harness
            app.close()
    else:
        if not LIVE_TOKEN:
            pytest.skip("live Meet run: set DATEMAKER_TEST_MEET_TOKEN_FILE to a token from `datemaker meet login`")
        app, _, harness = _google(tmp_path, clock, MEET_TOKEN_FILE=LIVE_TOKEN, DATEMAKER_MEET_CREATE_PER_MINUTE=10)
        harness.live = True
        yield harness
        app.close()


def test_reserved_rooms_are_fresh_links_open_to_anyone_who_has_them(port):
    rooms = port.rooms.reserve(2)
    assert len(rooms) == 2 and rooms[0] != rooms[1]
    assert len({r.space for r in rooms}) == 2 and len({r.uri for r in rooms}) == 2
    for room in rooms:
        assert room.space.startswith("spaces/") and room.uri.startswith("https://meet.google.com/")
        assert port.is_open(room)


def test_ending_a_room_nobody_is_in_counts_as_done(port):
    (room,) = port.rooms.reserve(1)
    port.rooms.end_call(room)  # no error: there was no call to end
    assert port.rooms.attendance(room) == []
    if port.server is not None:
        assert port.server.end_calls == [room.space] and port.server.ended == []
        assert ("spaces.endActiveConference", "no_active_conference") in port.seen


def test_ending_a_running_call_ends_everyone_s_session(port):
    (room,) = port.rooms.reserve(1)
    start = port.clock.now
    port.join(room, "Anna", start)
    port.join(room, "Boris", start + timedelta(seconds=30))
    ended_at = port.clock.advance(minutes=5)
    port.rooms.end_call(room)
    people = {a.display_name: a for a in port.rooms.attendance(room)}
    assert set(people) == {"Anna", "Boris"}
    assert [(s.start, s.end) for s in people["Anna"].sessions] == [(start, ended_at)]
    assert [(s.start, s.end) for s in people["Boris"].sessions] == [(start + timedelta(seconds=30), ended_at)]
    if port.server is not None:
        assert port.server.ended == [room.space]


def test_attendance_merges_every_conference_participant_and_session_across_pages(port):
    (room,) = port.rooms.reserve(1)
    t0 = port.clock.now
    port.join(room, "Anna", t0, account="users/1")
    port.join(room, "Boris", t0 + timedelta(seconds=5))
    port.join(room, "Clara", t0 + timedelta(seconds=6))
    port.leave(room, "Boris", t0 + timedelta(seconds=60))
    port.join(room, "Boris", t0 + timedelta(seconds=90))  # back in: a second session
    port.clock.advance(minutes=5)
    port.rooms.end_call(room)
    later = port.clock.now + timedelta(minutes=10)
    port.join(room, "Anna", later, account="users/1")  # the link still works: a second conference
    people = {a.display_name: a for a in port.rooms.attendance(room)}
    assert set(people) == {"Anna", "Boris", "Clara"}
    assert (people["Anna"].kind, people["Anna"].account) == ("signed_in", "users/1")
    assert (people["Boris"].kind, people["Boris"].account) == ("anonymous", None)
    assert [s.start for s in people["Anna"].sessions] == [t0, later] and people["Anna"].sessions[1].end is None
    assert [s.start for s in people["Boris"].sessions] == [t0 + timedelta(seconds=5), t0 + timedelta(seconds=90)]
    assert people["Boris"].sessions[0].end == t0 + timedelta(seconds=60)
    if port.server is not None:  # three participants and two sessions: more than one page each
        assert sum(c.endswith("/participants") for c in port.server.calls) == 3  # 2 pages + 1 page


def test_a_rate_limited_create_is_retried_after_a_backoff(port):
    port.fail_next("create", 429)
    (room,) = port.rooms.reserve(1)
    assert port.is_open(room)
    assert port.seen[:2] == [("spaces.create", "rate_limited"), ("spaces.create", "ok")]
    assert len(port.sleeps) == 1 and 0 <= port.sleeps[0] <= 1.0  # full jitter under the first step


def test_an_unavailable_end_is_retried_until_the_call_is_ended(port):
    (room,) = port.rooms.reserve(1)
    port.join(room, "Anna", port.clock.now)
    port.fail_next("end", 503, times=2)
    port.rooms.end_call(room)
    assert port.server.ended == [room.space]
    assert [o for m, o in port.seen if m == "spaces.endActiveConference"] == ["unavailable", "unavailable", "ok"]
    assert len(port.sleeps) == 2 and port.sleeps[1] <= 2.0


def test_unavailable_reads_are_retried(port):
    (room,) = port.rooms.reserve(1)
    port.join(room, "Anna", port.clock.now)
    for method in ("list_records", "list_participants", "list_sessions"):
        port.fail_next(method, 503)
    assert [a.display_name for a in port.rooms.attendance(room)] == ["Anna"]
    assert sum(o == "unavailable" for _, o in port.seen) == 3


def test_a_create_refused_every_time_makes_no_room_and_raises_nothing(port):
    port.fail_next("create", 429, times=4)  # every attempt of one create
    assert port.rooms.reserve(3) == []
    assert [o for m, o in port.seen if m == "spaces.create"] == ["rate_limited"] * 4
    assert port.server.created == []


def test_an_end_that_keeps_failing_raises_for_the_caller_to_log(port):
    from google.api_core.exceptions import ServiceUnavailable

    (room,) = port.rooms.reserve(1)
    port.fail_next("end", 503, times=4)
    with pytest.raises(ServiceUnavailable):
        port.rooms.end_call(room)
