"""The rooms port: video rooms for the dates, in the domain's terms. The
Google Meet adapter implements it for real; `FakeRooms` hands out fresh links
in-process for the demo and the tests."""

from __future__ import annotations

import itertools
import random
import string
import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Room:
    space: str  # the provider's name for the room, used to end its call
    uri: str  # the link participants open

    def to_record(self) -> dict[str, str]:
        return {"space": self.space, "uri": self.uri}


class RoomsPort(Protocol):
    def reserve(self, count: int) -> list[Room]:
        """`count` fresh rooms nobody has been given before."""

    def end_call(self, room: Room) -> None:
        """End the room's call; a room with no call running counts as done."""


class FakeRooms:
    """Fresh meet.google.com-shaped links, never handed out twice."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self.ended: list[Room] = []

    def reserve(self, count: int) -> list[Room]:
        with self._lock:
            return [self._fresh() for _ in range(count)]

    def _fresh(self) -> Room:
        n = next(self._numbers)
        letters = "".join(self._rng.choices(string.ascii_lowercase, k=10))
        code = f"{letters[:3]}-{letters[3:7]}-{letters[7:]}"
        return Room(space=f"spaces/fake{n}", uri=f"https://meet.google.com/{code}")

    def end_call(self, room: Room) -> None:
        with self._lock:
            self.ended.append(room)
