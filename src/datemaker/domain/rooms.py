"""Video rooms for the dates, in the domain's terms: a room (the provider's
name and the link people open) and who the provider saw in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Room:
    space: str  # the provider's name for the room, used to end its call
    uri: str  # the link participants open
    # The host account that made it, whose rights end its call and read its
    # attendance; "" for rooms of a provider with one account (and records
    # made before there were several).
    account: str = ""

    def to_record(self) -> dict[str, str]:
        record = {"space": self.space, "uri": self.uri}
        if self.account:
            record["account"] = self.account
        return record


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
