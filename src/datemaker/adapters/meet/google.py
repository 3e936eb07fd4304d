"""The rooms port on Google Meet (google-apps-meet's synchronous REST
clients; its async REST transport does not work), over one or more host
accounts. Every call goes through the account's `MeetCaller`: paced,
retried, observed. A room is made by whichever account can make it
soonest, and its call is ended and its attendance read by the account that
made it. Run it from worker threads: the round clock and the pool do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from google.api_core import exceptions as gx
from google.apps import meet_v2

from datemaker.adapters.meet.accounts import HostAccount, HostAccounts
from datemaker.adapters.meet.calls import MeetObserver, QuotaBudgetSpent
from datemaker.logs import get_logger
from datemaker.domain.rooms import Attendee, Room, Session

log = get_logger(__name__)

OPEN = meet_v2.SpaceConfig.AccessType.OPEN
UNREPORTED = meet_v2.SpaceConfig.AccessType.ACCESS_TYPE_UNSPECIFIED
KINDS = {"signedin_user": "signed_in", "anonymous_user": "anonymous", "phone_user": "phone"}
CALL_TIMEOUT = 30.0  # seconds for one HTTP request
SLOT_WAIT = 120.0  # longest wait for an end or read slot before giving up


def no_active_conference(exc: BaseException) -> str | None:
    """Ending a room nobody is in is done, not failed. Over REST it arrives as
    a plain BadRequest whose body says FAILED_PRECONDITION; a vanished space
    has no call either."""
    if isinstance(exc, gx.NotFound):
        return "not_found"
    if isinstance(exc, gx.BadRequest):
        response = getattr(exc, "response", None)
        try:
            status = response.json()["error"]["status"] if response is not None else ""
        except (ValueError, KeyError, TypeError):
            status = ""
        if status == "FAILED_PRECONDITION" or "active conference" in str(exc.message).lower():
            return "no_active_conference"
    return None


class GoogleRooms:
    instant = False  # network calls under a quota of 10 creates a minute per account
    reads_attendance = True

    def __init__(
        self,
        accounts: HostAccounts,
        *,
        clock: Callable[[], datetime],
        reserve_budget: float = 10.0,
        create_per_minute: float = 10.0,
        project_create_per_minute: float = 100.0,
    ) -> None:
        self.accounts = accounts
        self.clock = clock
        # One reserve() spends at most this long waiting for create slots, so
        # it ends well inside the clock's lease and saves what it made.
        self.reserve_budget = reserve_budget
        self.create_per_minute = create_per_minute
        self.project_create_per_minute = project_create_per_minute

    # --- rooms ----------------------------------------------------------------

    def reserve(self, count: int) -> list[Room]:
        """Rooms now, for a plan short of them: from the account whose next
        make comes soonest, waiting for it within the budget."""
        started = self.clock()
        made: list[Room] = []
        while len(made) < count:
            usable = self.accounts.usable()
            if not usable:
                break
            account = min(usable, key=lambda a: a.caller.paces["create"].next_in())
            left = self.reserve_budget - (self.clock() - started).total_seconds()
            try:
                room = self._create(account, max(left, 0.0))
            except QuotaBudgetSpent:
                break  # the pace allows no more now: the rest on the next call
            except Exception as exc:  # keep what was made; the clock asks again
                if self.accounts.check(account, exc, creating=True):
                    continue
                log.warning("could not make a Meet room", error=type(exc).__name__, made=len(made), wanted=count)
                break
            if room is None:
                break
            made.append(room)
        self._observer().rooms_reserved(len(made))
        return made

    def make_spare(self) -> Room | None:
        """A room ahead, only with a make free right now: anything waiting
        for quota has claimed the next slots already, so it goes first."""
        for account in sorted(self.accounts.usable(), key=lambda a: a.caller.paces["create"].next_in()):
            try:
                room = self._create(account, 0.0)
            except QuotaBudgetSpent:
                continue
            except Exception as exc:
                if not self.accounts.check(account, exc, creating=True):
                    log.warning("could not make a Meet room ahead", account=account.name, error=type(exc).__name__)
                continue
            if room is not None:
                self._observer().rooms_reserved(1)
                return room
        return None

    def next_spare_in(self) -> float:
        usable = self.accounts.usable()
        if not usable:
            return self.accounts.retry_after.total_seconds()
        return min(a.caller.paces["create"].next_in() for a in usable)

    def accounts_usable(self) -> int:
        return self.accounts.count_usable()

    def rate_per_hour(self) -> float:
        per_minute = min(self.accounts_usable() * self.create_per_minute, self.project_create_per_minute)
        return per_minute * 60.0

    def _observer(self) -> MeetObserver:
        return self.accounts.all[0].caller.observer

    def _create(self, account: HostAccount, max_wait: float) -> Room | None:
        request = meet_v2.CreateSpaceRequest(space=meet_v2.Space(config=meet_v2.SpaceConfig(access_type=OPEN)))
        space = account.caller.call(
            "spaces.create",
            "create",
            lambda: account.spaces.create_space(request=request, retry=None, timeout=CALL_TIMEOUT),
            max_wait=max_wait,
        )
        assert space is not None
        access = space.config.access_type
        if access not in (OPEN, UNREPORTED):
            # Nobody is there to admit a knocking user: such a room is useless.
            log.error("Meet made a room that is not open; check the account's policy", account=account.name,
                      access_type=int(access))
            return None
        return Room(space=space.name, uri=space.meeting_uri, account=account.name)

    def end_call(self, room: Room) -> None:
        account = self.accounts.of_room(room.account)
        try:
            account.caller.call(
                "spaces.endActiveConference",
                "write",
                lambda: account.spaces.end_active_conference(name=room.space, retry=None, timeout=CALL_TIMEOUT),
                max_wait=SLOT_WAIT,
                accept=no_active_conference,
            )
        except Exception as exc:
            self.accounts.check(account, exc, creating=False)
            raise

    # --- attendance ---------------------------------------------------------

    def attendance(self, room: Room) -> list[Attendee]:
        """Everyone in any conference held in the room, sessions merged per
        person (the same person rejoining later is one attendee); read with
        the account that made the room."""
        account = self.accounts.of_room(room.account)
        try:
            return self._attendance(account, room)
        except Exception as exc:
            self.accounts.check(account, exc, creating=False)
            raise

    def _attendance(self, account: HostAccount, room: Room) -> list[Attendee]:
        records = account.records
        people: dict[tuple[str, str | None, str], Attendee] = {}
        conferences = self._pages(
            account,
            "conferenceRecords.list",
            "conference_records",
            lambda token: records.list_conference_records(
                request=meet_v2.ListConferenceRecordsRequest(filter=f'space.name = "{room.space}"', page_token=token),
                retry=None,
                timeout=CALL_TIMEOUT,
            ),
        )
        for conference in conferences:
            participants = self._pages(
                account,
                "participants.list",
                "participants",
                lambda token, c=conference: records.list_participants(
                    request=meet_v2.ListParticipantsRequest(parent=c.name, page_token=token), retry=None, timeout=CALL_TIMEOUT
                ),
            )
            for participant in participants:
                sessions = self._pages(
                    account,
                    "participantSessions.list",
                    "participant_sessions",
                    lambda token, p=participant: records.list_participant_sessions(
                        request=meet_v2.ListParticipantSessionsRequest(parent=p.name, page_token=token),
                        retry=None,
                        timeout=CALL_TIMEOUT,
                    ),
                )
                found = _attendee(participant, sessions)
                key = (found.kind, found.account, "" if found.account else found.display_name)
                earlier = people.get(key)
                people[key] = found if earlier is None else Attendee(
                    found.kind, found.display_name, found.account, earlier.sessions + found.sessions
                )
        return list(people.values())

    def _pages(self, account: HostAccount, method: str, field: str, fetch: Callable[[str], Any]) -> list[Any]:
        """Every item of a listing, one paced read per page."""
        items: list[Any] = []
        token = ""
        while True:
            page = account.caller.call(method, "read", lambda: fetch(token), max_wait=SLOT_WAIT)
            items += list(getattr(page, field))  # the pager's first page only
            token = page.next_page_token
            if not token:
                return items


def _attendee(participant: meet_v2.Participant, sessions: list[meet_v2.ParticipantSession]) -> Attendee:
    which = meet_v2.Participant.pb(participant).WhichOneof("user") or "anonymous_user"
    user = getattr(participant, which)
    return Attendee(
        kind=KINDS.get(which, "anonymous"),
        display_name=user.display_name,
        account=getattr(user, "user", None) or None,
        sessions=tuple(sorted(
            (Session(_utc(s.start_time), _utc(s.end_time)) for s in sessions if s.start_time),  # type: ignore[arg-type]
            key=lambda s: s.start,
        )),
    )


def _utc(instant: datetime | None) -> datetime | None:
    """proto-plus times (DatetimeWithNanoseconds) as plain UTC datetimes."""
    if instant is None:
        return None
    return datetime.fromtimestamp(instant.timestamp(), tz=UTC)
