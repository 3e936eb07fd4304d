"""What the use cases need from the outside, as Protocols and value types.

The adapters implement these: the event store's recorders (PostgreSQL,
SQLite) add the operations of `StoreRecorder` to the eventsourcing
library's own; the Meet adapter and the in-process fake are `RoomsPort`s;
an advisory lock or a sole process is `Leadership`. No use case imports a
driver: adapters turn their drivers' connection failures into
`StoreUnavailable`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable
from uuid import UUID

from datemaker.domain.rooms import Attendee, Room


class StoreUnavailable(Exception):
    """The event store did not answer (connection lost, server restarting,
    or it kept failing); nothing of the unit of work was saved."""


# --- the event store's extra operations ---------------------------------------


class Handled(NamedTuple):
    """A bot command's reply, stored with the command's events."""

    dedupe_key: str
    reply: str  # the exact body sent
    outcome: str


class Summary(NamedTuple):
    wire_id: int
    state: int
    active_dates: int  # dates of the round under way (calls running now)
    over_at: datetime | None = None  # set by the first save that finds it over


class Deadline(NamedTuple):
    wire_id: int
    due_at: datetime | None  # None: nothing pending any more
    action: str


class PlatformWrite(NamedTuple):
    """What the platform wrote into its own tables, taken from datemaker's
    inbox: the bot's "I am ready" (`ready`) and reactions (`like`, `dislike`,
    `report`), or an event an operator inserted by hand (`adopt`)."""

    id: int
    kind: str
    event_id: int
    user_id: int | None
    partner_id: int | None
    start: datetime | None  # adopt
    users_limit: int | None  # adopt
    written_at: datetime


class DatesHeld(NamedTuple):
    """Everyone one person had a date with (was given a room with) at an
    event that is over, and when that event started."""

    event_id: int
    user_id: int
    partners: tuple[int, ...]  # ascending
    started_at: datetime


class ReactionGiven(NamedTuple):
    """One person's latest reaction to a partner at an event."""

    event_id: int
    user_id: int
    partner_id: int
    reaction: str  # like, dislike, report
    at: datetime


class PairFact(NamedTuple):
    """What stands between two people from an earlier event: `report` or
    `dislike` (user_id about partner_id), or `met` (a date at `event_id`, one
    of user_id's last few events with a date)."""

    kind: str
    event_id: int
    user_id: int
    partner_id: int


class BlockRow(NamedTuple):
    """A user's row of the blocks table, saved with their standing: present
    while a block is not lifted; `until` None: until lifted."""

    user_id: int
    blocked: bool
    until: datetime | None
    reason: str


class Registering(NamedTuple):
    """Users a save registers somewhere, checked against the blocks table in
    the save's own transaction, once it holds the event store's write lock."""

    at: datetime
    user_ids: tuple[int, ...]


class BlockedRegistrants(Exception):
    """A save would register users blocked at its time; nothing was saved."""

    def __init__(self, user_ids: frozenset[int]) -> None:
        super().__init__(f"blocked: {sorted(user_ids)}")
        self.user_ids = user_ids


class StoreRecorder(Protocol):
    """Beyond the library's recorder: what the use cases ask of the store.

    Saves take `handled=`, `deadlines=`, `summaries=`, `blocks=`,
    `platform_done=` (inbox rows taken, each with its refusal or None),
    `dates_held=` and `reactions=` keyword lists, written in the same
    transaction as the events, and `registering=` (raises BlockedRegistrants,
    saving nothing)."""

    def pair_history(self, user_ids: Sequence[int], remeet_events: int) -> list[PairFact]:
        """Among `user_ids` (both people in it): every report and dislike, and
        the dates held at each one's last `remeet_events` events with a date
        (none for 0), the latest start first."""

    def record_pair_history(self, dates: Sequence[DatesHeld], reactions: Sequence[ReactionGiven]) -> None:
        """Write what `dates_held=` and `reactions=` write, outside a save
        (filling the pair history from a log recorded before it existed)."""

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Deadline]:
        """Lease up to `limit` due deadlines that no live lease holds."""

    def next_due_at(self) -> datetime | None: ...

    def select_events_after(self, known: Sequence[tuple[UUID, int]]) -> list[Any]:
        """Stored events after the given versions of several aggregates, in
        one query, by aggregate then version."""

    def outbox_position(self, name: str) -> int: ...

    def set_outbox_position(self, name: str, position: int) -> None: ...

    def handled_replies(self, keys: Sequence[str]) -> dict[str, Handled]: ...

    def forget_handled_before(self, seconds: int) -> int: ...

    def overview(self) -> dict[str, Any]:
        """Counts by state, running dates, head and positions of the log."""

    def platform_users(self, user_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        """(id, sex, birthday, city, rating, manual_score) of known users."""

    def platform_names(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        """Each known user's platform name and username (those set)."""

    def seed_platform_users(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """(id, username, sex, birthday, city, rating, manual_score) rows, for the demo."""

    def max_notification_id(self) -> int | None: ...

    def claim_platform_writes(self, now: datetime, lease_until: datetime, limit: int) -> list[PlatformWrite]:
        """Lease up to `limit` inbox rows no live lease holds, oldest first
        (none where the store has no platform tables)."""

    def platform_registrations(self, event_id: int) -> list[tuple[int, datetime]]:
        """(user id, registered at) of the platform's rows for an event."""

    def next_event_id(self) -> int | None:
        """A fresh event id from the platform's sequence; None: the catalog's."""

    def projected_position(self) -> int | None:
        """How far the platform tables follow the log; None: no such tables."""


# Display names to match against Meet's attendees, by platform user id.
Names = Callable[[Sequence[int]], dict[int, list[str]]]


# --- rooms --------------------------------------------------------------------


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


@runtime_checkable
class SpareRooms(Protocol):
    """A rooms port that can also make rooms ahead, for no event yet, at the
    lowest priority: only with quota nobody else is waiting for."""

    def make_spare(self) -> Room | None:
        """One room if a make is free right now on some account, else None."""

    def next_spare_in(self) -> float:
        """Seconds until make_spare() may find a free make again."""

    def accounts_usable(self) -> int:
        """Host accounts whose token works now."""

    def rate_per_hour(self) -> float:
        """Rooms the usable accounts make in an hour, sustained."""


class RoomPool(Protocol):
    """Rooms made ahead, kept in the store: each is handed out once, for one
    event, and a restart loses none. A room is first taken for an event,
    then settled once the event records it; rooms taken and not settled (a
    crash between the two) are that event's, and are handed to it again."""

    def add(self, rooms: Sequence[Room], made_at: datetime, taken_for: int | None = None) -> None:
        """Keep freshly made rooms; `taken_for`: made on the spot for that event."""

    def take(self, event_id: int, count: int, at: datetime) -> list[Room]:
        """Up to `count` rooms for the event: those taken for it and not yet
        settled first, then the oldest free ones."""

    def settle(self, event_id: int, spaces: Sequence[str]) -> None:
        """The event recorded these rooms: they are its for good."""

    def free(self) -> int:
        """Rooms made and not taken by any event."""

    def set_account(self, name: str, usable: bool, reason: str, at: datetime) -> None:
        """Remember whether a host account's token works (for `meet capacity`)."""

    def accounts(self) -> dict[str, tuple[bool, str, datetime]]:
        """Each host account's last known state: (usable, reason, since)."""


# --- leadership ---------------------------------------------------------------


class Leadership(Protocol):
    """One instance at a time does the work (the outbox relay, the analytics
    follower); the others stand by."""

    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class SoleLeader:
    """For a store only one process uses (embedded SQLite)."""

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        pass
