"""The rooms port: video rooms for the dates, in the domain's terms. The
Google Meet adapter (`adapters/meet_google.py`) implements it for real;
`FakeRooms` hands out fresh links in-process for the demo and the tests."""

from __future__ import annotations

import itertools
import random
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Room:
    space: str  # the provider's name for the room, used to end its call
    uri: str  # the link participants open

    def to_record(self) -> dict[str, str]:
        return {"space": self.space, "uri": self.uri}


@dataclass(frozen=True)
class Session:
    """One join of one device: from `start` until `end` (None: still in)."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class Attendee:
    """Someone the provider saw in a room's calls, with every session."""

    kind: str  # "signed_in", "anonymous" or "phone"
    display_name: str
    account: str | None = None  # the provider's account id of a signed-in user
    sessions: tuple[Session, ...] = ()


class RoomsPort(Protocol):
    # True when reserve() answers at once (no network, no quota): the clock then
    # makes rooms inside the step that needs them, in the same transaction.
    instant: bool
    # True when attendance() reports who joined; otherwise calls are only ended.
    reads_attendance: bool

    def reserve(self, count: int) -> list[Room]:
        """Up to `count` fresh rooms nobody has been given before, each open
        to anyone with the link. Fewer (even none) when the provider or the
        quota allows no more for now: the caller records what it got and asks
        again later."""

    def end_call(self, room: Room) -> None:
        """End the room's call; a room with no call running counts as done."""

    def attendance(self, room: Room) -> list[Attendee]:
        """Everyone who joined any call held in the room so far."""


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

