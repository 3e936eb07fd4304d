"""Helpers for the projection tests (no tests here): a few realistic
histories, made by the service's own round clock on a fake clock (the
`World` of tests/support/world.py) with a follower projecting as it goes,
and a way to read every read model."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from datemaker.adapters.postgres.schema import connect
from datemaker.domain.timings import Timings
from datemaker.projections.follower import ProjectionFollower
from datemaker.projections.tables import READ_MODELS, qualified

from .clock import T0
from .world import World, profile

MEN, WOMEN = [1, 2, 3], [11, 12, 13]
NEVER_CONFIRMS, WITHDRAWS, NO_SHOW = 4, 14, 13


class FollowedWorld(World):
    """The World, with a follower that projects after every delivery."""

    def __init__(self, app: Any, clock: Any, follower: ProjectionFollower | None) -> None:
        super().__init__(app, clock)
        self.follower = follower

    def deliver(self) -> None:
        super().deliver()
        if self.follower is not None:
            self.follower.step()  # one batch at a time: boundaries fall anywhere


def run_three_events(world: World) -> dict[str, int]:
    """One event runs to matches (with a withdrawal, a no-show, attendance,
    changed minds and a report), one is skipped, one is cancelled."""
    app, timings = world.app, Timings()
    start = T0 + timedelta(days=2)
    full = app.schedule_event(start=start, timezone="Europe/Moscow", users_limit=10)
    skipped = app.schedule_event(start=start - timedelta(hours=3), timezone="Europe/Moscow")
    cancelled = app.schedule_event(start=start + timedelta(days=5), timezone="Asia/Tokyo", capacity=5)
    for uid in [*MEN, *WOMEN, NEVER_CONFIRMS, WITHDRAWS]:
        app.register(full, uid, profile(uid))
    app.cancel_registration(full, WITHDRAWS)
    for uid in [1, 2, 11]:
        app.register(skipped, uid, profile(uid))
        app.register(cancelled, uid, profile(uid))
    app.cancel_registration(skipped, 2)
    app.register(skipped, 2, profile(2))  # and back again
    app.cancel_event(cancelled)

    world.run_until(timings.confirmation_opens_at(start))
    for uid in [*MEN, *WOMEN]:
        app.confirm_registration(full, uid)
    app.confirm_registration(skipped, 1)
    world.run_until(timings.rules_at(start))
    for uid in [*MEN, *WOMEN]:
        if uid != NO_SHOW:
            app.change(full, lambda e, uid=uid: e.mark_ready(uid, world.clock.now))

    world.run_until(timings.round_starts_at(start, 1) + timedelta(seconds=30))
    plan = app.get_event(full).planned
    first, second = sorted(plan.pairs_in_round(1), key=lambda p: p.a)[:2]
    now = world.clock.now
    app.change(full, lambda e: e.rate(first.a, first.b, "dislike", now))
    app.change(full, lambda e: e.rate(first.a, first.b, "like", now))  # changed their mind
    app.change(full, lambda e: e.rate(first.b, first.a, "like", now))
    app.change(full, lambda e: e.rate(second.a, second.b, "report", now))
    app.change(full, lambda e: e.rate(second.b, second.a, "dislike", now))

    world.run_until(timings.round_ends_at(start, 1) + timedelta(seconds=1))
    record_attendance(world, full, 1, final=False)
    world.run_until(start + timedelta(days=1))
    record_attendance(world, full, 1, final=True)
    world.deliver()
    return {"full": full, "skipped": skipped, "cancelled": cancelled}


def record_attendance(world: World, wire_id: int, round_no: int, final: bool) -> None:
    """What the Meet adapter would record: everyone present, the first pair's
    `b` late (and, in the final reading, one more minute in the call)."""
    event = world.app.get_event(wire_id)
    dates = []
    for n, key in enumerate(sorted(event.rooms[str(round_no)])):
        a, b = (int(uid) for uid in key.split("-"))
        late = n == 0
        people = [
            {"user_id": a, "status": "present", "seconds": 300, "sessions": 1},
            {"user_id": b, "status": "late" if late else "present",
             "seconds": (200 + (60 if final else 0)) if late else 300, "sessions": 1},
        ]
        dates.append({"pair": [a, b], "space": f"spaces/{key}", "people": people, "others": []})
    now = world.clock.now
    world.app.change(wire_id, lambda e: e.record_attendance(round_no, dates, now, final=final))


def snapshot(settings: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read model (and the matches view), in a fixed order."""
    found = {}
    with connect(settings) as conn:
        for table in [*map(qualified, READ_MODELS), "public.matches"]:
            rows = conn.execute(f"SELECT * FROM {table}").fetchall()
            found[table] = sorted(rows, key=repr)
    return found


def query(settings: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with connect(settings) as conn:
        return conn.execute(sql, params).fetchall()
