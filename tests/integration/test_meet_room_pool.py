"""The pool of Meet rooms made ahead, with the Google adapter (the real
google-apps-meet client) against the local fake Meet server enforcing
Google's quotas, on a fake clock: the pool fills within quota and stops at
its target; a fixed plan takes pooled rooms with no Meet call; a shortfall
is made on the spot, earliest round first; two instances never hand out
one room twice; an account whose token fails is set aside; each room's call
is ended by the account that made it."""

from __future__ import annotations

import json
import random
import threading
from datetime import date, timedelta

import pytest
from structlog.testing import capture_logs

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.meet.factory import build_room_pool, build_rooms
from datemaker.app.clock.room_jobs import Job, Work
from datemaker.app.clock.round_clock import RoundClock
from datemaker.app.dating_events import DatingEvents
from datemaker.app.room_pool import PoolFiller
from datemaker.domain.lifecycle import EventState
from datemaker.domain.profile import Profile
from datemaker.domain.rooms import Room
from datemaker.domain.timings import Timings

from ..support.clock import T0, FakeClock
from ..support.fake_meet_server import FakeMeetServer

START = T0 + timedelta(hours=8)  # 20:00 UTC: confirmation closes at 19:00


class Meet:
    def __init__(self, settings, clock: FakeClock, server: FakeMeetServer, accounts: list[str], tmp_path) -> None:
        self.clock, self.server = clock, server
        files = []
        for name in accounts:
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps(server.add_account(name)))
            files.append(str(path))
        self.settings = settings.model_copy(update={
            "meet_backend": "google", "meet_api_endpoint": server.endpoint, "meet_token_file": ",".join(files),
            "meet_pool_margin": 5,
        })
        self.app = DatingEvents(env=persistence_env(self.settings), clock=clock)
        self.pool = build_room_pool(self.settings, self.app)
        self.rooms = build_rooms(self.settings, self.app, pool=self.pool, sleep=self.sleep, rng=random.Random(2))
        self.filler = PoolFiller(self.app, self.pool, self.rooms, horizon=timedelta(hours=24), margin=5, clock=clock)

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds=seconds)

    def fill_for(self, minutes: float) -> None:
        """The filler's thread, on the fake clock: a pass, then its wait."""
        end = self.clock.now + timedelta(minutes=minutes)
        while self.clock.now < end:
            wait = self.filler.fill()
            self.clock.now = min(self.clock.now + timedelta(seconds=max(wait, 0.001)), end)


@pytest.fixture
def meet(store_settings, tmp_path):
    clock = FakeClock()
    with FakeMeetServer(clock=clock, quotas=True) as server:
        world = Meet(store_settings, clock, server, ["host1"], tmp_path)
        yield world
        world.app.close()


def event_of(app: DatingEvents, people: int, start=START) -> int:
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", users_limit=20, ready_check=False)
    for k in range(people):
        uid = wire_id * 1000 + k
        app.register(wire_id, uid, Profile(sex="M" if k % 2 else "F", birthday=date(1995, 1, 1), city="Kazan"))
    return wire_id


def confirm_and_fix(meet: Meet, wire_id: int, clock: RoundClock) -> None:
    """Confirmation opens, everyone confirms, it closes: the plan is fixed."""
    t = Timings()
    meet.clock.now = max(meet.clock.now, t.confirmation_opens_at(START))
    meet.app.open_confirmation(wire_id)
    for uid in meet.app.get_event(wire_id).registrations:
        meet.app.confirm_registration(wire_id, int(uid))
    meet.clock.now = t.confirmation_closes_at(START)
    clock.fire_due()


def test_the_pool_fills_to_its_target_within_every_quota(meet):
    event_of(meet.app, 20)  # 10 rounds of 10 dates: 100 rooms, plus the margin of 5
    meet.fill_for(minutes=6)
    assert meet.pool.free() == len(meet.server.created) == 60  # 10 a minute, from the first second
    meet.fill_for(minutes=30)
    assert meet.pool.free() == len(meet.server.created) == 105  # the target, and not one more
    assert meet.server.max_creates_in_any_minute("host1") == 10
    assert meet.server.rejected_by_quota["create"] == 0  # paced: never a 429
    assert meet.filler.figures.target == 105 and meet.filler.figures.shortfall == 0


def test_a_fixed_plan_takes_pooled_rooms_with_no_meet_call(meet):
    wire_id = event_of(meet.app, 20)
    meet.fill_for(minutes=12)
    assert meet.pool.free() == 105
    made_ahead = set(meet.server.created)
    clock = RoundClock(meet.app, meet.rooms, clock=meet.clock, pool=meet.pool)
    calls = len(meet.server.calls)
    confirm_and_fix(meet, wire_id, clock)
    event = meet.app.get_event(wire_id)
    assert event.state is EventState.READY and event.rooms_needed() == {}
    assert len(meet.server.calls) == calls  # not one Meet call on the way
    given = [room["space"] for rooms in event.room_pool.values() for room in rooms]
    assert len(given) == len(set(given)) == 100 and set(given) <= made_ahead
    assert all(room["account"] == "host1" for rooms in event.room_pool.values() for room in rooms)
    assert meet.pool.free() == 5
    assert "RoomsReserved" in [type(e).__name__ for e in meet.app.history(wire_id)]


