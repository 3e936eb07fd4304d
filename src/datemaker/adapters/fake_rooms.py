"""Rooms in-process, for the demo and the tests: fresh meet.google.com-shaped
links, never handed out twice; people can be scripted into the rooms (`join`,
`leave`) when attendance is wanted."""

from __future__ import annotations

import itertools
import random
import string
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from datemaker.domain.rooms import Attendee, Room, Session


class FakeRooms:
    """Fresh meet.google.com-shaped links, never handed out twice; people can
    be scripted into the rooms (`join`, `leave`) when attendance is wanted."""

    instant = True

    def __init__(
        self, seed: int | None = None, *, attendance: bool = False, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._rng = random.Random(seed)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self.reads_attendance = attendance
        self.clock = clock
        self.made: list[Room] = []
        self.ended: list[Room] = []
        self.access: dict[str, str] = {}  # space -> access type
        self._people: dict[str, list[Attendee]] = {}  # space -> attendees

    def reserve(self, count: int) -> list[Room]:
        with self._lock:
            rooms = [self._fresh() for _ in range(count)]
            self.made += rooms
            return rooms

    def _fresh(self) -> Room:
        n = next(self._numbers)
        letters = "".join(self._rng.choices(string.ascii_lowercase, k=10))
        code = f"{letters[:3]}-{letters[3:7]}-{letters[7:]}"
        room = Room(space=f"spaces/fake{n}", uri=f"https://meet.google.com/{code}")
        self.access[room.space] = "OPEN"
        return room

    def end_call(self, room: Room) -> None:
        with self._lock:
            self.ended.append(room)
            if self.clock is not None:
                now = self.clock()
                self._people[room.space] = [
                    replace(a, sessions=tuple(s if s.end else Session(s.start, now) for s in a.sessions))
                    for a in self._people.get(room.space, [])
                ]

    def attendance(self, room: Room) -> list[Attendee]:
        with self._lock:
            return list(self._people.get(room.space, []))

    # --- scripting (tests, demo) --------------------------------------------

    def join(self, room: Room, display_name: str, at: datetime, *, account: str | None = None) -> None:
        kind = "signed_in" if account else "anonymous"
        with self._lock:
            people = self._people.setdefault(room.space, [])
            for i, a in enumerate(people):
                if (a.kind, a.account, a.display_name) == (kind, account, display_name):
                    people[i] = replace(a, sessions=(*a.sessions, Session(at)))
                    return
            people.append(Attendee(kind, display_name, account, (Session(at),)))

    def leave(self, room: Room, display_name: str, at: datetime) -> None:
        with self._lock:
            people = self._people.get(room.space, [])
            for i, a in enumerate(people):
                if a.display_name == display_name:
                    people[i] = replace(a, sessions=tuple(s if s.end else Session(s.start, at) for s in a.sessions))
