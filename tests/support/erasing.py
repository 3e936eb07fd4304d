"""Helpers for the erasing tests (no tests here): a whole event run by the
service's own round clock on a fake clock, with one person's Meet account
and display names in its attendance; what an event looks like with one
person's personal fields taken out; and every byte datemaker wrote."""

from __future__ import annotations

import copy
import sqlite3
from datetime import date, datetime, timedelta
from typing import Any

from datemaker.adapters.postgres.schema import connect
from datemaker.domain.profile import Profile
from datemaker.domain.timings import Timings
from datemaker.projections.tables import READ_MODELS, qualified

from .world import World, profile

PERSON = 1  # the one who is erased
BIRTHDAY = date(1991, 7, 23)
CITY = "Zlatoustovsk"
ACCOUNT = "zhmurkin.yaroslav@example.org"
NAME = "Yaroslav Zhmurkin"  # their Meet display name, seen in someone else's room
ROOM_NAME = "Zhmurkin phone"  # seen in a room and identified as nobody
OTHER_NAME = "Boris Secondov"  # user 2's display name: stays readable
MEN, WOMEN = [1, 2, 3], [11, 12, 13]
SECOND = [1, 2, 5, 14, 15, 16]  # new partners: the ones of the first met lately (never again)

# Every rendering of what must never be readable once they are erased.
SECRETS = [
    BIRTHDAY.isoformat(), BIRTHDAY.strftime("%d.%m.%Y"), BIRTHDAY.strftime("%m/%d/%Y"), BIRTHDAY.strftime("%Y%m%d"),
    BIRTHDAY.strftime("%d/%m/%Y"), CITY, CITY.casefold(), ACCOUNT, NAME, "Zhmurkin",
]


def profile_of(uid: int) -> Profile:
    if uid == PERSON:
        return Profile(sex="M", birthday=BIRTHDAY, city=CITY, rating=4.5)
    return profile(uid)


def run_event(world: World, start: datetime, people: list[int] | None = None) -> int:
    """An event run to its end: everyone confirms, round 1's first pair match,
    attendance of round 1 recorded with PERSON's account and names."""
    app, timings = world.app, Timings()
    people = people or [*MEN, *WOMEN]
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", users_limit=10, ready_check=False)
    for uid in people:
        app.register(wire_id, uid, profile_of(uid))
    world.run_until(timings.confirmation_opens_at(start))
    for uid in people:
        app.confirm_registration(wire_id, uid)
    world.run_until(timings.round_starts_at(start, 1) + timedelta(seconds=30))
    first = sorted(app.get_event(wire_id).planned.pairs_in_round(1), key=lambda p: p.a)[0]
    now = world.clock.now
    app.change(wire_id, lambda e: e.rate(first.a, first.b, "like", now))
    app.change(wire_id, lambda e: e.rate(first.b, first.a, "like", now))
    world.run_until(timings.round_ends_at(start, 1) + timedelta(seconds=5))
    record_attendance(world, wire_id)
    world.run_until(start + timedelta(days=1))
    world.deliver()
    return wire_id


def record_attendance(world: World, wire_id: int) -> None:
    event = world.app.get_event(wire_id)
    start = world.clock.now - timedelta(minutes=5)
    seen = {"joined_at": start.isoformat(), "left_at": world.clock.now.isoformat(), "seconds": 30, "sessions": 1}
    dates = []
    for key in sorted(event.rooms["1"]):
        a, b = (int(uid) for uid in key.split("-"))
        people = [{"user_id": uid, "status": "present", "seconds": 300, "sessions": 1, "matched_by": "name",
                   "accounts": [ACCOUNT] if uid == PERSON else []} for uid in (a, b)]
        others = []
        if PERSON not in (a, b):  # they walked into someone else's date, and so did a phone
            others = [{"user_id": PERSON, "kind": "signed_in", "display_name": NAME, **seen},
                      {"user_id": None, "kind": "phone", "display_name": ROOM_NAME, **seen}]
            if 2 not in (a, b):
                others.append({"user_id": 2, "kind": "anonymous", "display_name": OTHER_NAME, **seen})
        dates.append({"pair": [a, b], "space": f"spaces/{key}", "people": people, "others": others})
    now = world.clock.now
    world.app.change(wire_id, lambda e: e.record_attendance(1, dates, now))


def figures(app: Any, wire_id: int) -> dict[str, Any]:
    """What an erase must leave as it was."""
    event = app.get_event(wire_id)
    plan = event.planned
    rounds = plan.rounds_count
    return {
        "state": event.state.name, "version": event.version, "registrations": sorted(event.registrations),
        "groups": len(plan.groups), "rounds": rounds,
        "pairs": sorted((r, p.a, p.b) for r in range(1, rounds + 1) for p in plan.pairs_in_round(r)),
        "sit_outs": sorted((r, s.user_id) for r in range(1, rounds + 1) for s in plan.sit_outs(r)),
        "matches": sorted(map(tuple, event.matches)), "ratings": event.ratings, "rooms": event.rooms,
    }


def history(app: Any, wire_id: int) -> list[dict[str, Any]]:
    return [{"type": type(e).__name__, **copy.deepcopy(vars(e))} for e in app.history(wire_id)]


def without(history_: list[dict[str, Any]], uid: int = PERSON) -> list[dict[str, Any]]:
    """The history with the person's personal fields (and the names nobody
    was identified by) taken out, and the marks that they were erased."""
    out = copy.deepcopy(history_)
    for entry in out:
        if entry.get("user_id") == uid:
            entry.pop("note", None)
            if isinstance(entry.get("profile"), dict):
                for name in ("sex", "birthday", "city", "erased"):
                    entry["profile"].pop(name, None)
        for date_ in entry.get("dates", []):
            for person in date_["people"]:
                if person["user_id"] == uid:
                    person.pop("accounts", None)
                    person.pop("erased", None)
            for other in date_["others"]:
                if other.get("user_id") in (uid, None):
                    other.pop("display_name", None)
                    other.pop("erased", None)
    return out


def everything_written(settings: Any) -> bytes:
    """Every table of datemaker's schema and the analytics tables, as text and
    bytes (the embedded store: every table of its file)."""
    chunks: list[bytes] = []

    def add(rows: Any) -> None:
        for row in rows:
            for value in row:
                chunks.append(bytes(value) if isinstance(value, (bytes, memoryview)) else repr(value).encode())
                chunks.append(str(value).encode())

    if settings.uses_postgres:
        with connect(settings) as conn:
            tables = [f"datemaker.{r[0]}" for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'datemaker'"
                " AND table_type = 'BASE TABLE'").fetchall()]
            assert "datemaker.datingevents_snapshots" in tables and "datemaker.handled_commands" in tables
            for table in [*tables, *(qualified(t) for t in READ_MODELS if t[0] == "public")]:
                add(conn.execute(f"SELECT * FROM {table}").fetchall())
    else:
        with sqlite3.connect(settings.sqlite_path) as conn:
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                add(conn.execute(f"SELECT * FROM \"{table}\"").fetchall())
    return b"\n".join(chunks)


def revealed(blob: bytes) -> list[str]:
    """The secrets found in `blob` (as UTF-8, and case-blind)."""
    lower = blob.lower()
    return [s for s in SECRETS if s.encode() in blob or s.lower().encode() in lower]