def test_a_shortfall_is_made_on_the_spot_earliest_round_first(meet):
    wire_id = event_of(meet.app, 20)
    meet.fill_for(minutes=3)  # 30 rooms in the pool: rounds 1 to 3
    assert meet.pool.free() == 30
    clock = RoundClock(meet.app, meet.rooms, clock=meet.clock, pool=meet.pool)
    confirm_and_fix(meet, wire_id, clock)  # takes the 30, then makes what its budget allows
    event = meet.app.get_event(wire_id)
    recorded = {int(n): len(rooms) for n, rooms in event.room_pool.items()}
    made_now = len(meet.server.created) - 30
    assert made_now >= 1 and sum(recorded.values()) == 30 + made_now
    full = 3 + made_now // 10
    assert all(recorded.get(n) == 10 for n in range(1, full + 1))  # the earliest rounds first
    assert set(event.rooms_needed()) == set(range(full + 1, 11))
    assert meet.server.rejected_by_quota["create"] == 0


class HeldJobs:
    """The clock's worker lanes, holding the jobs to be run by hand."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def put(self, job: Job) -> None:
        self.jobs.append(job)


def test_the_pool_waits_for_rooms_a_plan_takes_but_never_for_ending_calls(meet):
    wire_id = event_of(meet.app, 2)  # one round of one date
    meet.fill_for(minutes=1)
    assert meet.pool.free() == 6  # the date and the margin
    event_of(meet.app, 20, start=START + timedelta(hours=12))  # 100 dates more to fill for
    clock = RoundClock(meet.app, meet.rooms, clock=meet.clock, pool=meet.pool)
    held = clock.lanes = HeldJobs()
    meet.filler.busy = lambda: clock.room_work_waiting  # as serve wires it
    confirm_and_fix(meet, wire_id, clock)
    assert held.jobs == [Job(Work.TAKE, wire_id)]
    made = len(meet.server.created)
    meet.fill_for(minutes=1)
    assert meet.filler.figures.target == 106 and len(meet.server.created) == made  # a plan takes its rooms: it waits
    clock.run_job(held.jobs.pop())
    assert meet.app.get_event(wire_id).rooms_needed() == {}

    meet.clock.now = Timings().round_ends_at(START, 1)
    clock.fire_due()  # the round starts and ends: its calls wait to be ended
    assert held.jobs == [Job(Work.CLOSE, wire_id, 1)]
    meet.fill_for(minutes=1)
    assert len(meet.server.created) == made + 10  # other quotas: the pool goes on filling


def test_rooms_made_on_the_spot_are_kept_as_the_events_before_it_records_them(meet):
    wire_id = event_of(meet.app, 4)
    made = meet.rooms.reserve(3)
    meet.pool.add(made, meet.clock(), taken_for=wire_id)  # then the process dies before recording them
    assert meet.pool.free() == 0
    assert meet.pool.take(wire_id + 1, 3, meet.clock()) == []  # nobody else gets them
    assert set(meet.pool.take(wire_id, 3, meet.clock())) == set(made)  # its own again


def test_two_instances_never_hand_out_the_same_room(postgres_settings, tmp_path):
    clock = FakeClock()
    with FakeMeetServer(clock=clock) as server:
        first = Meet(postgres_settings, clock, server, ["host1"], tmp_path)
        second = Meet(postgres_settings, clock, server, ["host1"], tmp_path)
        rooms = [Room(f"spaces/r{n}", f"https://meet.google.com/r{n}", "host1") for n in range(300)]
        first.pool.add(rooms, clock())
        taken: dict[int, list[Room]] = {}
        go = threading.Barrier(6)

        def take(instance: Meet, event_id: int) -> None:
            go.wait()
            got = []
            for _ in range(10):
                got += instance.pool.take(event_id, 5, clock())
                instance.pool.settle(event_id, [r.space for r in got])
            taken[event_id] = got

        threads = [threading.Thread(target=take, args=(m, 100 + n)) for n, m in enumerate([first, second] * 3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        spaces = [r.space for got in taken.values() for r in got]
        assert len(spaces) == len(set(spaces)) == 300  # every room once, none twice
        assert first.pool.free() == second.pool.free() == 0
        first.app.close()
        second.app.close()


def test_an_account_whose_token_fails_is_set_aside_and_the_others_carry_on(store_settings, tmp_path):
    clock = FakeClock()
    with FakeMeetServer(clock=clock, quotas=True) as server:
        meet = Meet(store_settings, clock, server, ["host1", "host2"], tmp_path)
        server.revoke("host1")
        with capture_logs() as logs:
            made = meet.rooms.reserve(4)  # as many as 10 s of host2's pace allows
        assert len(made) == 2 and {room.account for room in made} == {"host2"}
        assert meet.rooms.accounts_usable() == 1
        assert {server.creator[room.space] for room in made} == {"host2"}
        usable, reason, _ = meet.pool.accounts()["host1"]
        assert (usable, reason) == (False, "token refresh refused")
        assert meet.pool.accounts()["host2"][0] is True
        (line,) = [entry for entry in logs if "set aside" in entry["event"]]
        assert (line["account"], line["reason"], line["log_level"]) == ("host1", "token refresh refused", "error")
        token = json.loads((tmp_path / "host1.json").read_text())
        assert token["refresh_token"] not in json.dumps(logs, default=str)  # never the token
        meet.app.close()


def test_each_rooms_call_is_ended_and_read_by_the_account_that_made_it(store_settings, tmp_path):
    clock = FakeClock()
    with FakeMeetServer(clock=clock) as server:
        meet = Meet(store_settings, clock, server, ["host1", "host2"], tmp_path)
        made = meet.rooms.reserve(4)
        assert {room.account for room in made} == {"host1", "host2"}  # the soonest make, in turn
        for room in made:
            server.join(room.space, "Anna", clock())
            meet.rooms.end_call(room)  # another account's end would be refused (403)
            assert [a.display_name for a in meet.rooms.attendance(room)] == ["Anna"]
        assert sorted(server.ended) == sorted(room.space for room in made)
        meet.app.close()
